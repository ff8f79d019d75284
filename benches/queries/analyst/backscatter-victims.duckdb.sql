-- DDoS victims: backscatter sources by how many dark addresses answered them
SELECT nj_ip(src_ip) AS victim, country, count(DISTINCT dst_ip) AS dark_addresses, count(*) AS packets
FROM packets
WHERE class = 'backscatter'
GROUP BY src_ip, country
ORDER BY dark_addresses DESC, packets DESC, src_ip
LIMIT 25;
