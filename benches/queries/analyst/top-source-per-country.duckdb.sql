-- The three busiest sources of each country
SELECT country, source, packets
FROM (
  SELECT country, nj_ip(src_ip) AS source, count(*) AS packets,
         row_number() OVER (PARTITION BY country ORDER BY count(*) DESC, src_ip) AS rank
  FROM packets
  WHERE country IS NOT NULL
  GROUP BY country, src_ip
) AS ranked
WHERE rank <= 3
ORDER BY country, rank;
