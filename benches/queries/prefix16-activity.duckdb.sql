-- Analyst query: everything one /16 sent the darknet over the whole period, per day. Twin of
-- prefix16-activity.nightjar.sql; the /16 is a range of the 16-byte (IPv4-mapped) address BLOBs,
-- which DuckDB compares byte by byte.
SELECT
  day,
  count(*) AS packets,
  count(DISTINCT src_ip) AS sources,
  count(DISTINCT dst_port) AS dst_ports,
  sum(CASE WHEN class = 'scan' THEN 1 ELSE 0 END) AS scan_packets,
  sum(CASE WHEN class = 'backscatter' THEN 1 ELSE 0 END) AS backscatter_packets
FROM packets
WHERE day BETWEEN DATE '${from}' AND DATE '${to}'
  AND src_ip BETWEEN from_hex('${prefix16_low_hex}') AND from_hex('${prefix16_high_hex}')
GROUP BY day
ORDER BY day;
