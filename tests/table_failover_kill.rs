//! Two collectors share one Delta table on a real S3 API server on loopback (moto), while three
//! real sensors, each with both collectors in `uplink.url` (in different orders), replay their
//! captures at capture pace. The collectors are killed with SIGKILL in turn at 50 random moments
//! and started again; the sensors fail over between them. At the end, read through the table's
//! log with `nightjar sql`, every packet each sensor kept is in the table exactly once, checked
//! packet by packet, and every acknowledged batch once; the Python `deltalake` package reads the
//! same rows and finds the compaction commits the collectors made meanwhile.
//!
//! Set `NIGHTJAR_KILL_ROUNDS` for a longer run (default 50; the time bound grows with it). Prints
//! a `RELIABILITY scenario=table_failover_kill …` line for `tests/reliability/run`.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nightjar_test_kit::conservation::{self, Collected, SensorSetup};
use nightjar_test_kit::ports::ReservedPort;
use nightjar_test_kit::prereq::{self, Skipped};
use nightjar_test_kit::replay_capture::make_capture;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::support::s3::{BUCKET, S3Server};

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
const SENSORS: [&str; 3] = ["fo-a", "fo-b", "fo-c"];
/// The table, as the collectors and readers name it.
const TABLE: &str = "telescope/packets";

/// One of the two collectors: its config, its port (kept ours between restarts) and the process.
struct Collector {
    config: PathBuf,
    port: ReservedPort,
    running: Option<Collected>,
}

impl Collector {
    fn new(dir: &Path, name: &str) -> Collector {
        let port = ReservedPort::loopback();
        let home = dir.join(name);
        std::fs::create_dir_all(&home).unwrap();
        let config = home.join("collector.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:{}\"\ndataset_dir = \"s3://{BUCKET}/{TABLE}\"\nstate_dir = \"state\"\n\
                 compact_interval_s = 1\ncompact_min_files = 4\n",
                port.port()
            ),
        )
        .unwrap();
        Collector { config, port, running: None }
    }

    fn url(&self) -> String {
        format!("http://{}", self.port.address())
    }

    /// Start it and wait until it listens.
    fn start(&mut self, s3: &S3Server) {
        let mut command = Command::new(NIGHTJAR);
        command.arg("collector").arg("--config").arg(&self.config).envs(s3.env());
        let mut process = Collected::spawn(&mut command, "a collector");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(self.port.address()).is_err() {
            assert!(process.running(), "the collector exited at start:\n{}", process.stderr());
            assert!(Instant::now() < deadline, "the collector did not listen:\n{}", process.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
        self.running = Some(process);
    }

    /// SIGKILL (dropping the process kills it).
    fn kill(&mut self) {
        self.running = None;
    }
}

/// Every row of the table's latest snapshot, read through its log by `nightjar sql`.
fn table_rows(s3: &S3Server, out: &Path) -> Vec<arrow::record_batch::RecordBatch> {
    let sql = "SELECT time, src_ip, dst_ip, protocol, src_port, dst_port, ip_id, ip_len, tcp_seq, sensor, batch_seq \
               FROM packets";
    let done = Command::new(NIGHTJAR)
        .args(["sql", "--data", &format!("s3://{BUCKET}/{TABLE}"), "--format", "parquet", "-o"])
        .arg(out)
        .args(["-c", sql])
        .envs(s3.env())
        .output()
        .expect("nightjar sql runs");
    assert!(done.status.success(), "nightjar sql over the table: {}", String::from_utf8_lossy(&done.stderr));
    let file = std::fs::File::open(out).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().map(|batch| batch.unwrap()).collect()
}

/// The Python `deltalake` package's view of the table: its rows and its compaction commits.
fn python_view(s3: &S3Server) -> serde_json::Value {
    let script = "import json, os, sys\nfrom deltalake import DeltaTable\n\
        options = {'AWS_ENDPOINT_URL': sys.argv[2], 'AWS_ALLOW_HTTP': 'true', 'AWS_ACCESS_KEY_ID': 'testing',\n\
                   'AWS_SECRET_ACCESS_KEY': 'testing', 'AWS_REGION': 'us-east-1'}\n\
        table = DeltaTable(sys.argv[1], storage_options=options)\n\
        compactions = sum(1 for commit in table.history() if commit.get('operation') == 'OPTIMIZE')\n\
        print(json.dumps({'rows': table.to_pyarrow_table().num_rows, 'compactions': compactions}), flush=True)\n\
        os._exit(0)\n";
    let out = Command::new("python3")
        .args(["-c", script, &format!("s3://{BUCKET}/{TABLE}"), &s3.endpoint])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "deltalake over S3: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn two_collectors_on_one_s3_table_with_sensors_failing_over_under_sigkill() -> Result<(), Skipped> {
    prereq::python_imports("table_failover_kill", "deltalake", "pip install deltalake")?;
    let s3 = S3Server::start("table_failover_kill")?;
    let rounds: usize = std::env::var("NIGHTJAR_KILL_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let mut collectors = [Collector::new(dir.path(), "one"), Collector::new(dir.path(), "two")];

    // The sensors' tokens are made on the first collector; the second gets the same sensor list.
    let mut expected = BTreeMap::new();
    let mut sensors = Vec::new();
    for (i, id) in SENSORS.iter().enumerate() {
        let home = dir.path().join(id);
        std::fs::create_dir_all(&home).unwrap();
        conservation::add_sensor(NIGHTJAR, &collectors[0].config, id, &home.join("sensor.token"));
        // Longer than the kill loop, so that the collectors die while batches keep coming.
        let (pcap, mut ingest) = make_capture(&home, "replay.pcap", 4_000, 70 + i as u64, 80);
        for (key, count) in conservation::packet_keys(&[ingest.finish_batch(id, 0)]) {
            *expected.entry(key).or_insert(0) += count;
        }
        // Sensors prefer different collectors, so both take batches from the start.
        let (first, second) = if i % 2 == 0 { (0, 1) } else { (1, 0) };
        let urls = format!("url = [\"{}\", \"{}\"]", collectors[first].url(), collectors[second].url());
        let config = conservation::write_sensor_config(
            &home,
            &SensorSetup {
                id,
                url: &collectors[first].url(),
                pcap: &pcap,
                pace: "original",
                uplink: &urls,
                spool_dir: &home.join("spool"),
                spool: "",
            },
        );
        sensors.push(config);
    }
    let state = |c: &Collector| c.config.parent().unwrap().join("state");
    std::fs::create_dir_all(state(&collectors[1])).unwrap();
    std::fs::copy(state(&collectors[0]).join("sensors.json"), state(&collectors[1]).join("sensors.json")).unwrap();

    for collector in &mut collectors {
        collector.start(&s3);
    }
    let started = Instant::now();
    let running: Vec<Collected> = sensors
        .iter()
        .map(|config| Collected::spawn(Command::new(NIGHTJAR).args(["sensor", "--config"]).arg(config), "a sensor"))
        .collect();

    // Each round kills one collector, in turn, at a moment spread between 100 and 700 ms after it
    // came up, keeps it down for 300 to 1,500 ms (its batches go to the other one meanwhile) and
    // starts it again.
    let bound = Duration::from_secs(240 * rounds.div_ceil(50) as u64);
    let mut spread = 211u64;
    let mut next = || {
        spread = (spread * 1103 + 12_345) % 601;
        spread
    };
    for round in 0..rounds {
        std::thread::sleep(Duration::from_millis(100 + next()));
        let victim = &mut collectors[round % 2];
        victim.kill();
        std::thread::sleep(Duration::from_millis(300 + 2 * next()));
        victim.start(&s3);
        assert!(started.elapsed() < bound, "the kill loop is bounded in time");
    }

    let mut uploaded = 0;
    let mut duplicates = 0;
    let mut failovers = 0;
    for sensor in running {
        let (stdout, _) = sensor.wait(Duration::from_secs(180));
        let (stored, again) = conservation::acknowledged(&stdout);
        uploaded += stored;
        duplicates += again;
        failovers += conservation::sensor_numbers(&stdout, "upload retries").get(2).copied().unwrap_or(0);
        assert_eq!(conservation::sensor_line(&stdout, "left in spool").0, 0, "{stdout}");
        assert_eq!(conservation::sensor_line(&stdout, "batches rejected").0, 0, "{stdout}");
    }
    for collector in &mut collectors {
        collector.kill();
    }

    let stored = table_rows(&s3, &dir.path().join("table.parquet"));
    let per_batch = conservation::rows_per_batch(&stored);
    let tally = conservation::compare(&expected, &conservation::packet_keys(&stored));
    assert_eq!(tally.lost, 0, "packets lost: {tally:?}");
    assert_eq!(tally.duplicated, 0, "packets stored twice: {tally:?}");
    assert_eq!(tally.unexpected, 0, "rows no sensor kept: {tally:?}");
    assert_eq!(per_batch.len() as u64, uploaded + duplicates, "one stored batch per acknowledged batch");
    assert!(failovers >= 3, "the sensors moved between the collectors ({failovers} failovers)");
    let python = python_view(&s3);
    assert_eq!(python["rows"], stored.iter().map(|b| b.num_rows()).sum::<usize>(), "deltalake reads the same rows");
    let compactions = python["compactions"].as_u64().unwrap_or(0);
    assert!(compactions > 0, "compaction commits landed on the S3 table while collectors were killed");
    conservation::report(
        "table_failover_kill",
        &[
            ("kill_points", rounds.to_string()),
            ("collectors", "2".to_string()),
            ("sensors", SENSORS.len().to_string()),
            ("batches", per_batch.len().to_string()),
            ("failovers", failovers.to_string()),
            ("compactions", compactions.to_string()),
            ("packets", tally.expected.to_string()),
            ("lost", tally.lost.to_string()),
            ("duplicated", tally.duplicated.to_string()),
        ],
    );
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![trial!(two_collectors_on_one_s3_table_with_sensors_failing_over_under_sigkill)]
}
