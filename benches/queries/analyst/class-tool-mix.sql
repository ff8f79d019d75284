-- Per class and tool: packets, sources, ports, countries
SELECT class, tool, count(*) AS packets, count(DISTINCT src_ip) AS sources, count(DISTINCT dst_port) AS ports,
       count(DISTINCT country) AS countries
FROM packets
GROUP BY class, tool
ORDER BY class, tool;
