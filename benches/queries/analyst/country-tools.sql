-- Countries by Mirai, Masscan and ZMap sources
SELECT country,
       count(DISTINCT src_ip) FILTER (WHERE tool = 'mirai') AS mirai,
       count(DISTINCT src_ip) FILTER (WHERE tool = 'masscan') AS masscan,
       count(DISTINCT src_ip) FILTER (WHERE tool = 'zmap') AS zmap,
       count(DISTINCT src_ip) AS sources
FROM packets
GROUP BY country
ORDER BY mirai DESC, sources DESC, country NULLS LAST
LIMIT 20;
