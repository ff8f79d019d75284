//! The dataset `nightjar import` writes opens in DuckDB and pyarrow (the real
//! Python packages) with the schema of `schemas/`, and both agree with the
//! import's own counts and with `nightjar sql` on rows, classes and
//! distinct sources per country.
//!
//! Needs `python3` with `duckdb` and `pyarrow` (`pip install duckdb pyarrow`);
//! reported ignored without them unless `NIGHTJAR_SYSTEM_TESTS=require`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use nightjar_test_kit::prereq::{self, Skipped};
use nightjar_test_kit::summary::count;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run_nightjar(args: &[&str]) -> String {
    let out = Command::new(NIGHTJAR).args(args).output().expect("the nightjar binary runs");
    assert!(out.status.success(), "nightjar {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("nightjar prints UTF-8")
}

fn duckdb_and_pyarrow_read_the_imported_dataset_and_agree_with_the_import() -> Result<(), Skipped> {
    prereq::python_imports("parquet_readers", "duckdb, pyarrow", "pip install -r .ci/python-requirements.txt")?;
    let work = tempfile::tempdir().unwrap();
    let pcap = work.path().join("dark.pcap");
    let dataset = work.path().join("dataset");
    let pcap_text = pcap.to_str().unwrap();
    run_nightjar(&[
        "generate",
        "--out",
        pcap_text,
        "--packets",
        "20000",
        "--seed",
        "3",
        "--dark-prefix",
        "192.0.2.0/24",
        "--dark-prefix",
        "2001:db8::/32",
    ]);
    let summary = run_nightjar(&["import", pcap_text, "--out", dataset.to_str().unwrap(), "--quiet"]);
    let kept = count(&summary, "records kept");
    assert_eq!(count(&summary, "parquet rows"), kept);
    assert!(kept > 19_000, "most generated frames are valid packets:\n{summary}");

    let doc = repo_root().join("schemas/packet-record-v1.md");
    let out = Command::new("python3")
        .arg(repo_root().join("tests/readers/check_dataset.py"))
        .arg(&dataset)
        .arg(&doc)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "check_dataset.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).expect("check_dataset.py prints JSON");

    for reader in ["duckdb", "pyarrow"] {
        assert_eq!(seen[reader]["rows"], kept, "{reader} row count");
        for class in ["scan", "backscatter", "other"] {
            let expected = count(&summary, class);
            let got = seen[reader]["classes"][class].as_u64().unwrap_or(0);
            assert_eq!(got, expected, "{reader}: records of class {class}");
        }
    }

    // Distinct sources per country, attributed at import from the bundled database.
    assert_eq!(seen["duckdb"]["countries"], seen["pyarrow"]["countries"], "per-country distinct sources");
    let countries = seen["duckdb"]["countries"].as_object().unwrap();
    assert!(countries.len() > 20, "generated sources span many countries: {countries:?}");

    // `nightjar sql` over the same files gives the same answers.
    let data = dataset.to_str().unwrap();
    let ours = run_nightjar(&[
        "sql",
        "--data",
        data,
        "--format",
        "jsonl",
        "-c",
        "SELECT count(*) AS n FROM packets",
        "-c",
        "SELECT coalesce(country, '--') AS country, count(DISTINCT src_ip) AS sources FROM packets GROUP BY 1",
        "-c",
        "SELECT class, count(*) AS n FROM packets GROUP BY class",
    ]);
    let lines: Vec<Value> = ours.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    assert_eq!(lines[0]["n"], kept, "nightjar sql row count");
    let sql_countries: serde_json::Map<String, Value> = lines
        .iter()
        .filter(|line| line.get("sources").is_some())
        .map(|line| (line["country"].as_str().unwrap().to_owned(), line["sources"].clone()))
        .collect();
    assert_eq!(&sql_countries, countries, "nightjar sql vs DuckDB: distinct sources per country");
    for line in lines.iter().filter(|line| line.get("class").is_some()) {
        let class = line["class"].as_str().unwrap();
        assert_eq!(line["n"], seen["duckdb"]["classes"][class], "nightjar sql vs DuckDB: class {class}");
    }

    // Every column of the contract, in order, then the hive partition column.
    let contract: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("schemas/packet-record-v1.json")).unwrap())
            .unwrap();
    let documented: Vec<&str> =
        contract["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for reader in ["duckdb", "pyarrow"] {
        let names: Vec<&str> =
            seen[reader]["columns"].as_array().unwrap().iter().map(|c| c[0].as_str().unwrap()).collect();
        assert_eq!(&names[..documented.len()], &documented[..], "{reader} columns");
        assert_eq!(names[documented.len()..], ["day"], "{reader} partition column");
    }
    // The type `reader` gives the column `name`.
    let column_type = |reader: &str, name: &str| {
        seen[reader]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c[0] == name)
            .map(|c| c[1].as_str().unwrap().to_string())
    };
    assert_eq!(column_type("pyarrow", "src_ip").as_deref(), Some("fixed_size_binary[16]"));
    assert_eq!(column_type("pyarrow", "time").as_deref(), Some("timestamp[us, tz=UTC]"));
    assert_eq!(column_type("pyarrow", "dst_port").as_deref(), Some("uint16"));
    assert_eq!(column_type("duckdb", "src_ip").as_deref(), Some("BLOB"));
    assert_eq!(column_type("duckdb", "time").as_deref(), Some("TIMESTAMP WITH TIME ZONE"));
    assert_eq!(seen["pyarrow"]["metadata"]["nightjar.schema_version"], "1");

    // The schema document's DuckDB macro prints the same addresses as Python's ipaddress.
    assert!(seen["addresses_compared"].as_u64().unwrap() > 100);
    assert!(seen["ipv6_addresses_compared"].as_u64().unwrap() > 0, "the IPv6 branch of the macro is exercised");
    assert_eq!(seen["address_mismatches"], Value::Array(vec![]), "DuckDB macro vs ipaddress");
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![trial!(duckdb_and_pyarrow_read_the_imported_dataset_and_agree_with_the_import)]
}
