-- counted from the packets
-- Nightjar risk indicators (schemas/risks.csv): distinct source addresses per country and week,
-- ${from} to ${to}; research scanners excluded; likely-spoofed packets excluded.
WITH packet_flags AS (
  SELECT
    CAST(date_trunc('week', day) AS DATE) AS period_start,
    country,
    src_ip,
    class,
    -- 1 mirai: TCP SYN whose sequence number equals its destination IPv4 address (Mirai-family scanner)
    coalesce(class = 'scan' AND protocol = 6 AND tool = 'mirai', false) AS is_mirai,
    -- 2 telnet: TCP SYN to 23 or 2323, not Mirai-fingerprinted
    coalesce(class = 'scan' AND protocol = 6 AND dst_port IN (23, 2323) AND tool IS DISTINCT FROM 'mirai', false) AS is_telnet,
    -- 3 ssh: TCP SYN to 22 or 2222
    coalesce(class = 'scan' AND protocol = 6 AND dst_port IN (22, 2222), false) AS is_ssh,
    -- 4 rdp: TCP SYN to 3389
    coalesce(class = 'scan' AND protocol = 6 AND dst_port = 3389, false) AS is_rdp,
    -- 5 smb: TCP SYN to 445 or 139
    coalesce(class = 'scan' AND protocol = 6 AND dst_port IN (445, 139), false) AS is_smb,
    -- 6 web: TCP SYN to 80, 443, 8080, 8443, 8000, 8888
    coalesce(class = 'scan' AND protocol = 6 AND dst_port IN (80, 443, 8080, 8443, 8000, 8888), false) AS is_web,
    -- 7 database: TCP SYN to 1433, 3306, 5432, 6379, 9200, 27017
    coalesce(class = 'scan' AND protocol = 6 AND dst_port IN (1433, 3306, 5432, 6379, 9200, 27017), false) AS is_database,
    -- 8 iot: TCP SYN to 7547, 5555, 37215, 52869, 8291, 81
    coalesce(class = 'scan' AND protocol = 6 AND dst_port IN (7547, 5555, 37215, 52869, 8291, 81), false) AS is_iot,
    -- 9 amplifier-probe: UDP probe to 53, 123, 161, 1900, 19, 11211, 389, 3702, 5683, 17 (hunting for DDoS reflectors)
    coalesce(class = 'scan' AND protocol = 17 AND dst_port IN (53, 123, 161, 1900, 19, 11211, 389, 3702, 5683, 17), false) AS is_amplifier_probe,
    -- 10 ddos-victim: backscatter (SYN-ACK, RST, ICMP error/reply types, UDP from 53): the source is the victim of a spoofed-source DDoS
    coalesce(class = 'backscatter', false) AS is_ddos_victim
  FROM packets
  WHERE day BETWEEN DATE '${from}' AND DATE '${to}'
    AND country IS NOT NULL
    AND research IS NULL  -- research scanners left out (--include-research keeps them)
    AND spoof IS NULL  -- likely-spoofed packets left out (--include-spoofed keeps them)
),
risk_flags AS (
  SELECT
    *,
    -- 11 other-scan: any other scan packet
    class = 'scan' AND NOT (is_mirai OR is_telnet OR is_ssh OR is_rdp OR is_smb OR is_web OR is_database OR is_iot OR is_amplifier_probe) AS is_other_scan
  FROM packet_flags
),
-- one row per source: which risks it showed in the period (counting rows is cheaper than count(DISTINCT))
source_flags AS (
  SELECT
    period_start,
    country,
    src_ip,
    bool_or(is_mirai) AS is_mirai,
    bool_or(is_telnet) AS is_telnet,
    bool_or(is_ssh) AS is_ssh,
    bool_or(is_rdp) AS is_rdp,
    bool_or(is_smb) AS is_smb,
    bool_or(is_web) AS is_web,
    bool_or(is_database) AS is_database,
    bool_or(is_iot) AS is_iot,
    bool_or(is_amplifier_probe) AS is_amplifier_probe,
    bool_or(is_ddos_victim) AS is_ddos_victim,
    bool_or(is_other_scan) AS is_other_scan
  FROM risk_flags
  GROUP BY period_start, country, src_ip
)
SELECT
  period_start,
  country,
  count(*) FILTER (WHERE is_mirai) AS "mirai",
  count(*) FILTER (WHERE is_telnet) AS "telnet",
  count(*) FILTER (WHERE is_ssh) AS "ssh",
  count(*) FILTER (WHERE is_rdp) AS "rdp",
  count(*) FILTER (WHERE is_smb) AS "smb",
  count(*) FILTER (WHERE is_web) AS "web",
  count(*) FILTER (WHERE is_database) AS "database",
  count(*) FILTER (WHERE is_iot) AS "iot",
  count(*) FILTER (WHERE is_amplifier_probe) AS "amplifier-probe",
  count(*) FILTER (WHERE is_ddos_victim) AS "ddos-victim",
  count(*) FILTER (WHERE is_other_scan) AS "other-scan",
  count(*) FILTER (WHERE is_mirai OR is_telnet OR is_ssh OR is_rdp OR is_smb OR is_web OR is_database OR is_iot OR is_amplifier_probe OR is_other_scan) AS "any"
FROM source_flags
GROUP BY period_start, country
ORDER BY period_start, country;
