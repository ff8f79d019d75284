-- Packet length percentiles per class
SELECT class,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ip_len) AS p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY ip_len) AS p90,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ip_len) AS p99
FROM packets
GROUP BY class
ORDER BY class;
