-- Median TTL per tool fingerprint
SELECT tool, median(ip_ttl) AS median_ttl, count(*) AS packets
FROM packets
GROUP BY tool
ORDER BY tool;
