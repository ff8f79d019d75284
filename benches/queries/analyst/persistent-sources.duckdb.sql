-- Sources seen on at least 3 days, the busiest first
SELECT nj_ip(src_ip) AS source, count(DISTINCT day) AS days, count(*) AS packets
FROM packets
GROUP BY src_ip
HAVING count(DISTINCT day) >= 3
ORDER BY days DESC, packets DESC, src_ip
LIMIT 50;
