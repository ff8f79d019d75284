//! Conservation checks for the fault suite: what the dataset holds against
//! what the sensors kept, packet by packet and batch by batch, and the
//! `RELIABILITY …` summary line each scenario prints for
//! `tests/reliability/run`.
//!
//! A packet's identity in these tests is the tuple of the columns that
//! tell two generated packets apart (time, addresses, ports, protocol, IP id
//! and length, TCP sequence number); the dataset is compared with the
//! expected rows as multisets of these keys, so a lost packet and a packet
//! stored twice are both seen, also when they cancel out in a row count.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use arrow::array::AsArray;
use arrow::datatypes::{DataType, UInt64Type};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::sensor_toml::SensorToml;

/// Where `tests/reliability/run` collects the summary lines (appended), when set.
pub const LOG_VAR: &str = "NIGHTJAR_RELIABILITY_LOG";

/// The columns that make up a packet's identity.
const KEY_COLUMNS: [&str; 9] =
    ["time", "src_ip", "dst_ip", "protocol", "src_port", "dst_port", "ip_id", "ip_len", "tcp_seq"];

/// Every row of the dataset: for a Delta table the files of its latest
/// snapshot (files a crashed writer left, or that a compaction replaced, are
/// not part of it); for a plain folder every committed Parquet file
/// (in-progress `_…` and hidden `.…` entries are not part of the dataset).
pub fn committed_batches(dataset: &Path) -> Vec<RecordBatch> {
    match snapshot_files(dataset) {
        Some(files) => files.iter().flat_map(|path| read_parquet(path)).collect(),
        None => folder_batches(dataset),
    }
}

/// The files of the latest snapshot of the table at `dataset`, or `None` for a plain folder.
pub fn snapshot_files(dataset: &Path) -> Option<Vec<std::path::PathBuf>> {
    if !dataset.join(nightjar_dataset::table::LOG_DIR).is_dir() {
        return None;
    }
    let root = dataset.to_path_buf();
    // A thread of its own: callers may be inside a runtime already.
    let listed = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let location = nightjar_dataset::TableLocation::parse(&root.to_string_lossy()).expect("a table path");
            let table = nightjar_dataset::PacketTable::open(&location, &nightjar_dataset::AsOf::Latest)
                .await
                .unwrap_or_else(|e| panic!("{}: the table does not open: {e}", root.display()));
            let files = table.files().expect("the snapshot's files");
            files.files_iter().map(|meta| root.join(meta.location.as_ref())).collect::<Vec<_>>()
        })
    });
    Some(listed.join().expect("listing the snapshot"))
}

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: a snapshot file: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap_or_else(|e| panic!("{}: a committed file is unreadable: {e}", path.display()))
        .build()
        .unwrap()
        .map(|batch| batch.unwrap())
        .collect()
}

fn folder_batches(dataset: &Path) -> Vec<RecordBatch> {
    let mut batches = Vec::new();
    let mut folders = vec![dataset.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if name.ends_with(".parquet") {
                batches.extend(read_parquet(&path));
            }
        }
    }
    batches
}

/// Rows per (sensor, batch_seq).
pub fn rows_per_batch(batches: &[RecordBatch]) -> BTreeMap<(String, u64), u64> {
    let mut counts = BTreeMap::new();
    for batch in batches {
        let sensors = batch.column_by_name("sensor").expect("a sensor column").as_string::<i32>();
        let seqs = batch.column_by_name("batch_seq").expect("a batch_seq column").as_primitive::<UInt64Type>();
        for row in 0..batch.num_rows() {
            *counts.entry((sensors.value(row).to_string(), seqs.value(row))).or_insert(0) += 1;
        }
    }
    counts
}

/// How often each packet identity occurs in `batches`.
pub fn packet_keys(batches: &[RecordBatch]) -> BTreeMap<String, u64> {
    let mut keys = BTreeMap::new();
    let options = FormatOptions::default().with_null("-");
    for batch in batches {
        let columns: Vec<_> = KEY_COLUMNS
            .iter()
            .map(|name| {
                let column = batch.column_by_name(name).unwrap_or_else(|| panic!("a `{name}` column"));
                // The same instant, whatever time zone the file's type carries.
                if column.data_type().is_temporal() {
                    arrow::compute::cast(column, &DataType::Int64).unwrap()
                } else {
                    column.clone()
                }
            })
            .collect();
        let formatters: Vec<_> =
            columns.iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap()).collect();
        for row in 0..batch.num_rows() {
            let key: Vec<String> = formatters.iter().map(|f| f.value(row).to_string()).collect();
            *keys.entry(key.join("|")).or_insert(0) += 1;
        }
    }
    keys
}

/// The outcome of comparing the dataset with what should be in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Packets expected (each occurrence counts).
    pub expected: u64,
    /// Expected packets the dataset lacks.
    pub lost: u64,
    /// Extra copies of expected packets.
    pub duplicated: u64,
    /// Rows that match no expected packet at all.
    pub unexpected: u64,
}

/// Compare two multisets of packet keys.
pub fn compare(expected: &BTreeMap<String, u64>, actual: &BTreeMap<String, u64>) -> Tally {
    let mut tally = Tally { expected: expected.values().sum(), ..Tally::default() };
    for (key, &want) in expected {
        let got = actual.get(key).copied().unwrap_or(0);
        tally.lost += want.saturating_sub(got);
        tally.duplicated += got.saturating_sub(want);
    }
    tally.unexpected = actual.iter().filter(|(key, _)| !expected.contains_key(*key)).map(|(_, n)| n).sum();
    tally
}

/// The committed dataset under `dataset` held against `expected`: every
/// expected packet stored exactly once and no other row (asserted). Returns
/// the tally and the rows of each stored (sensor, batch_seq).
pub fn assert_conserved(expected: &BTreeMap<String, u64>, dataset: &Path) -> (Tally, BTreeMap<(String, u64), u64>) {
    let stored = committed_batches(dataset);
    let tally = compare(expected, &packet_keys(&stored));
    assert_eq!(tally.lost, 0, "packets lost: {tally:?}");
    assert_eq!(tally.duplicated, 0, "packets stored twice: {tally:?}");
    assert_eq!(tally.unexpected, 0, "rows no sensor kept: {tally:?}");
    (tally, rows_per_batch(&stored))
}

/// The keys of `expected` the dataset lacks (with multiplicity).
pub fn missing(expected: &BTreeMap<String, u64>, actual: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    expected
        .iter()
        .filter_map(|(key, &want)| {
            let lacking = want.saturating_sub(actual.get(key).copied().unwrap_or(0));
            (lacking > 0).then(|| (key.clone(), lacking))
        })
        .collect()
}

/// Print `RELIABILITY scenario=NAME k=v …` on stdout, and append it to the
/// file `NIGHTJAR_RELIABILITY_LOG` names, if any.
pub fn report(scenario: &str, figures: &[(&str, String)]) {
    let mut line = format!("RELIABILITY scenario={scenario}");
    for (name, value) in figures {
        line.push_str(&format!(" {name}={value}"));
    }
    println!("{line}");
    if let Some(log) = std::env::var_os(LOG_VAR) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("{LOG_VAR}={}: {e}", Path::new(&log).display()));
        writeln!(file, "{line}").unwrap();
    }
}

/// The numbers on a `nightjar sensor` summary line, such as the `3` and
/// `1500` of `dropped, spool full           3 (1500 rows)`.
pub fn sensor_numbers(stdout: &str, label: &str) -> Vec<u64> {
    let line = stdout
        .lines()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` line in the sensor's summary:\n{stdout}"));
    line[label.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

/// The count and rows of a summary line (`N (R rows …)`).
pub fn sensor_line(stdout: &str, label: &str) -> (u64, u64) {
    let numbers = sensor_numbers(stdout, label);
    (numbers.first().copied().unwrap_or(0), numbers.get(1).copied().unwrap_or(0))
}

/// Batches acknowledged `stored` and `duplicate`, from
/// `batches uploaded N (R rows, D duplicate)`.
pub fn acknowledged(stdout: &str) -> (u64, u64) {
    let numbers = sensor_numbers(stdout, "batches uploaded");
    (numbers[0], numbers.get(2).copied().unwrap_or(0))
}

/// Whether the long versions of the scenarios are asked for.
pub fn long_tests() -> bool {
    std::env::var("NIGHTJAR_LONG_TESTS").is_ok_and(|v| v == "1")
}

/// Rows per batch of a single sensor, keyed by batch_seq.
pub fn seqs_of(rows: &BTreeMap<(String, u64), u64>, sensor: &str) -> BTreeMap<u64, u64> {
    rows.iter().filter(|((s, _), _)| s == sensor).map(|((_, seq), n)| (*seq, *n)).collect()
}

/// A collector config for the fault scenarios: dataset and state beside it,
/// compaction every `compact_interval_s` (0: off).
pub fn collector_toml(listen: &str, compact_interval_s: u32) -> String {
    format!(
        "listen = \"{listen}\"\ndataset_dir = \"data\"\nstate_dir = \"state\"\n\
         compact_interval_s = {compact_interval_s}\ncompact_min_files = 4\n"
    )
}

/// Register `sensor` with the collector of `config` and write its token to `token_file`.
pub fn add_sensor(nightjar: &str, config: &Path, sensor: &str, token_file: &Path) {
    let out = std::process::Command::new(nightjar)
        .args(["collector", "add-sensor", sensor, "--config"])
        .arg(config)
        .output()
        .expect("nightjar runs");
    assert!(out.status.success(), "add-sensor: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(token_file, &out.stdout).unwrap();
}

/// How a fault scenario's sensor is set up.
pub struct SensorSetup<'a> {
    /// The sensor id.
    pub id: &'a str,
    /// The collector's base URL.
    pub url: &'a str,
    /// The capture to replay.
    pub pcap: &'a Path,
    /// `fast` or `original`.
    pub pace: &'a str,
    /// Extra `key = value` lines of `[uplink]`.
    pub uplink: &'a str,
    /// The spool folder.
    pub spool_dir: &'a Path,
    /// Extra `key = value` lines of `[spool]`.
    pub spool: &'a str,
}

/// Write `dir/sensor.toml` (token in `dir/sensor.token`) and return its path.
pub fn write_sensor_config(dir: &Path, setup: &SensorSetup<'_>) -> std::path::PathBuf {
    let SensorSetup { id, url, pcap, pace, uplink, spool_dir, spool } = setup;
    SensorToml::replay(id, "sensor.token", url, &[pcap])
        .set("uplink.max_backoff", "2s")
        .set("capture.replay_pace", *pace)
        .set("batch.max_rows", 500)
        .set("batch.max_age", "500ms")
        .set("spool.dir", spool_dir.display().to_string())
        .set("heartbeat.interval", "5s")
        .set("metrics.log_interval", "1s")
        .merge(&format!("[uplink]\n{uplink}\n[spool]\n{spool}\n"))
        .write(&dir.join("sensor.toml"))
}

/// A process whose stdout and stderr are collected while it runs.
pub struct Collected {
    child: std::process::Child,
    what: String,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Collected {
    /// Start `cmd` with its output piped; `what` names it in messages.
    pub fn spawn(cmd: &mut std::process::Command, what: &str) -> Collected {
        use std::io::Read;
        use std::process::Stdio;
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let mut out = child.stdout.take().expect("stdout is piped");
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr is piped");
        let sink = std::sync::Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut chunk) {
                sink.lock().expect("never poisoned").push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Collected { child, what: what.to_string(), stdout: Some(stdout), stderr, stderr_reader: Some(stderr_reader) }
    }

    /// What it logged on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("never poisoned").clone()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    /// Wait for it to exit successfully within `timeout` (killed and a
    /// failure otherwise); its stdout and stderr.
    pub fn wait(mut self, timeout: std::time::Duration) -> (String, String) {
        let deadline = std::time::Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{} did not finish within {timeout:?}:\n{}", self.what, self.stderr());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let stdout = self.stdout.take().and_then(|reader| reader.join().ok()).unwrap_or_default();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        let stderr = self.stderr();
        assert!(status.success(), "{} failed ({status}):\n{stdout}\n{stderr}", self.what);
        (stdout, stderr)
    }
}

impl Drop for Collected {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
