-- Autonomous systems by sources, with ports and active days
SELECT as_name, count(DISTINCT src_ip) AS sources, count(DISTINCT dst_port) AS ports, count(DISTINCT day) AS days
FROM packets
WHERE as_name IS NOT NULL
GROUP BY as_name
ORDER BY sources DESC, as_name
LIMIT 20;
