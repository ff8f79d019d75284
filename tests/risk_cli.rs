//! `nightjar risk` end to end: its counts agree exactly with DuckDB's own SQL
//! over the same Parquet, `--show-sql` prints readable SQL, and bad
//! arguments get clear errors.
//!
//! The DuckDB comparison needs `python3` with `duckdb`; it is reported ignored without it
//! unless `NIGHTJAR_SYSTEM_TESTS=require`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::risk_data;
use nightjar_test_kit::prereq::{self, Skipped};

use risk_data::{NIGHTJAR, dataset, nightjar};

fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `nightjar risk --format json` rows as "period|country|risk" → sources.
fn nightjar_counts(data: &Path, period: &str) -> BTreeMap<String, u64> {
    let out = nightjar(&["risk", "--data", data.to_str().unwrap(), "--period", period, "--format", "json"]);
    let report: Value = serde_json::from_str(&out).expect("risk prints JSON");
    assert_eq!(report["research_scanners_excluded"], true);
    assert_eq!(report["likely_spoofed_excluded"], true);
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            let key = format!(
                "{}|{}|{}",
                row["period"].as_str().unwrap(),
                row["country"].as_str().unwrap(),
                row["risk"].as_str().unwrap()
            );
            (key, row["sources"].as_u64().unwrap())
        })
        .collect()
}

fn duckdb_counts_the_same_distinct_sources_per_country_day_and_week() -> Result<(), Skipped> {
    prereq::python_imports("risk_cli duckdb comparison", "duckdb", "pip install -r .ci/python-requirements.txt")?;
    let work = tempfile::tempdir().unwrap();
    let data = dataset(work.path());
    for period in ["day", "week"] {
        let ours = nightjar_counts(&data, period);
        let out = Command::new("python3")
            .arg(repo_root().join("tests/readers/risk_counts.py"))
            .arg(&data)
            .arg(period)
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "risk_counts.py failed: {}", String::from_utf8_lossy(&out.stderr));
        let theirs: BTreeMap<String, u64> = serde_json::from_slice(&out.stdout).expect("risk_counts.py prints JSON");
        assert!(ours.len() > 100, "a realistic dataset has many (period, country, risk) rows: {}", ours.len());
        assert!(ours.keys().any(|k| k.ends_with("|mirai")) && ours.keys().any(|k| k.ends_with("|ddos-victim")));
        let differ: Vec<String> = ours
            .keys()
            .chain(theirs.keys())
            .filter(|k| ours.get(*k) != theirs.get(*k))
            .map(|k| format!("{k}: nightjar {:?}, duckdb {:?}", ours.get(k), theirs.get(k)))
            .collect();
        assert!(differ.is_empty(), "per {period}, {} rows differ:\n{}", differ.len(), differ.join("\n"));
    }
    Ok(())
}

fn show_sql_prints_the_query_and_bad_arguments_are_explained() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("empty");
    std::fs::create_dir_all(&data).unwrap();
    let data_text = data.to_str().unwrap();
    let sql = nightjar(&[
        "risk",
        "--data",
        data_text,
        "--period",
        "month",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--risk",
        "telnet",
        "--show-sql",
    ]);
    assert!(sql.contains("WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-30'"), "{sql}");
    assert!(sql.contains("CAST(date_trunc('month', day) AS DATE) AS period_start"), "{sql}");
    assert!(sql.contains("AS \"telnet\""), "{sql}");
    assert!(sql.contains("count(DISTINCT dst_ip) AS dark_addresses"), "{sql}");
    let included = nightjar(&[
        "risk",
        "--data",
        data_text,
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-02",
        "--include-research",
        "--include-spoofed",
        "--show-sql",
    ]);
    assert!(!included.contains("research IS NULL") && !included.contains("spoof IS NULL"), "{included}");
    assert!(included.contains("research scanners included; likely-spoofed packets included"), "{included}");

    let run = |args: &[&str]| Command::new(NIGHTJAR).args(args).output().expect("nightjar runs");
    let unknown = run(&["risk", "--data", data_text, "--from", "2026-11-01", "--to", "2026-11-02", "--risk", "nope"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown risk `nope`; known risks: mirai, telnet"));
    let backwards = run(&["risk", "--data", data_text, "--from", "2026-11-05", "--to", "2026-11-02"]);
    assert!(String::from_utf8_lossy(&backwards.stderr).contains("swap --from and --to"), "{backwards:?}");
    let period = run(&["risk", "--data", data_text, "--period", "fortnight"]);
    assert!(String::from_utf8_lossy(&period.stderr).contains("use day, week, month, quarter or year"), "{period:?}");
    // An empty dataset over given days: coverage 0 and no rows, not an error.
    let empty =
        nightjar(&["risk", "--data", data_text, "--period", "day", "--from", "2026-11-01", "--to", "2026-11-01"]);
    assert!(empty.contains("# coverage 2026-11-01: 0 sensors, 0 dark addresses observed"), "{empty}");
}

fn risk_and_publish_share_options_defaults_and_formats() {
    let work = tempfile::tempdir().unwrap();
    let data = dataset(work.path());
    let data_text = data.to_str().unwrap();
    // The default period is the month, as in `publish`.
    let json: Value = serde_json::from_str(&nightjar(&["risk", "--data", data_text, "--format", "json"])).unwrap();
    assert_eq!(json["period"], "month", "{}", json["period"]);
    assert!(json["rows"].as_array().unwrap().iter().all(|row| row["period"] == "2026-11"), "{json}");
    // jsonl: the same rows, one JSON object per line.
    let lines = nightjar(&["risk", "--data", data_text, "--format", "jsonl"]);
    let rows: Vec<Value> =
        lines.lines().map(|line| serde_json::from_str(line).expect("a JSON object per line")).collect();
    assert_eq!(Value::Array(rows), json["rows"]);
    // The geo options of every reading command.
    for command in ["risk", "publish", "lookup", "sql", "serve-sql"] {
        let help = nightjar(&[command, "--help"]);
        for option in ["--data <DIR|URL>", "--country-db", "--asn-db"] {
            assert!(help.contains(option), "{command} has no {option}:\n{help}");
        }
    }
    // One sensor, said in the singular.
    let table = nightjar(&["risk", "--data", data_text, "--risk", "any"]);
    assert!(table.contains(": 1 sensor, "), "{table}");
    // The parent folder of a dataset names the dataset.
    for command in ["risk", "publish"] {
        let mut args = vec![command, "--data", work.path().to_str().unwrap()];
        if command == "publish" {
            args.extend(["--out", "/tmp/unused-site"]);
        }
        let out = Command::new(NIGHTJAR).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("--data {data_text}")), "{stderr}");
    }
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(duckdb_counts_the_same_distinct_sources_per_country_day_and_week),
        trial!(show_sql_prints_the_query_and_bad_arguments_are_explained),
        trial!(risk_and_publish_share_options_defaults_and_formats),
    ]
}
