-- How many sources and how many dark addresses did we see at all?
SELECT count(DISTINCT src_ip) AS sources, count(DISTINCT dst_ip) AS destinations
FROM packets;
