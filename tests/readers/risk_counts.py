"""Count distinct risky sources per period and country with DuckDB's own SQL,
written from RISKS.md independently of Nightjar's indicator SQL, for
tests/risk_cli.rs to compare with `nightjar risk`.

Usage: python3 risk_counts.py DATASET_DIR day|week
Prints JSON: {"<period>|<country>|<risk>": sources, ...} (zero counts left out).
Research scanners and likely-spoofed packets are left out (the defaults).
"""

import json
import sys

import duckdb

SYN = "class = 'scan' AND protocol = 6"
NAMED = {
    "mirai": f"{SYN} AND tool = 'mirai'",
    "telnet": f"{SYN} AND dst_port IN (23, 2323) AND (tool IS NULL OR tool <> 'mirai')",
    "ssh": f"{SYN} AND dst_port IN (22, 2222)",
    "rdp": f"{SYN} AND dst_port = 3389",
    "smb": f"{SYN} AND dst_port IN (445, 139)",
    "web": f"{SYN} AND dst_port IN (80, 443, 8080, 8443, 8000, 8888)",
    "database": f"{SYN} AND dst_port IN (1433, 3306, 5432, 6379, 9200, 27017)",
    "iot": f"{SYN} AND dst_port IN (7547, 5555, 37215, 52869, 8291, 81)",
    "amplifier-probe": "class = 'scan' AND protocol = 17 AND dst_port IN (53, 123, 161, 1900, 19, 11211, 389, 3702, 5683, 17)",
}


def main():
    root, period = sys.argv[1], sys.argv[2]
    label = {
        "day": "strftime(day, '%Y-%m-%d')",
        "week": "CAST(isoyear(day) AS VARCHAR) || '-W' || lpad(CAST(week(day) AS VARCHAR), 2, '0')",
    }[period]
    named_any = " OR ".join(f"coalesce({p}, false)" for p in NAMED.values())
    risks = dict(NAMED)
    risks["ddos-victim"] = "class = 'backscatter'"
    risks["other-scan"] = f"class = 'scan' AND NOT ({named_any})"
    risks["any"] = "class = 'scan'"  # every named risk is a scan, and other-scan is the rest of them
    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW p AS SELECT *, {label} AS period FROM read_parquet('{root}/day=*/*.parquet', hive_partitioning = true) "
        "WHERE research IS NULL AND spoof IS NULL AND country IS NOT NULL"
    )
    out = {}
    for slug, condition in risks.items():
        rows = con.execute(
            f"SELECT period, country, count(DISTINCT src_ip) FROM p WHERE coalesce({condition}, false) GROUP BY ALL"
        ).fetchall()
        for p, country, n in rows:
            out[f"{p}|{country}|{slug}"] = n
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
