-- Analyst query: everything one /16 sent the darknet over the whole period, per day — packets,
-- sources, destination ports, and how much of it was scanning or backscatter. benches/run picks
-- the /16 with the most packets. Twin: prefix16-activity.duckdb.sql.
SELECT
  day,
  count(*) AS packets,
  count(DISTINCT src_ip) AS sources,
  count(DISTINCT dst_port) AS dst_ports,
  sum(CASE WHEN class = 'scan' THEN 1 ELSE 0 END) AS scan_packets,
  sum(CASE WHEN class = 'backscatter' THEN 1 ELSE 0 END) AS backscatter_packets
FROM packets
WHERE day BETWEEN DATE '${from}' AND DATE '${to}' AND inet_in(src_ip, '${prefix16}')
GROUP BY day
ORDER BY day;
