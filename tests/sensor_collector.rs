//! The two real binaries against each other: `nightjar sensor` replays a
//! capture and uploads it over HTTPS (trusting the collector's certificate
//! through `uplink.ca_file`) to `nightjar collector`, which writes the
//! Parquet dataset. Every packet the sensor keeps ends up as a row, once.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nightjar_test_kit::collector_process::{CollectorProcess, write_tls_collector};
use nightjar_test_kit::ports::ReservedPort;
use nightjar_test_kit::replay_capture::make_capture;
use nightjar_test_kit::sensor_toml::SensorToml;

// Each test uses part of the shared helper.

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
const TIMEOUT: Duration = Duration::from_secs(90);

fn nightjar(args: &[&str]) -> std::process::Output {
    Command::new(NIGHTJAR).args(args).output().expect("nightjar runs")
}

/// Rows in the committed Parquet files of a dataset folder.
fn dataset_rows(dir: &Path) -> u64 {
    let mut rows = 0;
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('_') || name.starts_with('.') {
                continue; // in-progress and hidden files are not part of the dataset
            }
            if path.is_dir() {
                folders.push(path);
            } else if name.ends_with(".parquet") {
                let file = std::fs::File::open(&path).unwrap();
                let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
                rows += parquet::file::reader::FileReader::metadata(&reader).file_metadata().num_rows() as u64;
            }
        }
    }
    rows
}

/// Wait for the sensor to finish its replay and drain its spool; its stdout.
fn wait_for_sensor(sensor: Child) -> String {
    let mut sensor = sensor;
    let deadline = Instant::now() + TIMEOUT;
    while sensor.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = sensor.kill();
            panic!("the sensor did not drain its spool within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = sensor.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn sensor_uploads_over_https_to_the_real_collector() {
    let dir = tempfile::tempdir().unwrap();
    let collector_config = write_tls_collector(dir.path());
    let collector_config = collector_config.to_str().unwrap();
    let added = nightjar(&["collector", "add-sensor", "tls-1", "--config", collector_config]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    std::fs::write(dir.path().join("sensor.token"), &added.stdout).unwrap();

    let collector = CollectorProcess::start(NIGHTJAR, Path::new(collector_config));
    let port = collector.port().to_string();

    let (pcap, ingest) = make_capture(dir.path(), "replay.pcap", 4_000, 21, 60);
    let kept = ingest.counters().kept;
    let sensor_config = dir.path().join("sensor.toml");
    SensorToml::replay("tls-1", "sensor.token", &format!("https://127.0.0.1:{port}"), &[&pcap])
        .set("uplink.ca_file", "collector.crt")
        .set("privacy.destination", "offset")
        .set("batch.max_rows", 1000)
        .write(&sensor_config);
    let sensor = spawn_sensor(&sensor_config);
    let stdout = wait_for_sensor(sensor);
    let uploaded =
        stdout.lines().find(|l| l.starts_with("batches uploaded")).unwrap_or_else(|| panic!("no summary: {stdout}"));
    assert!(uploaded.contains(&format!("({kept} rows, 0 duplicate)")), "{stdout}");
    assert_eq!(dataset_rows(&dir.path().join("data")), kept, "every kept packet is one row of the dataset");
    drop(collector);
}

/// Batches per (sensor, batch_seq) in the dataset.
fn batch_counts(dir: &Path) -> std::collections::BTreeMap<u64, u64> {
    use arrow::array::AsArray;
    let mut counts = std::collections::BTreeMap::new();
    for day in std::fs::read_dir(dir).unwrap().flatten() {
        if !day.file_name().to_string_lossy().starts_with("day=") {
            continue;
        }
        for file in std::fs::read_dir(day.path()).unwrap().flatten() {
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(file.path()).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                let seqs = batch.column_by_name("batch_seq").unwrap().as_primitive::<arrow::datatypes::UInt64Type>();
                for seq in seqs.values() {
                    *counts.entry(*seq).or_insert(0) += 1;
                }
            }
        }
    }
    counts
}

fn collector_down_and_killed_while_the_sensor_replays_everything_arrives_once() {
    let dir = tempfile::tempdir().unwrap();
    // The collector starts late and restarts on this port; the reservation keeps it ours meanwhile.
    let reserved = ReservedPort::loopback();
    let port = reserved.port();
    let collector_config = dir.path().join("collector.toml");
    std::fs::write(
        &collector_config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndataset_dir = \"data\"\nstate_dir = \"state\"\ncompact_interval_s = 0\n"
        ),
    )
    .unwrap();
    let collector_config = collector_config.to_str().unwrap();
    let added = nightjar(&["collector", "add-sensor", "outage-1", "--config", collector_config]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    std::fs::write(dir.path().join("sensor.token"), &added.stdout).unwrap();

    let (pcap, ingest) = make_capture(dir.path(), "replay.pcap", 6_000, 21, 60);
    let kept = ingest.counters().kept;
    let sensor_config = dir.path().join("sensor.toml");
    SensorToml::replay("outage-1", "sensor.token", &format!("http://127.0.0.1:{port}"), &[&pcap])
        .set("uplink.max_backoff", "500ms")
        .set("batch.max_rows", 500)
        .write(&sensor_config);
    // The collector is down while the sensor reads its traffic: it spools.
    let sensor = spawn_sensor(&sensor_config);
    std::thread::sleep(Duration::from_secs(2));
    // Up, then killed mid-drain, then up again.
    let collector = CollectorProcess::start(NIGHTJAR, Path::new(collector_config));
    std::thread::sleep(Duration::from_millis(300));
    collector.kill();
    std::thread::sleep(Duration::from_millis(700));
    let collector = CollectorProcess::start(NIGHTJAR, Path::new(collector_config));
    let stdout = wait_for_sensor(sensor);
    let counts = batch_counts(&dir.path().join("data"));
    let rows: u64 = counts.values().sum();
    assert_eq!(rows, kept, "every kept packet is one row\n{stdout}");
    // Each batch is stored by one file per day; a batch stored twice would
    // show up as more rows than its own.
    assert!(counts.len() > 5, "the replay was spread over several batches: {counts:?}");
    drop(collector);
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(sensor_uploads_over_https_to_the_real_collector),
        trial!(collector_down_and_killed_while_the_sensor_replays_everything_arrives_once),
    ]
}

/// `nightjar sensor --config CONFIG` with its output captured.
fn spawn_sensor(config: &Path) -> std::process::Child {
    Command::new(NIGHTJAR)
        .args(["sensor", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sensor starts")
}
