//! The collector killed with SIGKILL at dozens of random moments while three
//! sensors push batches (and compaction runs): after each restart it carries
//! on, and at the end every acknowledged batch is in the dataset (a new
//! collector's dataset is a Delta table, read through its log) exactly once.
//!
//! The sensors here are simple retrying clients that follow the wire
//! protocol: a batch is resent until it is answered `stored` or `duplicate`.
//! Set `NIGHTJAR_KILL_ROUNDS` for a longer run (default 50; the time bound
//! grows with it). Prints a `RELIABILITY scenario=collector_kill …` line for
//! `tests/reliability/run`.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::wire::{self, CONTENT_TYPE};
use nightjar_record::{PacketBatchBuilder, RecordOptions};
use nightjar_test_kit::collector_process::CollectorProcess;
use nightjar_test_kit::conservation;
use nightjar_test_kit::frames::Ipv4Probe;
use nightjar_test_kit::ports::ReservedPort;
use tokio::sync::Mutex;

// Each test uses part of the shared helper.

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
const SENSORS: [&str; 3] = ["kill-a", "kill-b", "kill-c"];

fn rows_of(seq: u64) -> usize {
    20 + (seq as usize * 7) % 60
}

/// The batch `seq` of `sensor`: always the same rows, so a resend is identical.
fn body(sensor: &str, seq: u64) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp_micros();
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for i in 0..rows_of(seq) {
        let frame = Ipv4Probe::new(Ipv4Addr::new(198, 51, 100, (i % 200) as u8), Ipv4Addr::new(192, 0, 2, 10)).udp(
            40000,
            53,
            &[],
        );
        let packet = decode(LinkType::Raw, &frame).expect("valid probe");
        builder.append(now + i as i64, &packet, &classify(&packet), None);
    }
    wire::encode(&[builder.finish(sensor, seq)], 1).expect("encodes")
}

/// One sensor: sends its batches in order, each until acknowledged; returns
/// the acknowledged sequence numbers when `stop` is set.
async fn sensor(name: &'static str, token: String, url: String, stop: Arc<AtomicBool>, acked: Arc<Mutex<Vec<u64>>>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut seq = 1u64;
    while !stop.load(Ordering::Acquire) {
        let payload = body(name, seq);
        loop {
            let sent = client
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", CONTENT_TYPE)
                .header("content-encoding", "zstd")
                .header("nightjar-sensor", name)
                .header("nightjar-batch-seq", seq.to_string())
                .header("nightjar-schema-version", "1")
                .body(payload.clone())
                .send()
                .await;
            if let Ok(response) = sent {
                let status = response.status().as_u16();
                let answer: serde_json::Value = response.json().await.unwrap_or_default();
                if status == 200 {
                    assert!(matches!(answer["status"].as_str(), Some("stored" | "duplicate")), "{answer}");
                    acked.lock().await.push(seq);
                    break;
                }
                assert!(status >= 500 || status == 429, "{name} batch {seq}: unexpected {status} {answer}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        seq += 1;
    }
}

fn sigkill_at_random_points_loses_and_repeats_nothing() {
    let rounds: usize = std::env::var("NIGHTJAR_KILL_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    // The collector (re)starts on this port; the reservation keeps it ours meanwhile.
    let reserved = ReservedPort::loopback();
    let port = reserved.port();
    let config: PathBuf = dir.path().join("collector.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndataset_dir = \"data\"\nstate_dir = \"state\"\n\
             compact_interval_s = 1\ncompact_min_files = 4\n"
        ),
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{port}/v1/batches");
    let mut tokens = Vec::new();
    for name in SENSORS {
        let out = Command::new(NIGHTJAR)
            .args(["collector", "add-sensor", name, "--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success());
        tokens.push(String::from_utf8(out.stdout).unwrap().trim().to_string());
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Vec<Arc<Mutex<Vec<u64>>>> = SENSORS.iter().map(|_| Arc::new(Mutex::new(Vec::new()))).collect();
    let tasks: Vec<_> = SENSORS
        .iter()
        .zip(&tokens)
        .zip(&acked)
        .map(|((name, token), acked)| {
            runtime.spawn(sensor(name, token.clone(), url.clone(), Arc::clone(&stop), Arc::clone(acked)))
        })
        .collect();

    // A simple deterministic spread of kill moments between 30 and 400 ms.
    let started = Instant::now();
    let mut lifetime = 97u64;
    for _ in 0..rounds {
        let collector = CollectorProcess::start(NIGHTJAR, &config);
        lifetime = (lifetime * 1103 + 12_345) % 371;
        std::thread::sleep(Duration::from_millis(30 + lifetime));
        collector.kill();
        let bound = Duration::from_secs(240 * rounds.div_ceil(50) as u64);
        assert!(started.elapsed() < bound, "the kill loop is bounded in time");
    }
    // A last, orderly run lets the in-flight batches finish.
    let mut collector = CollectorProcess::start(NIGHTJAR, &config);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Release);
    runtime.block_on(async {
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(60), task).await.expect("sensors finish").unwrap();
        }
    });
    stop_with_sigterm(&mut collector.child);

    let dataset = dir.path().join("data");
    let counts = conservation::rows_per_batch(&conservation::committed_batches(&dataset));
    let mut checked = 0;
    for (name, acked) in SENSORS.iter().zip(&acked) {
        let acked = runtime.block_on(acked.lock()).clone();
        assert!(acked.len() > 10, "{name} got batches through ({} acknowledged)", acked.len());
        for seq in acked {
            let rows = counts.get(&(name.to_string(), seq)).copied().unwrap_or(0);
            assert_eq!(rows, rows_of(seq) as u64, "{name} batch {seq}: rows in the dataset");
            checked += 1;
        }
    }
    let expected: usize = counts.len();
    assert_eq!(checked, expected, "no batch is in the dataset that was not acknowledged");
    // The files of the table's latest snapshot (a plain folder's day folders before the table).
    let files = conservation::snapshot_files(&dataset).expect("a new collector's dataset is a table");
    let compacted = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("part-compact-")))
        .count();
    assert!(compacted > 0, "compaction ran (and was killed at times) during the loop");
    eprintln!(
        "kill loop: {rounds} kills, {checked} acknowledged batches, each exactly once; {compacted} compacted files"
    );
    let rows: u64 = counts.values().sum();
    conservation::report(
        "collector_kill",
        &[
            ("kill_points", rounds.to_string()),
            ("batches", checked.to_string()),
            ("packets", rows.to_string()),
            ("lost", "0".to_string()),
            ("duplicated", "0".to_string()),
        ],
    );
}

/// Stop the last collector with SIGTERM (orderly) and wait for it.
fn stop_with_sigterm(collector: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &collector.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while collector.try_wait().ok().flatten().is_none() {
        assert!(Instant::now() < deadline, "the collector stops on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![trial!(sigkill_at_random_points_loses_and_repeats_nothing)]
}
