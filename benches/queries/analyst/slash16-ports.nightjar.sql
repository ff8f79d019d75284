-- What one /16 aims at: ports by distinct dark addresses
SELECT dst_port, count(DISTINCT dst_ip) AS destinations, count(DISTINCT src_ip) AS sources, count(*) AS packets
FROM packets
WHERE inet_in(src_ip, '${prefix16}')
GROUP BY dst_port
ORDER BY destinations DESC, packets DESC, dst_port NULLS LAST
LIMIT 20;
