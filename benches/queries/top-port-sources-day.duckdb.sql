-- Analyst query: the 20 busiest sources of 23/tcp (telnet) scans over one day, with how many dark
-- addresses each probed. Twin of top-port-sources-day.nightjar.sql; nj_ip() is the macro of
-- schemas/packet-record-v1.md (address BLOB → text).
SELECT
  nj_ip(src_ip) AS src,
  country,
  count(*) AS packets,
  count(DISTINCT dst_ip) AS destinations
FROM packets
WHERE day = DATE '${day}' AND protocol = 6 AND dst_port = 23 AND class = 'scan'
GROUP BY src_ip, country
ORDER BY packets DESC, src_ip
LIMIT 20;
