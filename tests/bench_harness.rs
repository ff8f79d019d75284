//! `benches/run`, the benchmark harness, at its quick size on this build's
//! `nightjar`, so that the harness cannot rot between full runs: every
//! section of the report is there, with numbers and ratios, and `nightjar
//! sql` and DuckDB agreed on every benchmark query (the harness fails
//! otherwise).
//!
//! Needs `python3` and GNU time (`time`); the peers it measures against are
//! tshark, tcpdump and Python's `duckdb`. Without one of them the test is reported ignored
//! (python3, GNU time) or checks that the report says the peer is missing —
//! unless `NIGHTJAR_SYSTEM_TESTS=require`, which makes every one mandatory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nightjar_test_kit::prereq::{self, Skipped};

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
/// A debug build needs about a minute; the bound only stops a hung run.
const TIMEOUT: Duration = Duration::from_secs(600);
/// The benchmark query pairs of `benches/queries/`, as the report names them.
const SQL_QUERIES: [&str; 5] =
    ["risk-day", "risk-week", "top-port-sources-day", "mirai-per-asn-week", "prefix16-activity"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// `Err(why)` when something the harness itself needs is missing.
fn harness_prerequisites() -> Result<(), String> {
    if !succeeds("python3", &["-c", "import sys"]) {
        return Err("python3 is not available".into());
    }
    if !(on_path("time") || Path::new("/usr/bin/time").is_file()) {
        return Err("GNU time is not installed (Debian package `time`)".into());
    }
    Ok(())
}

/// The peers that are missing here, each with how to install it.
fn missing_peers() -> Vec<&'static str> {
    let mut missing = Vec::new();
    for tool in ["tshark", "tcpdump"] {
        if !on_path(tool) {
            missing.push(tool);
        }
    }
    if !succeeds("python3", &["-c", "import duckdb"]) {
        missing.push("duckdb");
    }
    if !succeeds("python3", &["-c", "import moto.server, boto3"]) {
        missing.push("moto");
    }
    missing
}

/// The table row (a line starting `| label`) of `report`, or a panic naming what is missing.
fn row<'a>(report: &'a str, label: &str) -> &'a str {
    report
        .lines()
        .find(|line| line.starts_with(&format!("| {label}")))
        .unwrap_or_else(|| panic!("the report has no row for `{label}`:\n{report}"))
}

fn has_number_before(cell: &str, unit: &str) -> bool {
    cell.split(unit)
        .next()
        .and_then(|before| before.split_whitespace().last())
        .is_some_and(|n| n.replace(',', "").parse::<f64>().is_ok_and(|v| v > 0.0))
}

fn cells(line: &str) -> Vec<&str> {
    line.trim_matches('|').split('|').map(str::trim).collect()
}

fn quick_run_reports_every_section_with_figures_and_ratios() -> Result<(), Skipped> {
    harness_prerequisites().map_err(|why| prereq::missing("bench_harness", why))?;
    let missing = missing_peers();
    if !missing.is_empty() && !prereq::required() {
        eprintln!("bench_harness: peers missing here, checked as reported missing: {missing:?}");
    }
    let work = tempfile::tempdir().expect("temporary folder");
    let out = work.path().join("BENCHMARKS.md");
    let mut cmd = Command::new("python3");
    cmd.arg(repo_root().join("benches/run"))
        .args(["--size", "quick", "--skip-criterion", "--cargo-profile", "dev", "--sql-runs", "2"])
        .arg("--nightjar-bin")
        .arg(NIGHTJAR)
        .arg("--out")
        .arg(&out)
        .arg("--work")
        .arg(work.path())
        .current_dir(repo_root());
    // To a file, not a pipe: nothing reads a pipe while the harness runs, and a full one would stall it.
    let log_path = work.path().join("harness.log");
    let log = std::fs::File::create(&log_path).expect("harness log file");
    cmd.stdout(log.try_clone().expect("harness log file")).stderr(log);
    if prereq::required() {
        cmd.arg("--require-peers");
    }
    let mut child = cmd.spawn().expect("python3 runs benches/run");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for benches/run") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("benches/run took more than {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(200));
    };
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.success(), "benches/run failed ({status}):\n{log}");
    let report = std::fs::read_to_string(&out).expect("benches/run wrote --out");

    for heading in [
        "# Nightjar benchmarks",
        "## Pipeline: decode, import, collector ingest, bytes on disk",
        "## SQL: nightjar sql against DuckDB",
        "### 200,000 packets",
    ] {
        assert!(report.contains(heading), "the report has no `{heading}`:\n{report}");
    }
    assert!(has_number_before(cells(row(&report, "generate"))[1], "packets/s"), "{report}");
    let import = cells(row(&report, "nightjar import"));
    assert!(has_number_before(import[1], "packets/s") && import[2].contains("wall"), "{report}");
    for (tool, label) in [("tshark", "tshark -T fields"), ("tcpdump", "tcpdump -nr")] {
        let peer = cells(row(&report, label));
        if missing.contains(&tool) {
            assert_eq!(peer[1], "not installed", "{report}");
        } else {
            assert!(has_number_before(peer[1], "packets/s") && has_number_before(peer[2], "×"), "{report}");
        }
    }
    let ingest = cells(row(&report, "collector ingest,"));
    assert!(has_number_before(ingest[1], "rows/s") && ingest[2].contains("goal ≥ 5 M rows/s/core"), "{report}");
    let table = cells(row(&report, "collector ingest into a Delta table on the local disk"));
    assert!(has_number_before(table[1], "rows/s") && has_number_before(table[2], "×"), "{report}");
    let s3 = cells(row(&report, "collector ingest into a Delta table on an S3 API server"));
    if missing.contains(&"moto") {
        assert_eq!(s3[1], "not measured", "{report}");
    } else {
        assert!(has_number_before(s3[1], "rows/s") && has_number_before(s3[2], "×"), "{report}");
    }
    let freshness = cells(row(&report, "freshness"));
    assert!(has_number_before(freshness[1], "s,") && freshness[2].contains("goal p99 ≤ 10 s"), "{report}");
    let bytes = cells(row(&report, "bytes per packet"));
    assert!(has_number_before(bytes[1], "B") && bytes[2].contains("pcap.gz"), "{report}");

    for stem in SQL_QUERIES {
        let line = report
            .lines()
            .find(|line| line.contains(&format!("(`{stem}`)")))
            .unwrap_or_else(|| panic!("the SQL table has no `{stem}` row:\n{report}"));
        let sql = cells(line);
        // query | rows | nightjar | engine | DuckDB | nightjar / DuckDB | engine / DuckDB | RSS | RSS
        assert!(sql[1].parse::<u64>().is_ok_and(|rows| rows > 0), "{stem} returned no rows:\n{report}");
        assert!(has_number_before(sql[2], "s") && has_number_before(sql[3], "s"), "{line}");
        assert!(has_number_before(sql[7], "MiB"), "{line}");
        if missing.contains(&"duckdb") {
            assert!(sql[4].starts_with("not installed"), "{line}");
        } else {
            assert!(has_number_before(sql[4], "s") && has_number_before(sql[8], "MiB"), "{line}");
            assert!(sql[5].parse::<f64>().is_ok_and(|r| r > 0.0), "no nightjar/DuckDB ratio: {line}");
        }
    }
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![trial!(quick_run_reports_every_section_with_figures_and_ratios)]
}
