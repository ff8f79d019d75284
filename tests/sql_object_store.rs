//! `nightjar sql --data s3://bucket/prefix` reads the dataset from S3-compatible object storage
//! in place, and `nightjar import --data s3://…` writes a table there: a real S3 API server
//! (moto, from PyPI) on loopback holds the query layer's fixed dataset, with a work-in-progress
//! file that must stay invisible, and the imported table.
//!
//! Needs `python3` with `moto[server]` (and its boto3); reported ignored without them unless
//! `NIGHTJAR_SYSTEM_TESTS=require`.

use std::path::Path;
use std::process::Command;

use nightjar_test_kit::fixture;
use nightjar_test_kit::prereq::Skipped;

use crate::support::s3::{BUCKET, S3Server};

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

/// `nightjar sql --format csv -c SQL` over the uploaded dataset, with the server's endpoint and credentials.
fn sql_over_s3(s3: &S3Server, sql: &str) -> std::process::Output {
    Command::new(NIGHTJAR)
        .args(["sql", "--data", &format!("s3://{BUCKET}/telescope/data"), "--format", "csv", "-c", sql])
        .envs(s3.env())
        .output()
        .expect("nightjar sql runs")
}

fn sql_reads_the_dataset_from_s3_compatible_storage() -> Result<(), Skipped> {
    let local = tempfile::tempdir().expect("temporary folder");
    fixture::write(local.path());
    // A file a writer has not finished: readers never see `_inprogress/`.
    let in_progress = local.path().join("_inprogress");
    std::fs::create_dir_all(&in_progress).expect("folder");
    let some_file = std::fs::read_dir(local.path().join("day=2026-11-20"))
        .expect("day folder")
        .next()
        .expect("a file")
        .expect("entry")
        .path();
    std::fs::copy(&some_file, in_progress.join("part-x.parquet")).expect("copied");

    let s3 = S3Server::start("sql_object_store")?;
    let upload = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/readers/s3_upload.py"))
        .args([&s3.endpoint, BUCKET, "telescope/data"])
        .arg(local.path())
        .output()
        .expect("python3 runs");
    assert!(upload.status.success(), "upload failed: {}", String::from_utf8_lossy(&upload.stderr));

    let out = sql_over_s3(
        &s3,
        "SELECT day, count(*) AS packets, count(DISTINCT src_ip) AS sources FROM packets GROUP BY day ORDER BY day",
    );
    assert!(out.status.success(), "nightjar sql over S3 failed: {}", String::from_utf8_lossy(&out.stderr));
    // 12 packets from 9 sources on the first day, 4 from 4 on the second (see the fixture).
    assert_eq!(String::from_utf8_lossy(&out.stdout), "day,packets,sources\n2026-11-20,12,9\n2026-11-21,4,4\n");

    // Statistics pruning on addresses works over object storage too (10 packets from 198.51.100.0/24).
    let filtered = sql_over_s3(&s3, "SELECT count(*) AS n FROM packets WHERE inet_in(src_ip, '198.51.100.0/24')");
    assert!(filtered.status.success(), "{}", String::from_utf8_lossy(&filtered.stderr));
    assert_eq!(String::from_utf8_lossy(&filtered.stdout), "n\n10\n");
    Ok(())
}

/// `nightjar import --data s3://…` with the server's settings.
fn import_to_s3(s3: &S3Server, pcap: &Path) -> std::process::Output {
    Command::new(NIGHTJAR)
        .args(["import", "--quiet", "--dark-prefix", "192.0.2.0/24", "--data", &format!("s3://{BUCKET}/imported")])
        .arg(pcap)
        .envs(s3.env())
        .output()
        .expect("nightjar import runs")
}

fn import_writes_a_table_in_object_storage_and_refuses_the_same_capture_twice() -> Result<(), Skipped> {
    let s3 = S3Server::start("sql_object_store")?;
    let dir = tempfile::tempdir().expect("temporary folder");
    let pcap = dir.path().join("week.pcap");
    let generated = Command::new(NIGHTJAR)
        .args(["generate", "--packets", "3000", "--dark-prefix", "192.0.2.0/24", "--start", "2026-11-20", "--out"])
        .arg(&pcap)
        .output()
        .expect("nightjar generate runs");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));

    let first = import_to_s3(&s3, &pcap);
    assert!(first.status.success(), "import into S3: {}", String::from_utf8_lossy(&first.stderr));
    let stdout = String::from_utf8_lossy(&first.stdout);
    let figure = |label: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no `{label}` in:\n{stdout}"))
    };
    let rows = figure("parquet rows");
    assert!(rows > 2_500, "{stdout}");
    assert_eq!(figure("table version"), 1, "one commit after the table's creation:\n{stdout}");

    let counted = Command::new(NIGHTJAR)
        .args(["sql", "--data", &format!("s3://{BUCKET}/imported"), "--format", "csv", "-c"])
        .arg("SELECT count(*) AS n FROM packets")
        .envs(s3.env())
        .output()
        .expect("nightjar sql runs");
    assert!(counted.status.success(), "{}", String::from_utf8_lossy(&counted.stderr));
    assert_eq!(String::from_utf8_lossy(&counted.stdout), format!("n\n{rows}\n"), "the table holds the import once");

    // The log remembers the capture by its contents: there is no local ledger to ask.
    let again = import_to_s3(&s3, &pcap);
    assert!(!again.status.success(), "the same capture twice must be refused");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already imported") && stderr.contains("log records"), "{stderr}");
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(sql_reads_the_dataset_from_s3_compatible_storage),
        trial!(import_writes_a_table_in_object_storage_and_refuses_the_same_capture_twice),
    ]
}
