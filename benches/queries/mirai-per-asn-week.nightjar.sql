-- Analyst query: Mirai-fingerprinted sources per autonomous system over one week (the ASN attached
-- at ingest), the 25 largest. Twin: mirai-per-asn-week.duckdb.sql.
SELECT
  asn,
  as_name,
  count(DISTINCT src_ip) AS sources,
  count(*) AS packets
FROM packets
WHERE day BETWEEN DATE '${from}' AND DATE '${to}' AND tool = 'mirai'
GROUP BY asn, as_name
ORDER BY sources DESC, asn NULLS LAST
LIMIT 25;
