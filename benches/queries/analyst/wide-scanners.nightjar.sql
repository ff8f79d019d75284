-- TCP sources hitting the most ports (and dark addresses)
SELECT ip_text(src_ip) AS source, count(DISTINCT dst_port) AS ports, count(DISTINCT dst_ip) AS destinations,
       count(*) AS packets
FROM packets
WHERE protocol = 6
GROUP BY src_ip
ORDER BY ports DESC, destinations DESC, src_ip
LIMIT 20;
