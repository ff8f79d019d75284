//! The distinct counts of `golden/distinct_counts.sql` give DataFusion's own answers: each
//! statement runs on the engine (the project's `count` and plan rules) and on a plain DataFusion
//! session over the same files (built-in `count`, every built-in rule).

use std::path::Path;

use arrow::datatypes::{DataType, Schema};
use arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use nightjar_query::{DAY_COLUMN, QueryConfig, QueryEngine, addresses_as_text, packets_schema};
use nightjar_test_kit::fixture;

/// The statements of a golden script: each ends with `;` at the end of a line.
fn statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in script.lines().filter(|line| !line.starts_with("--")) {
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

fn printed(batches: &[arrow::array::RecordBatch]) -> String {
    let batches: Vec<_> = batches.iter().map(|batch| addresses_as_text(batch).expect("addresses as text")).collect();
    pretty_format_batches(&batches).expect("printable").to_string()
}

/// A plain DataFusion session with the dataset's files as `packets`.
async fn plain_session(root: &Path) -> SessionContext {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
    let with_day = packets_schema();
    let fields: Vec<_> = with_day.fields().iter().filter(|field| field.name() != DAY_COLUMN).cloned().collect();
    let schema = Schema::new(fields);
    let options =
        ParquetReadOptions::default().schema(&schema).table_partition_cols(vec![(DAY_COLUMN.into(), DataType::Date32)]);
    ctx.register_parquet("packets", root.to_string_lossy().as_ref(), options).await.expect("files registered");
    ctx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_counts_match_datafusion_without_the_project_paths() {
    let data = tempfile::tempdir().expect("temporary folder");
    fixture::write(data.path());
    let engine = QueryEngine::open(QueryConfig::new(data.path().to_string_lossy())).await.expect("dataset opens");
    let plain = plain_session(data.path()).await;
    let script =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/distinct_counts.sql"))
            .expect("golden script");
    let statements = statements(&script);
    assert!(statements.len() >= 10, "the script's statements: {}", statements.len());
    for sql in statements {
        let ours = engine.query(&sql).await.unwrap_or_else(|error| panic!("{sql}: {error}"));
        let theirs = plain.sql(&sql).await.expect("planned").collect().await.expect("ran");
        assert_eq!(printed(&ours), printed(&theirs), "{sql}");
        assert!(ours.iter().map(|b| b.num_rows()).sum::<usize>() > 0 || sql.contains("255"), "{sql} has rows");
    }
    // The files really are the engine's table: the plain session sees every packet.
    let count = plain.sql("SELECT count(*) FROM packets").await.expect("planned").collect().await.expect("ran");
    let total = engine.query("SELECT count(*) FROM packets").await.expect("ran");
    assert_eq!(printed(&count), printed(&total));
}
