"""Read a Nightjar table with the Python `deltalake` package (delta-rs) and DuckDB over its
Arrow dataset, and print what they see as JSON, for tests/delta_table.rs to compare with
`nightjar sql`.

Usage: python3 delta_check.py TABLE_DIR
"""

import json
import sys

import duckdb
from deltalake import DeltaTable


def main():
    table = DeltaTable(sys.argv[1])
    rows = table.to_pyarrow_table()
    dataset = table.to_pyarrow_dataset()
    per_country = duckdb.sql(
        "SELECT coalesce(country, '') AS country, count(DISTINCT src_ip) AS sources "
        "FROM dataset GROUP BY 1 ORDER BY 1"
    ).fetchall()
    print(json.dumps({
        "version": table.version(),
        "partitions": table.metadata().partition_columns,
        "rows": rows.num_rows,
        "max_tcp_seq": max((v for v in rows.column("tcp_seq").to_pylist() if v is not None), default=None),
        "max_dst_port": max((v for v in rows.column("dst_port").to_pylist() if v is not None), default=None),
        "first_version_rows": DeltaTable(sys.argv[1], version=1).to_pyarrow_table().num_rows,
        "per_country": [[country, sources] for country, sources in per_country],
    }))


if __name__ == "__main__":
    main()
