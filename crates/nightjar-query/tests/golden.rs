//! Golden SQL tests: every view and function of the query layer on the fixed dataset of
//! `nightjar_test_kit::fixture`. Each `golden/NAME.sql` holds statements ending in `;` at the end of a
//! line; `golden/NAME.out` holds each statement followed by its result (addresses as text) or its
//! error. The expected results were worked out from the fixture by hand and checked once;
//! `NIGHTJAR_BLESS=1 cargo test --workspace --test query -- golden::` rewrites them after a deliberate
//! change, to be reviewed in the diff.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use arrow::util::pretty::pretty_format_batches;
use nightjar_query::{QueryConfig, QueryEngine, addresses_as_text, error_location};
use nightjar_test_kit::fixture;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The statements of a golden file, each with its text as written.
fn statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        if current.is_empty() && (line.trim().is_empty() || line.starts_with("--")) {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    assert!(current.trim().is_empty(), "a statement without a closing `;`: {current}");
    out
}

async fn render(engine: &QueryEngine, sql: &str) -> String {
    match engine.query_output(sql).await {
        Ok(output) => {
            let batches: Vec<_> =
                output.batches.iter().map(|batch| addresses_as_text(batch).expect("addresses as text")).collect();
            if batches.iter().all(|batch| batch.num_rows() == 0) {
                let names: Vec<_> = output.schema.fields().iter().map(|field| field.name().clone()).collect();
                return format!("(no rows; columns: {})", names.join(", "));
            }
            pretty_format_batches(&batches).expect("printable").to_string()
        }
        Err(error) => {
            let at = error_location(&error).map(|at| format!(" (line {}, column {})", at.line, at.column));
            format!("ERROR{}: {error}", at.unwrap_or_default())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_files_match() {
    let data = tempfile::tempdir().expect("temporary folder");
    fixture::write(data.path());
    let engine = QueryEngine::open(QueryConfig::new(data.path().to_string_lossy())).await.expect("dataset opens");
    let bless = std::env::var_os("NIGHTJAR_BLESS").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("golden folder")
        .map(|entry| entry.expect("golden entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden files");
    let mut mismatches = Vec::new();
    for file in files {
        let script = std::fs::read_to_string(&file).expect("golden script");
        let mut actual = String::new();
        for sql in statements(&script) {
            let result = render(&engine, &sql).await;
            write!(actual, "{sql}{result}\n\n").expect("string");
        }
        let expected_path = file.with_extension("out");
        if bless {
            std::fs::write(&expected_path, &actual).expect("golden written");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            mismatches.push(format!("{}:\n--- expected\n{expected}\n--- actual\n{actual}", expected_path.display()));
        }
    }
    assert!(mismatches.is_empty(), "golden files differ:\n{}", mismatches.join("\n"));
}
