-- Which networks scan remote-admin ports the most (distinct sources)?
SELECT asn, as_name, count(DISTINCT src_ip) AS sources, count(*) AS packets
FROM packets
WHERE protocol = 6 AND dst_port IN (22, 23, 2323, 3389, 5900, 445)
GROUP BY asn, as_name
ORDER BY sources DESC, packets DESC, asn NULLS LAST
LIMIT 20;
