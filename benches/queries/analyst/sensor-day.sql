-- Per sensor and day: packets, sources, destinations
SELECT sensor, day, count(*) AS packets, count(DISTINCT src_ip) AS sources, count(DISTINCT dst_ip) AS destinations
FROM packets
GROUP BY sensor, day
ORDER BY sensor, day;
