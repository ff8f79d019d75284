-- What one /16 aims at: ports by distinct dark addresses
SELECT dst_port, count(DISTINCT dst_ip) AS destinations, count(DISTINCT src_ip) AS sources, count(*) AS packets
FROM packets
WHERE src_ip BETWEEN from_hex('${prefix16_low_hex}') AND from_hex('${prefix16_high_hex}')
GROUP BY dst_port
ORDER BY destinations DESC, packets DESC, dst_port NULLS LAST
LIMIT 20;
