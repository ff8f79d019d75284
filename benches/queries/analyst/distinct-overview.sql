-- The week at a glance: packets, sources, destinations, ports, countries, days
SELECT
  count(*) AS packets,
  count(DISTINCT src_ip) AS sources,
  count(DISTINCT dst_ip) AS destinations,
  count(DISTINCT dst_port) AS ports,
  count(DISTINCT country) AS countries,
  count(DISTINCT day) AS days
FROM packets;
