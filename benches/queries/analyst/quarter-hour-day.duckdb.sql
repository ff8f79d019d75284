-- One day in 15-minute buckets: packets, sources, ports (DuckDB spells date_bin time_bucket)
SELECT time_bucket(INTERVAL '15 minutes', time, TIMESTAMPTZ '2026-11-02 00:00:00+00') AS bucket,
       count(*) AS packets, count(DISTINCT src_ip) AS sources, count(DISTINCT dst_port) AS ports
FROM packets
WHERE day = DATE '${day}'
GROUP BY bucket
ORDER BY bucket;
