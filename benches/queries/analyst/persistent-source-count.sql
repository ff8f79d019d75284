-- How many sources came back on at least 3 days?
SELECT count(*) AS sources
FROM (SELECT src_ip FROM packets GROUP BY src_ip HAVING count(DISTINCT day) >= 3) AS persistent;
