-- One row per source per day.
SELECT day, src_ip, first_seen, last_seen, packets, distinct_ports, distinct_destinations, sensors,
       classes, tools, spoofed_packets, research, country, asn, as_name
FROM sources
ORDER BY day, src_ip;

-- Packets and sources per destination port per day.
SELECT * FROM port_activity ORDER BY day, protocol, dst_port;

-- Backscatter senders per day.
SELECT * FROM backscatter_victims ORDER BY day, victim;

-- A filter on day passes through a view.
SELECT count(*) AS sources FROM sources WHERE day = DATE '2026-11-21';
