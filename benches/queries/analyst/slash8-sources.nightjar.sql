-- One /8: packets, sources, dark addresses and ports
SELECT count(*) AS packets, count(DISTINCT src_ip) AS sources, count(DISTINCT dst_ip) AS destinations,
       count(DISTINCT dst_port) AS ports
FROM packets
WHERE inet_in(src_ip, '${prefix8}');
