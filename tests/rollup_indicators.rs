//! Indicators from the `source_days` rollup equal indicators from the packets: on generated
//! traffic over 60 days, for every risk, period kind (day, week, month, year), grouping (country,
//! ASN) and both exclusion switches; and DuckDB's own count over the packets' Parquet files
//! agrees with the rollup's on a sample (days and weeks per country, default exclusions).
//!
//! The DuckDB comparison needs `python3` with `duckdb`; that part is reported ignored without it
//! unless `NIGHTJAR_SYSTEM_TESTS=require`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Date32Type, Int64Type};
use arrow::util::display::array_value_to_string;
use chrono::NaiveDate;
use nightjar_query::{QueryConfig, QueryEngine};
use nightjar_risk::{Exclusions, Grouping, IndicatorQuery, PeriodKind, Taxonomy};
use nightjar_test_kit::prereq::{self, Skipped};

use crate::support::risk_data::{Traffic, generate_and_import, nightjar};

const FIRST_DAY: &str = "2026-09-01";
const DAYS: u64 = 60;

/// Generated traffic over [`DAYS`] days, imported and rolled up.
fn rolled_up_dataset(work: &Path) -> std::path::PathBuf {
    // About 400 packets a day keeps the test quick and still gives every risk sources.
    let traffic = Traffic {
        packets: 24_000,
        seed: 61,
        start: FIRST_DAY,
        seconds: DAYS * 86_400,
        dark_prefixes: &["192.0.2.0/24", "2001:db8:7::/48"],
    };
    let data = generate_and_import(work, &traffic, &[]);
    let out = nightjar(&["rollup", "--data", data.to_str().expect("UTF-8")]);
    assert!(out.contains(&format!("{DAYS} of {DAYS} days rolled up")), "{out}");
    data
}

/// Every row of `batches` as text, one line per row, sorted.
fn lines(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .map(|column| array_value_to_string(column, row).expect("a printable value"))
                .collect();
            out.push(cells.join("|"));
        }
    }
    out.sort();
    out
}

fn indicators_from_rollups_equal_indicators_from_packets() -> Result<(), Skipped> {
    let work = tempfile::tempdir().expect("a temporary folder");
    let data = rolled_up_dataset(work.path());
    let taxonomy = Taxonomy::embedded();
    let from: NaiveDate = FIRST_DAY.parse().expect("a date");
    let to = from + chrono::Days::new(DAYS - 1);
    nightjar_test_kit::harness::block_on(async {
        let engine = QueryEngine::open(QueryConfig::new(data.to_str().expect("UTF-8"))).await.expect("opened");
        let mut compared = 0;
        let mut nonzero = BTreeMap::new();
        for by in [Grouping::Country, Grouping::Asn] {
            for kind in [PeriodKind::Day, PeriodKind::Week, PeriodKind::Month, PeriodKind::Year] {
                for (research, spoofed) in [(true, true), (true, false), (false, true), (false, false)] {
                    let query = IndicatorQuery {
                        kind,
                        from,
                        to,
                        by,
                        risks: taxonomy.risks().to_vec(),
                        exclusions: Exclusions { research, spoofed },
                    };
                    let from_packets = lines(&engine.query(&query.sql(taxonomy.risks())).await.expect("packets"));
                    let from_rollups = lines(&engine.query(&query.rollup_sql()).await.expect("rollups"));
                    let what = format!("{} per {kind}, {}", by.name(), query.exclusions.describe());
                    assert!(!from_packets.is_empty(), "{what}: no rows");
                    let differ: Vec<String> = from_packets
                        .iter()
                        .zip(&from_rollups)
                        .filter(|(a, b)| a != b)
                        .take(5)
                        .map(|(a, b)| format!("packets {a}\nrollups {b}"))
                        .collect();
                    assert!(
                        differ.is_empty() && from_packets.len() == from_rollups.len(),
                        "{what}: {} rows from packets, {} from rollups; first differences:\n{}",
                        from_packets.len(),
                        from_rollups.len(),
                        differ.join("\n")
                    );
                    compared += from_packets.len();
                    *nonzero.entry(what).or_insert(0) += from_packets.len();
                }
            }
        }
        // 2 groupings × 4 kinds × 4 switch settings, each with rows.
        assert_eq!(nonzero.len(), 32);
        assert!(compared > 5_000, "a realistic comparison: {compared} rows");
    });
    duckdb_agrees_with_the_rollups(&data, &taxonomy, from, to)
}

/// DuckDB's count over the packets (tests/readers/risk_counts.py) equals the rollup's for days and
/// weeks per country with the default exclusions.
fn duckdb_agrees_with_the_rollups(
    data: &Path,
    taxonomy: &Taxonomy,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(), Skipped> {
    prereq::python_imports(
        "rollup_indicators duckdb comparison",
        "duckdb",
        "pip install -r .ci/python-requirements.txt",
    )?;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for kind in [PeriodKind::Day, PeriodKind::Week] {
        let query = IndicatorQuery {
            kind,
            from,
            to,
            by: Grouping::Country,
            risks: taxonomy.risks().to_vec(),
            exclusions: Exclusions::default(),
        };
        let batches = nightjar_test_kit::harness::block_on(async {
            let engine = QueryEngine::open(QueryConfig::new(data.to_str().expect("UTF-8"))).await.expect("opened");
            engine.query(&query.rollup_sql()).await.expect("rollups")
        });
        let mut ours = BTreeMap::new();
        for batch in &batches {
            let starts = batch.column(0).as_primitive::<Date32Type>();
            let countries = batch.column(1);
            for (index, risk) in taxonomy.risks().iter().enumerate() {
                let counts = batch.column(2 + index).as_primitive::<Int64Type>();
                for row in 0..batch.num_rows() {
                    let start = starts.value_as_date(row).expect("a date");
                    if counts.is_null(row) || counts.value(row) == 0 {
                        continue;
                    }
                    let country = array_value_to_string(countries, row).expect("a country");
                    let key = format!("{}|{country}|{}", kind.label(start), risk.slug);
                    ours.insert(key, u64::try_from(counts.value(row)).expect("a count"));
                }
            }
        }
        let out = Command::new("python3")
            .arg(repo.join("tests/readers/risk_counts.py"))
            .arg(data)
            .arg(kind.name())
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "risk_counts.py failed: {}", String::from_utf8_lossy(&out.stderr));
        let theirs: BTreeMap<String, u64> = serde_json::from_slice(&out.stdout).expect("risk_counts.py prints JSON");
        assert!(ours.len() > 500, "many (period, country, risk) rows: {}", ours.len());
        let differ: Vec<String> = ours
            .keys()
            .chain(theirs.keys())
            .filter(|key| ours.get(*key) != theirs.get(*key))
            .take(10)
            .map(|key| format!("{key}: rollups {:?}, duckdb {:?}", ours.get(key), theirs.get(key)))
            .collect();
        assert!(differ.is_empty(), "per {kind}:\n{}", differ.join("\n"));
    }
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![trial!(indicators_from_rollups_equal_indicators_from_packets)]
}
