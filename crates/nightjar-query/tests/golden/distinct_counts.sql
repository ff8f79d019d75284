-- Distinct counts: several in one SELECT and one alone, with and without GROUP BY, over
-- addresses (IPv4 and IPv6, with nulls), ports, strings and days. tests/distinct_counts.rs checks
-- each answer against DataFusion's own count and plan rules.

-- Without GROUP BY: addresses, nullable addresses, strings with nulls, days.
SELECT count(DISTINCT src_ip) AS sources, count(DISTINCT dst_ip) AS destinations,
       count(DISTINCT inner_dst_ip) AS victims, count(DISTINCT country) AS countries,
       count(DISTINCT day) AS days, count(*) AS packets
FROM packets;
SELECT count(DISTINCT src_ip) AS sources FROM packets;
SELECT count(DISTINCT src_ip) AS v6_sources, count(DISTINCT dst_ip) AS v6_destinations
FROM packets WHERE ip_version = 6;

-- Empty input: zero, not NULL; and no groups.
SELECT count(DISTINCT src_ip) AS sources, count(DISTINCT dst_ip) AS destinations, count(DISTINCT day) AS days
FROM packets WHERE protocol = 255;
SELECT class, count(DISTINCT src_ip) AS sources, count(DISTINCT country) AS countries
FROM packets WHERE protocol = 255 GROUP BY class;

-- Per group, several at once.
SELECT ip_version, count(DISTINCT src_ip) AS sources, count(DISTINCT dst_port) AS ports,
       count(DISTINCT tool) AS tools, count(DISTINCT day) AS days
FROM packets GROUP BY ip_version ORDER BY ip_version;

-- One group per source: many groups.
SELECT src_ip, count(DISTINCT dst_ip) AS destinations, count(DISTINCT day) AS days,
       count(DISTINCT class) AS classes
FROM packets GROUP BY src_ip ORDER BY src_ip;

-- One distinct count alone per group (kept as one aggregate).
SELECT day, count(DISTINCT src_ip) AS sources FROM packets GROUP BY day ORDER BY day;
SELECT class, count(DISTINCT country) AS countries, max(ip_ttl) AS top_ttl FROM packets GROUP BY class ORDER BY class;

-- HAVING on distinct days, and FILTER clauses.
SELECT src_ip, count(*) AS packets FROM packets GROUP BY src_ip HAVING count(DISTINCT day) >= 2 ORDER BY src_ip;
SELECT class, count(DISTINCT src_ip) FILTER (WHERE protocol = 6) AS tcp_sources,
       count(DISTINCT inner_src_ip) AS quoted_sources
FROM packets GROUP BY class ORDER BY class;
