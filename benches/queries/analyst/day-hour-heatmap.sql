-- Packets per day and hour of day
SELECT day, extract(hour FROM time) AS hour, count(*) AS packets
FROM packets
GROUP BY day, extract(hour FROM time)
ORDER BY day, hour;
