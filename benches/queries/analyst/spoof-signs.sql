-- Likely-spoofed packets by sign: packets and sources
SELECT spoof, count(*) AS packets, count(DISTINCT src_ip) AS sources
FROM packets
WHERE spoof IS NOT NULL
GROUP BY spoof
ORDER BY packets DESC, spoof;
