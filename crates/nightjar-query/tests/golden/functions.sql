-- Addresses as text, IPv4 and IPv6.
SELECT DISTINCT ip_text(src_ip) AS source, ip_version FROM packets ORDER BY source;

-- Text to the stored form and back.
SELECT ip_text(ip_from_text('198.51.100.7')) AS v4, ip_text(ip_from_text('2001:DB8:0::1')) AS v6,
       ip_from_text('198.51.100.7') = ip_from_text('::ffff:198.51.100.7') AS mapped_equal;

-- Joining on an address typed as text.
SELECT count(*) AS packets FROM packets WHERE src_ip = ip_from_text('203.0.113.5');

-- CIDR membership, a constant block (rewritten to a range) and blocks from a column.
SELECT ip_text(src_ip) AS source, count(*) AS packets
FROM packets WHERE inet_in(src_ip, '198.51.100.0/25') GROUP BY source ORDER BY source;
SELECT count(*) AS v6_packets FROM packets WHERE inet_in(src_ip, '2001:db8::/32');
SELECT block, inet_in(ip_from_text('203.0.113.5'), block) AS inside
FROM (VALUES ('203.0.113.0/24'), ('203.0.113.4/31'), ('203.0.113.6/31'), ('0.0.0.0/0'), ('::/0')) AS t(block)
ORDER BY block;

-- Prefixes: the stored form for grouping, and as text.
SELECT ip_cidr(src_ip, 24) AS block, count(DISTINCT src_ip) AS sources, count(*) AS packets
FROM packets GROUP BY block ORDER BY block;
SELECT ip_text(ip_prefix(ip_from_text('198.51.100.200'), 16)) AS v4_16,
       ip_cidr(ip_from_text('2001:db8:abcd:1234::1'), 24, 32) AS v6_32,
       ip_cidr('198.51.100.200', 0) AS everything,
       ip_cidr('198.51.100.200', 32) AS host;

-- Country and ASN from the bundled databases, for addresses typed by hand and for columns.
SELECT geo_country('8.8.8.8') AS country, geo_asn('8.8.8.8') AS asn,
       geo_country('2001:4860:4860::8888') AS v6_country, geo_asn('2001:4860:4860::8888') AS v6_asn,
       geo_country('192.0.2.1') AS documentation_range;
SELECT count(*) AS packets_without_country FROM packets WHERE geo_country(src_ip) IS NULL;

-- Port names.
SELECT port_service(23) AS p23, port_service(5555) AS p5555, port_service(53, 17) AS dns_udp,
       port_service(53) AS dns_tcp, port_service(65000) AS unknown, port_service(NULL) AS nothing;

-- NULL in, NULL out.
SELECT ip_text(inner_dst_ip) AS quoted_victim, inet_in(inner_src_ip, '192.0.2.0/24') AS quoted_dark
FROM packets WHERE protocol = 1 ORDER BY time;

-- Mistakes give errors that say what is wrong.
SELECT inet_in(src_ip, '198.51.100.7/24') FROM packets;
SELECT inet_in(src_ip, '300.1.2.3/8') FROM packets;
SELECT ip_from_text('not-an-address');
SELECT ip_prefix(src_ip, 33) FROM packets;
SELECT ip_text(dst_port) FROM packets;
SELECT geo_country(src_ip, dst_ip) FROM packets;
SELECT src_address FROM packets;

-- Which fingerprint rule a stored packet meets (the fixture's Masscan rows carry the label but
-- not Masscan's IP id, so no rule confirms them).
SELECT day, src_ip, tool,
       tool_rule(dst_ip, protocol, ip_ttl, ip_id, ip_flags, dst_port, tcp_flags, tcp_seq, tcp_ack,
                 tcp_window, tcp_opts, tcp_mss, tcp_wscale, payload_len, icmp_type) AS rule
FROM packets WHERE tool IS NOT NULL ORDER BY time;

-- Masscan's template and IP id (0xC000020A ^ 443 ^ 0xDEADBEEF = 48478), the same SYN as nmap
-- sends it with window 2048, ZMap 4.1's default SYN, and ZMap's IP id on a DF SYN.
SELECT tool_rule('192.0.2.10', 6, 255, 48478, 0, 443, 2, 3735928559, 0, 1024, 'M', 1460, NULL, 0, NULL) AS masscan,
       tool_rule('192.0.2.10', 6, 50, 48478, 0, 443, 2, 3735928559, 0, 2048, 'M', 1460, NULL, 0, NULL) AS nmap,
       tool_rule('192.0.2.10', 6, 60, 777, 0, 80, 2, 5, 0, 65535, 'MNWNNS', 1460, 8, 0, NULL) AS zmap_41,
       tool_rule('192.0.2.10', 6, 255, 54321, 2, 80, 2, 5, 0, 65535, '', NULL, NULL, 0, NULL) AS df_54321;
