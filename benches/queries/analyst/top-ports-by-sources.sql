-- Top scanned ports by distinct sources
SELECT protocol, dst_port, count(DISTINCT src_ip) AS sources, count(*) AS packets
FROM packets
WHERE class = 'scan' AND dst_port IS NOT NULL
GROUP BY protocol, dst_port
ORDER BY sources DESC, packets DESC, protocol, dst_port
LIMIT 20;
