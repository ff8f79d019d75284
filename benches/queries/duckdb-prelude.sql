-- Run by benches/run before each DuckDB query, outside the timing: the same thread count and memory
-- limit as `nightjar sql` (DuckDB spills beyond it, into the harness's scratch folder), the address
-- macro of schemas/packet-record-v1.md, and `packets` as a view over the dataset's Parquet files
-- with the `day` partition column.
SET threads = ${threads};
SET memory_limit = '${memory_limit}';
SET temp_directory = '${spill}';
CREATE MACRO nj_ip(b) AS
  CASE WHEN substr(hex(b), 1, 24) = '00000000000000000000FFFF'
       THEN concat_ws('.', ('0x' || substr(hex(b), 25, 2))::INTEGER,
                           ('0x' || substr(hex(b), 27, 2))::INTEGER,
                           ('0x' || substr(hex(b), 29, 2))::INTEGER,
                           ('0x' || substr(hex(b), 31, 2))::INTEGER)
       ELSE lower(rtrim(regexp_replace(hex(b), '(.{4})', '\1:', 'g'), ':'))
  END;
CREATE VIEW packets AS
  SELECT * FROM read_parquet('${data}/day=*/*.parquet', hive_partitioning = true);
