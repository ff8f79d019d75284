-- New sources per day: the day each source was first seen
SELECT first_day, count(*) AS new_sources
FROM (SELECT src_ip, min(day) AS first_day FROM packets GROUP BY src_ip) AS firsts
GROUP BY first_day
ORDER BY first_day;
