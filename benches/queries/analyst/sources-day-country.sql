-- Distinct sources per day and country
SELECT day, country, count(DISTINCT src_ip) AS sources
FROM packets
GROUP BY day, country
ORDER BY day, country;
