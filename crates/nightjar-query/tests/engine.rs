//! The query engine's guarantees: read-only SQL, per-query limits, pruning visible in EXPLAIN.

use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::util::pretty::pretty_format_batches;
use nightjar_dataset::WriterOptions;
use nightjar_query::{QueryConfig, QueryEngine, QueryError, QueryLimits};
use nightjar_test_kit::fixture;

async fn engine_with(limits: QueryLimits, options: WriterOptions) -> (tempfile::TempDir, QueryEngine) {
    let data = tempfile::tempdir().expect("temporary folder");
    fixture::write_with(data.path(), options);
    let config = QueryConfig { limits, ..QueryConfig::new(data.path().to_string_lossy()) };
    let engine = QueryEngine::open(config).await.expect("dataset opens");
    (data, engine)
}

async fn engine() -> (tempfile::TempDir, QueryEngine) {
    engine_with(QueryLimits::DEFAULT, WriterOptions::default()).await
}

async fn plan_text(engine: &QueryEngine, sql: &str) -> String {
    let batches = engine.query(sql).await.expect("explain runs");
    pretty_format_batches(&batches).expect("printable").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_that_write_or_read_files_are_refused() {
    let (data, engine) = engine().await;
    let outside = tempfile::tempdir().expect("temporary folder");
    let copy_target = outside.path().join("copied.csv");
    let refused = [
        "CREATE TABLE t AS SELECT 1".to_owned(),
        "CREATE VIEW mine AS SELECT * FROM packets".to_owned(),
        "DROP VIEW sources".to_owned(),
        "CREATE EXTERNAL TABLE secrets STORED AS CSV LOCATION '/etc/'".to_owned(),
        format!("COPY (SELECT * FROM packets) TO '{}'", copy_target.display()),
        "INSERT INTO packets SELECT * FROM packets".to_owned(),
        "DELETE FROM packets".to_owned(),
        "SET datafusion.execution.batch_size = 1".to_owned(),
        "CREATE FUNCTION f(x INT) RETURNS INT RETURN x".to_owned(),
        "PREPARE p AS SELECT 1".to_owned(),
        format!("EXPLAIN ANALYZE COPY (SELECT 1) TO '{}'", copy_target.display()),
    ];
    for sql in &refused {
        match engine.query(sql).await {
            Err(QueryError::ReadOnly(message)) => {
                assert!(message.contains("only reads") && message.contains("not allowed"), "{sql}: {message}")
            }
            Err(other) => panic!("{sql}: refused, but not as read-only: {other}"),
            Ok(_) => panic!("{sql}: ran"),
        }
    }
    assert!(!copy_target.exists(), "COPY wrote a file");
    // A file named as a table is not read: only the registered tables exist.
    for sql in ["SELECT * FROM '/etc/passwd'", "SELECT * FROM 'file:///etc/hostname'"] {
        let error = engine.query(sql).await.expect_err(sql).to_string();
        assert!(error.contains("not found"), "{sql}: {error}");
    }
    // The views are still there, and reading works.
    let batches = engine.query("SELECT count(*) FROM sources").await.expect("sources");
    assert_eq!(batches[0].column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0), 13);
    drop(data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_its_memory_limit_stops_with_a_clear_error() {
    let limits = QueryLimits { memory_bytes: 1 << 20, ..QueryLimits::DEFAULT };
    let (_data, engine) = engine_with(limits, WriterOptions::default()).await;
    let sql = "SELECT value % 1000000 AS k, count(*) FROM generate_series(1, 3000000) GROUP BY k ORDER BY k";
    match engine.query(sql).await {
        Err(QueryError::MemoryLimit { limit_bytes, detail }) => {
            assert_eq!(limit_bytes, 1 << 20);
            assert!(!detail.is_empty());
        }
        Err(other) => panic!("stopped, but not by the memory limit: {other}"),
        Ok(_) => panic!("ran within 1 MiB"),
    }
    // The engine still answers small queries afterwards.
    assert_eq!(engine.query("SELECT count(*) FROM packets").await.expect("small query")[0].num_rows(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_its_time_limit_stops_with_a_clear_error() {
    let limits = QueryLimits { time: Duration::from_millis(300), ..QueryLimits::DEFAULT };
    let (_data, engine) = engine_with(limits, WriterOptions::default()).await;
    let started = std::time::Instant::now();
    let sql = "SELECT sum(value) FROM generate_series(1, 100000000000)";
    match engine.query(sql).await {
        Err(error @ QueryError::TimeLimit(_)) => assert!(error.to_string().contains("time limit of 300 ms")),
        Err(other) => panic!("stopped, but not by the time limit: {other}"),
        Ok(_) => panic!("a hundred billion rows summed in time"),
    }
    assert!(started.elapsed() < Duration::from_secs(20), "the query was not stopped promptly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_on_day_reads_only_that_days_folder() {
    let (_data, engine) = engine().await;
    let plan = plan_text(&engine, "EXPLAIN SELECT sum(ip_len) FROM packets WHERE day = DATE '2026-11-21'").await;
    assert!(plan.contains("day=2026-11-21"), "{plan}");
    assert!(!plan.contains("day=2026-11-20"), "the other day's folder is read:\n{plan}");
    let through_view = plan_text(&engine, "EXPLAIN SELECT * FROM sources WHERE day = DATE '2026-11-20'").await;
    assert!(through_view.contains("day=2026-11-20") && !through_view.contains("day=2026-11-21"), "{through_view}");
}

/// The number a metric of EXPLAIN ANALYZE reports, e.g. `row_groups_pruned_statistics=5 total → 1 matched`.
fn metric<'a>(plan: &'a str, name: &str) -> &'a str {
    let start = plan.find(&format!("{name}=")).unwrap_or_else(|| panic!("no {name} in:\n{plan}"));
    let rest = &plan[start + name.len() + 1..];
    &rest[..rest.find([',', ']']).unwrap_or(rest.len())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_prune_country_address_sensor_and_port_filters() {
    // Row groups of two rows, sorted by country, source and time: each country sits in its own groups.
    let options = WriterOptions { row_group_rows: 2, ..WriterOptions::default() };
    let (_data, engine) = engine_with(QueryLimits::DEFAULT, options).await;
    for (filter, column) in [
        ("country = 'DE'", "country"),
        ("inet_in(src_ip, '203.0.113.0/24')", "src_ip"),
        ("sensor = 's2'", "sensor"),
        ("dst_port = 3389", "dst_port"),
    ] {
        let plan = plan_text(&engine, &format!("EXPLAIN SELECT count(*) FROM packets WHERE {filter}")).await;
        assert!(plan.contains("pruning_predicate") && plan.contains(&format!("{column}_min")), "{filter}:\n{plan}");
    }
    let analyzed = plan_text(&engine, "EXPLAIN ANALYZE SELECT count(*) FROM packets WHERE country = 'DE'").await;
    let pruned = metric(&analyzed, "row_groups_pruned_statistics");
    assert!(pruned.contains("1 matched"), "country: {pruned}\n{analyzed}");
    let analyzed =
        plan_text(&engine, "EXPLAIN ANALYZE SELECT count(*) FROM packets WHERE inet_in(src_ip, '203.0.113.0/24')")
            .await;
    let pruned = metric(&analyzed, "row_groups_pruned_statistics");
    assert!(!pruned.starts_with("0 "), "address: {pruned}\n{analyzed}");
    // Pruning never changes answers.
    let rows = engine.query("SELECT count(*) FROM packets WHERE inet_in(src_ip, '203.0.113.0/24')").await.unwrap();
    assert_eq!(rows[0].column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0), 5);
    assert_eq!(rows[0].column(0).len(), 1);
}
