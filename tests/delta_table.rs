//! The dataset as a Delta table, end to end: `nightjar import` commits to the table's log,
//! readers see the latest commit or the one named with `--as-of`, files outside the snapshot are
//! never read, `nightjar convert` turns a folder of layout version 1 into a table without
//! rewriting a file, and another engine (the Python `deltalake` package, DuckDB over its Arrow
//! dataset) reads the same rows.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nightjar_test_kit::harness::{Trial, trial};
use nightjar_test_kit::prereq::{Skipped, python_imports};

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

/// The tests of this module.
pub fn tests() -> Vec<Trial> {
    vec![
        trial(
            module_path!(),
            "imports_commit_versions_that_readers_can_go_back_to",
            imports_commit_versions_that_readers_can_go_back_to,
        ),
        trial(
            module_path!(),
            "a_version_1_folder_is_converted_without_rewriting_a_file",
            a_version_1_folder_is_converted_without_rewriting_a_file,
        ),
        trial(module_path!(), "an_import_into_a_relative_path_commits", an_import_into_a_relative_path_commits),
        trial(
            module_path!(),
            "a_foreign_writers_compaction_reads_the_same_and_imports_go_on",
            a_foreign_writers_compaction_reads_the_same_and_imports_go_on,
        ),
        trial(
            module_path!(),
            "python_deltalake_and_duckdb_read_what_nightjar_reads",
            python_deltalake_and_duckdb_read_what_nightjar_reads,
        ),
    ]
}

fn nightjar(args: &[&str]) -> Output {
    Command::new(NIGHTJAR).args(args).output().expect("the nightjar binary runs")
}

fn ok(args: &[&str]) -> String {
    let out = nightjar(args);
    assert!(out.status.success(), "nightjar {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A capture of `packets` generated packets over two days.
fn capture(dir: &Path, name: &str, packets: &str, seed: &str) -> PathBuf {
    let path = dir.join(name);
    ok(&["generate", "--out", text(&path), "--packets", packets, "--seed", seed, "--duration", "172800"]);
    path
}

/// The single number a `--format csv` query prints under its header.
fn number(data: &Path, extra: &[&str], sql: &str) -> u64 {
    let mut args = vec!["sql", "--data", text(data), "--format", "csv", "-c", sql];
    args.extend_from_slice(extra);
    let out = ok(&args);
    out.lines().nth(1).and_then(|line| line.trim().parse().ok()).unwrap_or_else(|| panic!("a number in {out:?}"))
}

/// Imports a generated capture into `table`; returns the rows it stored.
fn import(work: &Path, table: &Path, name: &str, packets: &str, seed: &str) -> u64 {
    imported_rows(&ok(&["import", "-q", text(&capture(work, name, packets, seed)), "--data", text(table)]))
}

fn imported_rows(summary: &str) -> u64 {
    summary
        .lines()
        .find_map(|line| line.strip_prefix("parquet rows"))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("no row count in {summary}"))
}

fn log_versions(table: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(table.join("_delta_log"))
        .expect("a log folder")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for day in fs::read_dir(dir).expect("the dataset folder").map(|e| e.expect("an entry").path()) {
        if day.file_name().is_some_and(|n| n.to_string_lossy().starts_with("day=")) {
            files.extend(fs::read_dir(&day).expect("a day folder").map(|e| e.expect("an entry").path()));
        }
    }
    files.sort();
    files
}

fn imports_commit_versions_that_readers_can_go_back_to() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let table = work.path().join("table");
    let first = import(work.path(), &table, "a.pcap", "6000", "1");
    let second = import(work.path(), &table, "b.pcap", "4000", "2");
    assert_eq!(
        log_versions(&table),
        ["00000000000000000000.json", "00000000000000000001.json", "00000000000000000002.json"],
        "creating the table, then one commit per import"
    );
    let count = "SELECT count(*) FROM packets";
    assert_eq!(number(&table, &[], count), first + second);
    assert_eq!(number(&table, &["--as-of", "1"], count), first);
    assert_eq!(number(&table, &["--as-of", "0"], count), 0);

    // A file in a day folder that no commit names (a writer that died before committing) is not
    // part of the table.
    let files = parquet_files(&table);
    let orphan = files[0].with_file_name("part-orphan-0.parquet");
    fs::copy(&files[0], &orphan).expect("a copy");
    assert_eq!(number(&table, &[], count), first + second, "the uncommitted copy is not read");

    // A published site says which version it was computed from, and --as-of recomputes it.
    let site = work.path().join("site");
    ok(&["publish", "-q", "--data", text(&table), "--out", text(&site), "--period", "day", "--as-of", "1"]);
    let package: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(site.join("data/datapackage.json")).expect("datapackage.json"))
            .expect("JSON");
    assert_eq!(package["nightjar:source"]["table_version"], 1, "{}", package["nightjar:source"]);
    let index = fs::read_to_string(site.join("index.html")).expect("index.html");
    assert!(index.contains("Computed from version 1 of the dataset") && index.contains("--as-of 1"), "footer names it");

    let refused = nightjar(&["sql", "--data", text(&table), "--as-of", "9", "-c", count]);
    assert!(!refused.status.success(), "a version that does not exist is refused");
    let refused = nightjar(&["sql", "--data", text(&table), "--as-of", "last week", "-c", count]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("neither a table version"));
}

/// `--data` as a path relative to the working folder, as users type it.
fn an_import_into_a_relative_path_commits() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let pcap = capture(work.path(), "a.pcap", "2000", "3");
    let out = Command::new(NIGHTJAR)
        .current_dir(work.path())
        .args(["import", "--quiet", "--data", "rel", text(&pcap)])
        .output()
        .expect("the nightjar binary runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = imported_rows(&String::from_utf8_lossy(&out.stdout));
    assert!(rows > 1_500);
    assert_eq!(number(&work.path().join("rel"), &[], "SELECT count(*) FROM packets"), rows);
}

fn a_version_1_folder_is_converted_without_rewriting_a_file() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let table = work.path().join("table");
    let rows = import(work.path(), &table, "a.pcap", "5000", "3");
    // The same files without a log: a dataset of layout version 1.
    let old = work.path().join("old");
    fs::create_dir_all(&old).expect("a folder");
    for file in parquet_files(&table) {
        let day = old.join(file.parent().and_then(Path::file_name).expect("a day folder"));
        fs::create_dir_all(&day).expect("a day folder");
        fs::copy(&file, day.join(file.file_name().expect("a name"))).expect("a copy");
    }
    let before: Vec<(PathBuf, Vec<u8>)> =
        parquet_files(&old).into_iter().map(|f| (f.clone(), fs::read(&f).expect("read"))).collect();

    let count = "SELECT count(*) FROM packets";
    assert_eq!(number(&old, &[], count), rows, "a version 1 folder is still read");
    let refused = nightjar(&["import", "-q", text(&capture(work.path(), "b.pcap", "100", "4")), "--data", text(&old)]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("nightjar convert"), "the refusal names the way out: {stderr}");
    let refused = nightjar(&["sql", "--data", text(&old), "--as-of", "0", "-c", count]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--as-of needs a Delta table"));

    let said = ok(&["convert", text(&old)]);
    assert!(said.contains("is now a Delta table") && said.contains("1 sensor recorded"), "{said}");
    assert_eq!(number(&old, &[], count), rows);
    let after: Vec<(PathBuf, Vec<u8>)> =
        parquet_files(&old).into_iter().map(|f| (f.clone(), fs::read(&f).expect("read"))).collect();
    assert_eq!(before, after, "no data file was rewritten, added or removed");
    let again = nightjar(&["convert", text(&old)]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("it is a table already"));

    // A mistyped path is refused, not made an empty table.
    let missing = old.with_file_name("no-such-dataset");
    let refused = nightjar(&["convert", text(&missing)]);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("no such dataset folder"));
    assert!(!missing.exists(), "nothing was created");
}

fn python_deltalake_and_duckdb_read_what_nightjar_reads() -> Result<(), Skipped> {
    python_imports("delta_table::python_deltalake", "deltalake, duckdb", "pip install deltalake duckdb")?;
    let work = tempfile::tempdir().expect("a temporary folder");
    let table = work.path().join("table");
    import(work.path(), &table, "a.pcap", "8000", "5");
    import(work.path(), &table, "b.pcap", "3000", "6");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/readers/delta_check.py");
    let out = Command::new("python3").arg(&script).arg(&table).output().expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON from the reader");

    assert_eq!(seen["version"], 2);
    assert_eq!(seen["partitions"], serde_json::json!(["day"]));
    assert_eq!(seen["rows"], number(&table, &[], "SELECT count(*) FROM packets"));
    assert_eq!(seen["first_version_rows"], number(&table, &["--as-of", "1"], "SELECT count(*) FROM packets"));
    // Unsigned columns are declared wider in the log, so values above the signed range survive.
    assert_eq!(seen["max_tcp_seq"], number(&table, &[], "SELECT max(tcp_seq) FROM packets"));
    assert_eq!(seen["max_dst_port"], number(&table, &[], "SELECT max(dst_port) FROM packets"));
    let ours = ok(&[
        "sql",
        "--data",
        text(&table),
        "--format",
        "csv",
        "-c",
        "SELECT coalesce(country, '') AS country, count(DISTINCT src_ip) AS sources FROM packets GROUP BY 1 ORDER BY 1",
    ]);
    let ours: Vec<serde_json::Value> = ours
        .lines()
        .skip(1)
        .map(|line| {
            let (country, sources) = line.rsplit_once(',').expect("two columns");
            serde_json::json!([country, sources.parse::<u64>().expect("a count")])
        })
        .collect();
    assert_eq!(seen["per_country"], serde_json::Value::Array(ours), "per-country distinct sources agree");
    Ok(())
}

/// Another program writes the table: the Python `deltalake` package compacts it (removing
/// Nightjar's files and adding one it wrote itself, with the log's widened column types). Nightjar
/// reads the same answers from that snapshot, and its next import commits after the foreign one.
fn a_foreign_writers_compaction_reads_the_same_and_imports_go_on() -> Result<(), Skipped> {
    python_imports("delta_table::foreign_writer", "deltalake", "pip install deltalake")?;
    let work = tempfile::tempdir().expect("a temporary folder");
    let table = work.path().join("table");
    let first = import(work.path(), &table, "a.pcap", "3000", "7");
    let second = import(work.path(), &table, "b.pcap", "2000", "8");
    let answers = "SELECT count(*), sum(dst_port), max(tcp_seq), count(DISTINCT src_ip), min(ip_ttl) FROM packets";
    let before = ok(&["sql", "--data", text(&table), "--format", "csv", "-c", answers]);

    let compact = "import os, sys\nfrom deltalake import DeltaTable\nt = DeltaTable(sys.argv[1])\n\
                   m = t.optimize.compact()\nprint(m['numFilesRemoved'], t.version(), flush=True)\nos._exit(0)\n";
    let out = Command::new("python3").args(["-c", compact]).arg(&table).output().expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    let (removed, version) = said.trim().split_once(' ').expect("two numbers");
    assert!(removed.parse::<u64>().expect("a count") >= 2, "the foreign compaction rewrote files: {said}");
    assert_eq!(version, "3", "the foreign commit follows the two imports");

    let after = ok(&["sql", "--data", text(&table), "--format", "csv", "-c", answers]);
    assert_eq!(after, before, "the foreign writer's files read as Nightjar's did");
    let third = import(work.path(), &table, "c.pcap", "1000", "9");
    assert_eq!(log_versions(&table).last().map(String::as_str), Some("00000000000000000004.json"));
    assert_eq!(number(&table, &[], "SELECT count(*) FROM packets"), first + second + third);
    Ok(())
}
