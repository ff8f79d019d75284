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
)
SELECT
  period_start,
  country,
  count(DISTINCT CASE WHEN is_mirai THEN src_ip END) AS "mirai",
  count(DISTINCT CASE WHEN is_telnet THEN src_ip END) AS "telnet",
  count(DISTINCT CASE WHEN is_ssh THEN src_ip END) AS "ssh",
  count(DISTINCT CASE WHEN is_rdp THEN src_ip END) AS "rdp",
  count(DISTINCT CASE WHEN is_smb THEN src_ip END) AS "smb",
  count(DISTINCT CASE WHEN is_web THEN src_ip END) AS "web",
  count(DISTINCT CASE WHEN is_database THEN src_ip END) AS "database",
  count(DISTINCT CASE WHEN is_iot THEN src_ip END) AS "iot",
  count(DISTINCT CASE WHEN is_amplifier_probe THEN src_ip END) AS "amplifier-probe",
  count(DISTINCT CASE WHEN is_ddos_victim THEN src_ip END) AS "ddos-victim",
  count(DISTINCT CASE WHEN is_other_scan THEN src_ip END) AS "other-scan",
  count(DISTINCT CASE WHEN is_mirai OR is_telnet OR is_ssh OR is_rdp OR is_smb OR is_web OR is_database OR is_iot OR is_amplifier_probe OR is_other_scan THEN src_ip END) AS "any"
FROM risk_flags
GROUP BY period_start, country
ORDER BY period_start, country;
