"""Read a Nightjar dataset with DuckDB and with pyarrow, independently, and
print what each sees as JSON, for tests/parquet_readers.rs to compare.

Usage: python3 check_dataset.py DATASET_DIR SCHEMA_DOC.md
The DuckDB address macro is taken verbatim from the schema document, so the
document's advice is what gets tested.
"""

import ipaddress
import json
import re
import sys

import duckdb
import pyarrow.compute as pc
import pyarrow.dataset as ds


def main():
    root, doc_path = sys.argv[1], sys.argv[2]
    doc = open(doc_path, encoding="utf-8").read()
    macro = re.search(r"### Reading addresses in DuckDB.*?```sql\n(CREATE MACRO .*?;)\n", doc, re.S).group(1)

    con = duckdb.connect()
    con.execute(macro)
    source = f"read_parquet('{root}/day=*/*.parquet', hive_partitioning = true)"
    duck_rows = con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
    duck_columns = [[name, kind] for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    duck_classes = dict(con.execute(f"SELECT class, count(*) FROM {source} GROUP BY class").fetchall())
    duck_days = sorted(str(d) for (d,) in con.execute(f"SELECT DISTINCT day FROM {source}").fetchall())
    duck_countries = dict(con.execute(
        f"SELECT coalesce(country, '--'), count(DISTINCT src_ip) FROM {source} GROUP BY 1").fetchall())
    duck_text = dict(con.execute(f"SELECT hex(src_ip), nj_ip(src_ip) FROM {source} GROUP BY ALL").fetchall())

    table = ds.dataset(root, format="parquet", partitioning="hive").to_table()
    arrow_columns = [[f.name, str(f.type)] for f in table.schema]
    grouped = table.group_by("class").aggregate([("class", "count")]).to_pylist()
    arrow_classes = {row["class"]: row["class_count"] for row in grouped}
    by_country = {}
    for country, src in zip(table.column("country").to_pylist(), table.column("src_ip").to_pylist()):
        by_country.setdefault(country or "--", set()).add(src)
    arrow_countries = {country: len(sources) for country, sources in by_country.items()}
    arrow_text = {}
    for raw in pc.unique(table.column("src_ip")).to_pylist():
        address = ipaddress.IPv6Address(raw)
        arrow_text[raw.hex().upper()] = str(address.ipv4_mapped or address)

    # DuckDB prints IPv6 uncompressed; compare IPv6 through ipaddress.
    mismatches = []
    for key, text in arrow_text.items():
        duck = duck_text.get(key)
        same = duck == text or (duck and ":" in duck and ipaddress.ip_address(duck) == ipaddress.ip_address(text))
        if not same:
            mismatches.append([key, duck, text])

    print(json.dumps({
        "duckdb": {"rows": duck_rows, "columns": duck_columns, "classes": duck_classes, "days": duck_days,
                   "countries": duck_countries},
        "pyarrow": {"rows": table.num_rows, "columns": arrow_columns, "classes": arrow_classes,
                    "countries": arrow_countries,
                    "metadata": {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}},
        "addresses_compared": len(arrow_text),
        "ipv6_addresses_compared": sum(1 for text in arrow_text.values() if ":" in text),
        "address_mismatches": mismatches[:20],
    }))


if __name__ == "__main__":
    main()
