-- One /8: packets, sources, dark addresses and ports (the /8 as a range of address BLOBs)
SELECT count(*) AS packets, count(DISTINCT src_ip) AS sources, count(DISTINCT dst_ip) AS destinations,
       count(DISTINCT dst_port) AS ports
FROM packets
WHERE src_ip BETWEEN from_hex('${prefix8_low_hex}') AND from_hex('${prefix8_high_hex}');
