-- Per day: sources, destinations and ports
SELECT day, count(*) AS packets, count(DISTINCT src_ip) AS sources, count(DISTINCT dst_ip) AS destinations,
       count(DISTINCT dst_port) AS ports
FROM packets
GROUP BY day
ORDER BY day;
