-- Scanning per hour of the week: packets and distinct sources
SELECT date_trunc('hour', time) AS hour, count(*) AS packets, count(DISTINCT src_ip) AS sources
FROM packets
WHERE class = 'scan'
GROUP BY date_trunc('hour', time)
ORDER BY hour;
