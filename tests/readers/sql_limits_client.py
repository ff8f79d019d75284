"""Drive `nightjar serve-sql` (plain gRPC on loopback) with the real ADBC Flight SQL driver to
check its limits, and print what it saw as JSON.

Usage: sql_limits_client.py URI TOKEN MODE [SQL]

MODE `statements`: runs each SQL line of standard input, recording for each its answer (the first
value) or its refusal (ADBC status and message), then `SELECT 1`.
MODE `one`: runs SQL once and records its answer or refusal and how long it took.
MODE `pings`: runs `SELECT 1` five times, each on a new connection, recording how long each took.
"""

import json
import sys
import time

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager


def connect(uri, token):
    return flight_sql.connect(uri, db_kwargs={"adbc.flight.sql.authorization_header": f"Bearer {token}"})


def attempt(uri, token, sql):
    """Run `sql` on a new connection: its first value, or the refusal."""
    started = time.monotonic()
    try:
        with connect(uri, token) as conn, conn.cursor() as cursor:
            cursor.execute(sql)
            table = cursor.fetch_arrow_table()
            value = table.column(0)[0].as_py() if table.num_rows else None
            outcome = {"refused": False, "value": value}
    except adbc_driver_manager.Error as error:
        status = getattr(error, "status_code", None)
        outcome = {"refused": True, "status": status.name if status is not None else None, "message": str(error)}
    outcome["seconds"] = time.monotonic() - started
    return outcome


def main():
    uri, token, mode = sys.argv[1:4]
    if mode == "statements":
        seen = [attempt(uri, token, sql) for sql in sys.stdin.read().splitlines() if sql.strip()]
        seen.append(attempt(uri, token, "SELECT 1"))
    elif mode == "one":
        seen = attempt(uri, token, sys.argv[4])
    else:
        seen = [attempt(uri, token, "SELECT 1") for _ in range(5)]
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
