-- The RISKS.md indicators for one day, written for DuckDB: distinct sources per country and risk,
-- research scanners and likely-spoofed packets left out. The twin of
-- risk-day.nightjar.sql (what `nightjar risk --period day --show-sql` prints), written
-- independently in DuckDB's idiom (FILTER clauses); benches/run checks both give the same numbers.
-- `packets` is a view over read_parquet('DIR/day=*/*.parquet', hive_partitioning = true).
SELECT
  day AS period_start,
  country,
  count(DISTINCT src_ip) FILTER (WHERE class = 'scan' AND protocol = 6 AND tool = 'mirai') AS "mirai",
  count(DISTINCT src_ip) FILTER (WHERE class = 'scan' AND protocol = 6 AND dst_port IN (23, 2323) AND tool IS DISTINCT FROM 'mirai') AS "telnet",
  count(DISTINCT src_ip) FILTER (WHERE class = 'scan' AND protocol = 6 AND dst_port IN (22, 2222)) AS "ssh",
  count(DISTINCT src_ip) FILTER (WHERE class = 'scan' AND protocol = 6 AND dst_port = 3389) AS "rdp",
  count(DISTINCT src_ip) FILTER (WHERE class = 'scan' AND protocol = 6 AND dst_port IN (445, 139)) AS "smb",
  count(DISTINCT src_ip) FILTER (WHERE class = 'scan' AND protocol = 6 AND dst_port IN (80, 443, 8080, 8443, 8000, 8888)) AS "web",
  count(DISTINCT src_ip) FILTER (WHERE class = 'scan' AND protocol = 6 AND dst_port IN (1433, 3306, 5432, 6379, 9200, 27017)) AS "database",
  count(DISTINCT src_ip) FILTER (WHERE class = 'scan' AND protocol = 6 AND dst_port IN (7547, 5555, 37215, 52869, 8291, 81)) AS "iot",
  count(DISTINCT src_ip) FILTER (WHERE class = 'scan' AND protocol = 17 AND dst_port IN (53, 123, 161, 1900, 19, 11211, 389, 3702, 5683, 17)) AS "amplifier-probe",
  count(DISTINCT src_ip) FILTER (WHERE class = 'backscatter') AS "ddos-victim",
  count(DISTINCT src_ip) FILTER (WHERE class = 'scan' AND NOT coalesce((class = 'scan' AND protocol = 6 AND tool = 'mirai') OR (class = 'scan' AND protocol = 6 AND dst_port IN (23, 2323) AND tool IS DISTINCT FROM 'mirai') OR (class = 'scan' AND protocol = 6 AND dst_port IN (22, 2222)) OR (class = 'scan' AND protocol = 6 AND dst_port = 3389) OR (class = 'scan' AND protocol = 6 AND dst_port IN (445, 139)) OR (class = 'scan' AND protocol = 6 AND dst_port IN (80, 443, 8080, 8443, 8000, 8888)) OR (class = 'scan' AND protocol = 6 AND dst_port IN (1433, 3306, 5432, 6379, 9200, 27017)) OR (class = 'scan' AND protocol = 6 AND dst_port IN (7547, 5555, 37215, 52869, 8291, 81)) OR (class = 'scan' AND protocol = 17 AND dst_port IN (53, 123, 161, 1900, 19, 11211, 389, 3702, 5683, 17)), false)) AS "other-scan",
  count(DISTINCT src_ip) FILTER (WHERE class = 'scan') AS "any"  -- 1-9 and 11 together are every scan
FROM packets
WHERE day = DATE '${day}'
  AND country IS NOT NULL AND research IS NULL AND spoof IS NULL
GROUP BY ALL
ORDER BY period_start, country;
