-- Mirai per day: sources, destinations, countries
SELECT day, count(DISTINCT src_ip) AS sources, count(DISTINCT dst_ip) AS destinations,
       count(DISTINCT country) AS countries
FROM packets
WHERE tool = 'mirai'
GROUP BY day
ORDER BY day;
