"""Drive `nightjar serve-sql` with the real ADBC Flight SQL driver and print what it saw as JSON.

Usage: flight_sql_client.py URI TOKEN CA_PEM

Connects over TLS trusting CA_PEM, once with a handshake (the token as the password) and once
with a bearer header; lists table types and objects, reads a table's schema, runs queries
(plain and prepared) and gets Arrow back; tries DDL, COPY, a file read and an update, and a
wrong token, recording each refusal (exception class, ADBC status, message). tests/flight_sql.rs
checks the output against the fixed dataset.
"""

import json
import sys

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow


def connect(uri, ca_pem, **auth):
    db_kwargs = {"adbc.flight.sql.client_option.tls_root_certs": ca_pem, **auth}
    return flight_sql.connect(uri, db_kwargs=db_kwargs)


def refusal(action):
    """Run `action`, which must fail; describe the failure."""
    try:
        action()
    except adbc_driver_manager.Error as error:
        status = getattr(error, "status_code", None)
        return {
            "refused": True,
            "class": type(error).__name__,
            "status": status.name if status is not None else None,
            "message": str(error),
        }
    return {"refused": False}


def query(conn, sql):
    with conn.cursor() as cursor:
        cursor.execute(sql)
        table = cursor.fetch_arrow_table()
    assert isinstance(table, pyarrow.Table)
    return table


def main():
    uri, token, ca_path = sys.argv[1:4]
    with open(ca_path) as ca_file:
        ca_pem = ca_file.read()
    out = {}

    # The handshake: any user name, the token as the password.
    with connect(uri, ca_pem, username="token", password=token) as conn:
        out["table_types"] = sorted(conn.adbc_get_table_types())
        objects = conn.adbc_get_objects(depth="all").read_all().to_pylist()
        tables = {}
        for catalog in objects:
            for schema in catalog["catalog_db_schemas"] or []:
                for table in schema["db_schema_tables"] or []:
                    columns = [column["column_name"] for column in table["table_columns"] or []]
                    key = f'{catalog["catalog_name"]}.{schema["db_schema_name"]}.{table["table_name"]}'
                    tables[key] = {"type": table["table_type"], "columns": columns}
        out["objects"] = tables
        schema = conn.adbc_get_table_schema("packets", db_schema_filter="public")
        out["packets_schema"] = {field.name: str(field.type) for field in schema}

        count = query(conn, "SELECT count(*) AS packets FROM packets")
        out["packet_count"] = count.column("packets")[0].as_py()
        per_country = query(
            conn,
            "SELECT country, count(*) AS packets FROM packets WHERE country IS NOT NULL "
            "GROUP BY country ORDER BY country",
        )
        out["per_country"] = dict(zip(per_country.column("country").to_pylist(), per_country.column("packets").to_pylist()))
        sources = query(conn, "SELECT DISTINCT src_ip FROM packets WHERE tool = 'mirai'")
        out["mirai_sources"] = sources.column("src_ip").to_pylist()
        out["mirai_sources_type"] = str(sources.schema.field("src_ip").type)
        views = query(conn, "SELECT day, sum(packets) AS packets FROM port_activity GROUP BY day ORDER BY day")
        out["port_activity_days"] = {str(day): packets for day, packets in zip(*(c.to_pylist() for c in views.columns))}

        # A prepared statement (what ADBC uses for repeated and parameterised statements).
        with conn.cursor() as cursor:
            prepared_sql = "SELECT count(*) AS n FROM packets WHERE day = '2026-11-21'"
            cursor.adbc_prepare(prepared_sql)
            cursor.execute(prepared_sql)
            out["prepared_count"] = cursor.fetch_arrow_table().column("n")[0].as_py()

        out["create_table"] = refusal(lambda: query(conn, "CREATE TABLE stolen AS SELECT * FROM packets"))
        out["copy_to"] = refusal(lambda: query(conn, "COPY (SELECT * FROM packets) TO '/tmp/nightjar-adbc-copy.parquet'"))
        out["file_read"] = refusal(lambda: query(conn, "SELECT * FROM '/etc/passwd'"))
        out["external_table"] = refusal(
            lambda: query(conn, "CREATE EXTERNAL TABLE passwd STORED AS CSV LOCATION '/etc/passwd'")
        )

        def update():
            with conn.cursor() as cursor:
                cursor.adbc_statement.set_sql_query("DELETE FROM packets")
                cursor.adbc_statement.execute_update()

        out["update"] = refusal(update)

    # The bearer header on every call, without a handshake.
    with connect(uri, ca_pem, **{"adbc.flight.sql.authorization_header": f"Bearer {token}"}) as conn:
        out["bearer_count"] = query(conn, "SELECT count(*) AS n FROM packets").column("n")[0].as_py()

    def wrong_password():
        with connect(uri, ca_pem, username="token", password="njq_wrong") as conn:
            query(conn, "SELECT 1")

    def wrong_bearer():
        with connect(uri, ca_pem, **{"adbc.flight.sql.authorization_header": "Bearer njq_wrong"}) as conn:
            query(conn, "SELECT 1")

    out["wrong_password"] = refusal(wrong_password)
    out["wrong_bearer"] = refusal(wrong_bearer)
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
