//! The sensor's spool runs out of room while the collector is down, with
//! the spool on a small tmpfs (so this needs root; it is reported ignored
//! without it, unless `NIGHTJAR_SYSTEM_TESTS=require`):
//!
//! - the size bound (`spool.max_bytes`) is reached first: the oldest
//!   batches are dropped, never the newest, and counted
//!   (`dropped, spool full`);
//! - the file system fills first (bound above the disk): the batch that
//!   cannot be written is lost and counted (`spool write errors`), and the
//!   sensor goes on.
//!
//! Either way, once the collector is back, what the dataset lacks is exactly
//! what the sensor reported dropped, row for row, and nothing is stored
//! twice (see `crates/nightjar-sensor/src/spool/mod.rs`, "Full spool").

use std::process::Command;
use std::time::{Duration, Instant};

use nightjar_test_kit::collector_process::CollectorProcess;
use nightjar_test_kit::conservation;
use nightjar_test_kit::conservation::{Collected, SensorSetup};
use nightjar_test_kit::ports::ReservedPort;
use nightjar_test_kit::prereq::Skipped;
use nightjar_test_kit::replay_capture::make_capture;
use nightjar_test_kit::tmpfs::Tmpfs;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
const PACKETS: u64 = 60_000;

/// What one run of the scenario showed.
struct Outcome {
    stdout: String,
    per_batch: std::collections::BTreeMap<u64, u64>,
    tally: conservation::Tally,
    missing: u64,
}

/// Replay `PACKETS` packets fast into a spool on a tmpfs of `fs_size` with
/// `max_bytes`, the collector down; then start the collector and let the
/// sensor drain and exit.
fn run(test: &str, sensor: &str, fs_size: &str, max_bytes: &str) -> Result<Outcome, Skipped> {
    let dir = tempfile::tempdir().unwrap();
    let spool_fs = dir.path().join("spool-fs");
    let _mount = Tmpfs::mount(test, &spool_fs, fs_size)?;
    // The collector (re)starts on this port; the reservation keeps it ours meanwhile.
    let reserved = ReservedPort::loopback();
    let port = reserved.port();
    let collector_config = dir.path().join("collector.toml");
    std::fs::write(&collector_config, conservation::collector_toml(&format!("127.0.0.1:{port}"), 0)).unwrap();
    conservation::add_sensor(NIGHTJAR, &collector_config, sensor, &dir.path().join("sensor.token"));

    let (pcap, mut ingest) = make_capture(dir.path(), "replay.pcap", PACKETS, 41, 60);
    let kept = ingest.counters().kept;
    let expected = conservation::packet_keys(&[ingest.finish_batch(sensor, 0)]);
    let url = format!("http://127.0.0.1:{port}");
    let spool_extra = format!("max_bytes = \"{max_bytes}\"");
    let config = conservation::write_sensor_config(
        dir.path(),
        &SensorSetup {
            id: sensor,
            url: &url,
            pcap: &pcap,
            pace: "fast",
            uplink: "",
            spool_dir: &spool_fs.join("spool"),
            spool: &spool_extra,
        },
    );
    let mut sensor_process = Collected::spawn(
        Command::new(NIGHTJAR).args(["sensor", "--config"]).arg(&config).env("NIGHTJAR_LOG", "info"),
        "the sensor",
    );
    // The collector stays down until the whole capture has been read (the
    // periodic counters line says so) and the last batch closed.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !sensor_process.stderr().contains(&format!("captured={PACKETS} ")) {
        assert!(sensor_process.running(), "the sensor keeps running:\n{}", sensor_process.stderr());
        assert!(Instant::now() < deadline, "the sensor did not read the capture:\n{}", sensor_process.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let collector = CollectorProcess::start(NIGHTJAR, &collector_config);
    let (stdout, _) = sensor_process.wait(Duration::from_secs(180));
    drop(collector);
    assert_eq!(conservation::sensor_line(&stdout, "packets kept").0, kept, "{stdout}");

    let stored = conservation::committed_batches(&dir.path().join("data"));
    let actual = conservation::packet_keys(&stored);
    let per_batch = conservation::seqs_of(&conservation::rows_per_batch(&stored), sensor);
    let tally = conservation::compare(&expected, &actual);
    let missing = conservation::missing(&expected, &actual).values().sum();
    Ok(Outcome { stdout, per_batch, tally, missing })
}

/// The scenario's conservation figures: packets replayed, rows the sensor reported dropped or
/// lost, rows missing from the dataset, the missing rows it did not report, and duplicates.
fn report(scenario: &str, tally: &conservation::Tally, missing: u64, reported: u64) {
    conservation::report(
        scenario,
        &[
            ("packets", tally.expected.to_string()),
            ("dropped_reported", reported.to_string()),
            ("missing", missing.to_string()),
            ("lost", (missing - reported).to_string()),
            ("duplicated", tally.duplicated.to_string()),
        ],
    );
}

fn a_spool_at_its_bound_drops_the_oldest_batches_counted_exactly() -> Result<(), Skipped> {
    let Outcome { stdout, per_batch, tally, missing } = run("fault_spool_full (bound)", "spool-bound", "16m", "1 MiB")?;
    let (dropped_batches, dropped_rows) = conservation::sensor_line(&stdout, "dropped, spool full");
    let (write_errors, _) = conservation::sensor_line(&stdout, "spool write errors");
    assert!(dropped_batches > 0, "the replay overflowed the 1 MiB bound:\n{stdout}");
    assert_eq!(write_errors, 0, "the file system had room; only the bound dropped:\n{stdout}");
    assert_eq!(missing, dropped_rows, "the dataset lacks exactly the rows the sensor said it dropped:\n{stdout}");
    assert_eq!((tally.duplicated, tally.unexpected), (0, 0), "{tally:?}");
    // Numbers 1..=max were all used; the dropped ones are the oldest: what
    // is stored is the newest run of numbers (plus, at most, the batch that
    // was in flight when the bound was hit, which is never evicted).
    let seqs: Vec<u64> = per_batch.keys().copied().collect();
    let max = *seqs.last().expect("batches were stored");
    assert_eq!(dropped_batches, max - seqs.len() as u64, "stored {seqs:?}");
    let tail = if seqs.len() > 1 && seqs[1] > seqs[0] + 1 { &seqs[1..] } else { &seqs[..] };
    assert!(tail.windows(2).all(|w| w[1] == w[0] + 1), "the newest batches are kept: {seqs:?}");
    assert_eq!(*tail.last().unwrap() - tail[0] + 1, tail.len() as u64);
    assert!(tail[0] > 1 + dropped_batches / 2, "the kept run is the newest: {seqs:?}");
    report("spool_bound", &tally, missing, dropped_rows);
    Ok(())
}

fn a_full_spool_disk_loses_the_unwritable_batches_counted_exactly() -> Result<(), Skipped> {
    let Outcome { stdout, per_batch, tally, missing } =
        run("fault_spool_full (disk full)", "spool-disk", "512k", "64 MiB")?;
    let (write_errors, lost_rows) = conservation::sensor_line(&stdout, "spool write errors");
    let (dropped_batches, dropped_rows) = conservation::sensor_line(&stdout, "dropped, spool full");
    assert!(write_errors > 0, "the 512 KiB file system filled up:\n{stdout}");
    assert_eq!(dropped_batches, 0, "the bound was never reached:\n{stdout}");
    assert_eq!(missing, lost_rows + dropped_rows, "the dataset lacks exactly the rows reported lost:\n{stdout}");
    assert_eq!((tally.duplicated, tally.unexpected), (0, 0), "{tally:?}");
    assert!(!per_batch.is_empty(), "the batches that fitted were delivered");
    report("spool_disk_full", &tally, missing, lost_rows);
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(a_spool_at_its_bound_drops_the_oldest_batches_counted_exactly),
        trial!(a_full_spool_disk_loses_the_unwritable_batches_counted_exactly),
    ]
}
