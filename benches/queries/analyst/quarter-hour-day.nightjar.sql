-- One day in 15-minute buckets: packets, sources, ports
SELECT date_bin(INTERVAL '15 minutes', time, TIMESTAMP '2026-11-02 00:00:00') AS bucket,
       count(*) AS packets, count(DISTINCT src_ip) AS sources, count(DISTINCT dst_port) AS ports
FROM packets
WHERE day = DATE '${day}'
GROUP BY bucket
ORDER BY bucket;
