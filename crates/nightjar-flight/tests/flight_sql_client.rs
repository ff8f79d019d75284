//! The server started in-process over TLS on the query layer's fixed dataset, driven by
//! arrow-flight's own Flight SQL client: tokens, queries, prepared statements, metadata,
//! refusals and limits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use arrow_flight::FlightInfo;
use arrow_flight::error::FlightError;
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::sql::{CommandGetDbSchemas, CommandGetTables};
use futures::TryStreamExt;
use nightjar_flight::{FlightSqlConfig, RunningServer, tokens};
use nightjar_query::{QueryConfig, QueryEngine, QueryLimits};
use nightjar_test_kit::fixture;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// A server on the fixture with one token, and what a client needs to reach it.
struct Served {
    server: RunningServer,
    token: String,
    ca_pem: String,
    _dir: tempfile::TempDir,
}

async fn serve(limits: QueryLimits) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let dataset = dir.path().join("data");
    fixture::write(&dataset);
    let tokens_file = dir.path().join("tokens");
    let token = tokens::add_token(&tokens_file, "alice").unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.path().join("sql.crt"), dir.path().join("sql.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();

    let mut query = QueryConfig::new(dataset.to_str().unwrap());
    query.limits = limits;
    query.target_partitions = Some(2);
    let engine = Arc::new(QueryEngine::open(query).await.unwrap());
    let config = FlightSqlConfig {
        tls_cert: Some(cert),
        tls_key: Some(key),
        ..FlightSqlConfig::new("127.0.0.1:0".parse().unwrap(), tokens_file)
    };
    let server = nightjar_flight::start(config, engine).await.unwrap();
    Served { server, token, ca_pem: certified.cert.pem(), _dir: dir }
}

async fn client(served: &Served) -> FlightSqlServiceClient<Channel> {
    let tls = ClientTlsConfig::new().domain_name("localhost").ca_certificate(Certificate::from_pem(&served.ca_pem));
    let endpoint = Endpoint::new(format!("https://localhost:{}", served.server.addr.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(10));
    FlightSqlServiceClient::new(endpoint.connect().await.unwrap())
}

async fn fetch(client: &mut FlightSqlServiceClient<Channel>, info: FlightInfo) -> Vec<RecordBatch> {
    let mut batches = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.expect("every endpoint has a ticket");
        batches.extend(client.do_get(ticket).await.unwrap().try_collect::<Vec<_>>().await.unwrap());
    }
    batches
}

async fn query(client: &mut FlightSqlServiceClient<Channel>, sql: &str) -> Vec<RecordBatch> {
    let info = client.execute(sql.to_string(), None).await.unwrap_or_else(|error| panic!("{sql}: {error}"));
    fetch(client, info).await
}

/// The gRPC status of a client error: its code's name and its message.
fn status(error: FlightError) -> String {
    match error {
        FlightError::Tonic(status) => format!("{:?}: {}", status.code(), status.message()),
        other => panic!("not a gRPC status: {other}"),
    }
}

/// The status of a statement the server must refuse.
async fn refused(client: &mut FlightSqlServiceClient<Channel>, sql: &str) -> String {
    match client.execute(sql.to_string(), None).await {
        Ok(info) => panic!("{sql} was accepted: {info:?}"),
        Err(error) => status(error),
    }
}

fn strings(batches: &[RecordBatch], column: usize) -> Vec<String> {
    batches
        .iter()
        .flat_map(|batch| {
            let values = batch.column(column).as_string::<i32>();
            (0..values.len()).map(|row| values.value(row).to_string()).collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn a_token_is_needed_and_a_wrong_one_is_refused_with_a_clear_message() {
    let served = serve(QueryLimits::DEFAULT).await;
    let mut client = client(&served).await;
    let missing = refused(&mut client, "SELECT 1").await;
    assert!(missing.starts_with("Unauthenticated:") && missing.contains("no token"), "{missing}");
    let wrong = client.handshake("token", "njq_not-a-token").await.unwrap_err().to_string();
    // The client turns a failed handshake into text.
    assert!(wrong.contains("invalid token"), "{wrong}");
    client.set_token("njq_not-a-token".into());
    let wrong = refused(&mut client, "SELECT 1").await;
    assert!(wrong.starts_with("Unauthenticated:") && wrong.contains("invalid token"), "{wrong}");

    // The handshake (token as the password) sets the bearer token for the calls that follow.
    client.clear_token();
    client.handshake("anyone", &served.token).await.unwrap();
    assert_eq!(client.token(), Some(&served.token));
    let batches = query(&mut client, "SELECT count(*) AS packets FROM packets").await;
    assert_eq!(batches[0].column(0).as_primitive::<Int64Type>().value(0), 16);
}

#[tokio::test]
async fn queries_and_prepared_statements_answer_arrow_with_addresses_as_text() {
    let served = serve(QueryLimits::DEFAULT).await;
    let mut client = client(&served).await;
    client.set_token(served.token.clone());

    let sql = "SELECT country, count(*) AS packets FROM packets WHERE country IS NOT NULL \
               GROUP BY country ORDER BY packets DESC, country";
    let batches = query(&mut client, sql).await;
    let countries = strings(&batches, 0);
    let counts: Vec<i64> =
        batches.iter().flat_map(|b| b.column(1).as_primitive::<Int64Type>().values().to_vec()).collect();
    assert_eq!(countries, ["US", "JP", "CN", "DE", "NL"]);
    assert_eq!(counts, [7, 5, 1, 1, 1]);

    let batches = query(&mut client, "SELECT src_ip FROM packets WHERE day = '2026-11-20' ORDER BY time LIMIT 1").await;
    assert_eq!(batches[0].schema().field(0).data_type(), &DataType::Utf8);
    assert_eq!(strings(&batches, 0), ["198.51.100.7"]);

    let mut prepared =
        client.prepare("SELECT src_ip, dst_port FROM packets WHERE tool = 'mirai'".into(), None).await.unwrap();
    assert_eq!(prepared.dataset_schema().unwrap().field(0).data_type(), &DataType::Utf8);
    let info = prepared.execute().await.unwrap();
    let rows: usize = fetch(&mut client, info).await.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 3);
    prepared.close().await.unwrap();
}

#[tokio::test]
async fn ddl_dml_copy_and_file_reads_are_refused_with_the_engines_message() {
    let served = serve(QueryLimits::DEFAULT).await;
    let mut client = client(&served).await;
    client.set_token(served.token.clone());
    for sql in [
        "CREATE TABLE t AS SELECT 1",
        "INSERT INTO packets SELECT * FROM packets",
        "COPY (SELECT 1) TO '/tmp/nightjar-flight-copy.csv'",
        "CREATE EXTERNAL TABLE passwd STORED AS CSV LOCATION '/etc/passwd'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let error = refused(&mut client, sql).await;
        assert!(error.starts_with("PermissionDenied:") && error.contains("only reads the dataset"), "{sql}: {error}");
    }
    let file_read = refused(&mut client, "SELECT * FROM '/etc/passwd'").await;
    assert!(file_read.starts_with("InvalidArgument:") && file_read.contains("/etc/passwd"), "{file_read}");
    assert!(!Path::new("/tmp/nightjar-flight-copy.csv").exists());

    let update = status(client.execute_update("DELETE FROM packets".into(), None).await.unwrap_err());
    assert!(update.starts_with("PermissionDenied:") && update.contains("only reads the dataset"), "{update}");
    let syntax = refused(&mut client, "SELEC 1").await;
    assert!(syntax.starts_with("InvalidArgument:"), "{syntax}");
}

#[tokio::test]
async fn metadata_lists_the_tables_and_views_with_their_columns_and_the_server_says_it_is_read_only() {
    let served = serve(QueryLimits::DEFAULT).await;
    let mut client = client(&served).await;
    client.set_token(served.token.clone());

    let info = client.get_catalogs().await.unwrap();
    assert_eq!(strings(&fetch(&mut client, info).await, 0), ["datafusion"]);
    let info = client.get_db_schemas(CommandGetDbSchemas::default()).await.unwrap();
    let schemas = strings(&fetch(&mut client, info).await, 1);
    assert!(schemas.contains(&"public".to_string()), "{schemas:?}");

    let request = CommandGetTables {
        db_schema_filter_pattern: Some("public".into()),
        include_schema: true,
        ..CommandGetTables::default()
    };
    let info = client.get_tables(request).await.unwrap();
    let tables = fetch(&mut client, info).await;
    let names = strings(&tables, 2);
    let types = strings(&tables, 3);
    for (name, kind) in
        [("packets", "TABLE"), ("sources", "VIEW"), ("port_activity", "VIEW"), ("backscatter_victims", "VIEW")]
    {
        let at = names.iter().position(|n| n == name).unwrap_or_else(|| panic!("{name} not in {names:?}"));
        assert_eq!(types[at], kind, "{name}");
    }
    let packets = names.iter().position(|n| n == "packets").unwrap();
    let schema_bytes = tables[0].column(4).as_binary::<i32>().value(packets);
    let schema = arrow::ipc::convert::try_schema_from_ipc_buffer(schema_bytes).unwrap();
    assert_eq!(schema.field_with_name("src_ip").unwrap().data_type(), &DataType::Utf8);

    let info = client.get_table_types().await.unwrap();
    assert_eq!(strings(&fetch(&mut client, info).await, 0), ["TABLE", "VIEW"]);
    let info = client.get_sql_info(vec![arrow_flight::sql::SqlInfo::FlightSqlServerReadOnly]).await.unwrap();
    let info = fetch(&mut client, info).await;
    let value = info[0].column(1).as_union().value(0);
    assert!(value.as_boolean().value(0), "the server says it is read-only");
}

#[tokio::test]
async fn a_query_over_its_memory_limit_stops_with_resource_exhausted() {
    let served = serve(QueryLimits { memory_bytes: 4096, time: Duration::from_secs(60) }).await;
    let mut client = client(&served).await;
    client.set_token(served.token.clone());
    let sql = "SELECT a.src_ip, b.dst_ip FROM packets a JOIN packets b ON a.sensor = b.sensor ORDER BY 1, 2";
    let info = client.execute(sql.into(), None).await.unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let error = match client.do_get(ticket).await {
        Ok(stream) => status(stream.try_collect::<Vec<_>>().await.unwrap_err()),
        Err(error) => status(error),
    };
    assert!(error.starts_with("ResourceExhausted"), "{error}");
    assert!(error.contains("limit of 4096 bytes"), "{error}");
}
