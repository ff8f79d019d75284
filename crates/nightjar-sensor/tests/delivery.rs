//! The whole sensor in offline mode against a real HTTP receiver that
//! checks the wire format: every kept packet arrives exactly once, through
//! 503s, a rejected batch, a collector that is down at start, a 413 and a
//! sensor killed and restarted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use nightjar_sensor::{Sensor, SensorConfig, SensorError};
use nightjar_test_kit::ports::ReservedPort;
use nightjar_test_kit::receiver::{Receiver, Scripted};
use nightjar_test_kit::replay_capture;
use nightjar_test_kit::row_keys::{TimedKey, timed_keys};
use nightjar_test_kit::sensor_toml::SensorToml;

const SENSOR: &str = "test-1";
const TOKEN: &str = "t0ken-for-tests";
const TIMEOUT: Duration = Duration::from_secs(60);

/// A generated capture of recent traffic and the rows `Ingest` keeps from it.
struct Capture {
    pcap: PathBuf,
    expected: Vec<TimedKey>,
}

fn make_capture(dir: &Path, name: &str, packets: u64, seed: u64, duration_s: u64) -> Capture {
    let (pcap, mut ingest) = replay_capture::make_capture(dir, name, packets, seed, duration_s);
    let expected = timed_keys(&[ingest.finish_batch(SENSOR, 0)]);
    assert!(expected.len() as u64 > packets * 9 / 10, "the capture is mostly dark traffic");
    Capture { pcap, expected }
}

/// A config for offline replay of `pcaps` to `url`.
fn config(dir: &Path, url: &str, pcaps: &[&Path], extra: &str) -> SensorConfig {
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    let text = SensorToml::replay(SENSOR, "token", url, pcaps)
        .set("uplink.initial_backoff", "50ms")
        .set("uplink.max_backoff", "200ms")
        .set("uplink.auth_retry", "200ms")
        .set("uplink.connect_timeout", "2s")
        .set("uplink.request_timeout", "10s")
        .set("batch.max_rows", 500)
        .set("heartbeat.interval", "1s")
        .set("metrics.log_interval", "0s")
        .merge(extra)
        .to_toml();
    SensorConfig::parse(&text, dir).unwrap_or_else(|e| panic!("test config: {e}\n{text}"))
}

fn stored_keys(receiver: &Receiver) -> Vec<TimedKey> {
    receiver.with(|inner| timed_keys(&inner.stored.values().flatten().cloned().collect::<Vec<_>>()))
}

fn assert_clean(receiver: &Receiver) {
    let problems = receiver.with(|inner| inner.problems.clone());
    assert!(problems.is_empty(), "wire-format problems: {problems:?}");
}

async fn run_to_end(config: SensorConfig) -> nightjar_sensor::MetricsSnapshot {
    let sensor = Sensor::build(config).unwrap();
    tokio::time::timeout(TIMEOUT, sensor.run(std::future::pending())).await.expect("the replay finishes").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_delivers_every_kept_packet_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let capture = make_capture(dir.path(), "a.pcap", 6_000, 1, 60);
    let receiver = Receiver::start(SENSOR, TOKEN).await;
    let snapshot = run_to_end(config(dir.path(), &receiver.url(), &[&capture.pcap], "")).await;

    assert_eq!(stored_keys(&receiver), capture.expected, "the receiver got exactly the kept packets");
    assert_clean(&receiver);
    let expected = capture.expected.len() as u64;
    assert_eq!(snapshot.captured, 6_000);
    assert_eq!(snapshot.kept, expected);
    assert_eq!(snapshot.captured, snapshot.kept + snapshot.filtered() + snapshot.malformed + snapshot.not_ip);
    assert!(snapshot.malformed > 0, "the generator makes malformed frames; they are counted");
    assert_eq!(snapshot.spooled_rows, expected);
    assert_eq!(snapshot.uploaded_rows, expected);
    assert_eq!(snapshot.uploaded_batches, snapshot.spooled_batches);
    assert_eq!(snapshot.spooled_batches, expected.div_ceil(500));
    assert_eq!((snapshot.duplicate_batches, snapshot.upload_retries, snapshot.rejected_batches), (0, 0, 0));
    assert_eq!((snapshot.spool_batches, snapshot.spool_bytes), (0, 0));
    let seqs: Vec<u64> = receiver.with(|inner| inner.requests.iter().map(|r| r.seq).collect());
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "uploaded once each, in sequence order: {seqs:?}");
    let heartbeat = receiver.with(|inner| inner.heartbeats.first().cloned()).expect("a heartbeat at start");
    assert_eq!(heartbeat["sensor"], SENSOR);
    assert!(heartbeat["next_batch_seq"].is_u64() && heartbeat["counters"].is_object(), "{heartbeat}");
    assert!(dir.path().join("spool/batches").read_dir().unwrap().next().is_none(), "the spool is empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_then_ok_is_retried_after_retry_after_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let capture = make_capture(dir.path(), "a.pcap", 1_500, 2, 60);
    let receiver = Receiver::start(SENSOR, TOKEN).await;
    receiver.with(|inner| inner.script.extend([Scripted::unavailable(1), Scripted::unavailable(1)]));
    let started = std::time::Instant::now();
    let snapshot = run_to_end(config(dir.path(), &receiver.url(), &[&capture.pcap], "")).await;
    assert!(started.elapsed() >= Duration::from_secs(2), "Retry-After: 1 was obeyed twice");
    assert_eq!(stored_keys(&receiver), capture.expected);
    assert_clean(&receiver);
    assert_eq!(snapshot.upload_retries, 2);
    let statuses: Vec<(u64, u16)> = receiver.with(|inner| inner.requests.iter().map(|r| (r.seq, r.status)).collect());
    assert_eq!(statuses[..3], [(1, 503), (1, 503), (1, 200)], "the same batch again until it is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_batch_is_moved_aside_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let capture = make_capture(dir.path(), "a.pcap", 1_500, 3, 60);
    let receiver = Receiver::start(SENSOR, TOKEN).await;
    receiver.with(|inner| inner.per_seq.insert(2, Scripted::rejected()));
    let snapshot = run_to_end(config(dir.path(), &receiver.url(), &[&capture.pcap], "")).await;

    let tries_of_2 = receiver.with(|inner| inner.requests.iter().filter(|r| r.seq == 2).count());
    assert_eq!(tries_of_2, 1, "a 422 is final");
    assert_eq!(snapshot.rejected_batches, 1);
    assert_eq!(snapshot.rejected_rows, 500);
    assert_eq!(snapshot.uploaded_rows + snapshot.rejected_rows, capture.expected.len() as u64);
    assert_eq!(stored_keys(&receiver).len() as u64, snapshot.uploaded_rows);
    let rejected = dir.path().join("spool/rejected");
    assert!(rejected.join(format!("{:020}.njb", 2)).exists());
    let why = std::fs::read_to_string(rejected.join(format!("{:020}.njb.why", 2))).unwrap();
    assert!(why.contains("422") && why.contains("rejected"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_down_at_start_gets_the_spool_when_it_comes_up() {
    let dir = tempfile::tempdir().unwrap();
    let capture = make_capture(dir.path(), "a.pcap", 3_000, 4, 60);
    // Reserved and not listening until the receiver takes it over: the collector is down.
    let collector = ReservedPort::loopback();
    let url = format!("http://{}", collector.address());
    let mut running = Sensor::build(config(dir.path(), &url, &[&capture.pcap], "")).unwrap().start().await.unwrap();
    let metrics = running.metrics();
    let expected = capture.expected.len() as u64;
    wait_for(|| metrics.snapshot().spooled_rows == expected && metrics.snapshot().upload_retries >= 2).await;
    assert_eq!(metrics.snapshot().uploaded_batches, 0);
    assert_eq!(metrics.snapshot().spool_batches, expected.div_ceil(500), "everything waits in the spool");

    let receiver = Receiver::start_on(collector.listen(), SENSOR, TOKEN);
    tokio::time::timeout(TIMEOUT, running.finished()).await.expect("the spool drains");
    let snapshot = running.shutdown().await;
    assert_eq!(stored_keys(&receiver), capture.expected);
    assert_clean(&receiver);
    assert_eq!(snapshot.uploaded_rows, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sensor_restarts_with_its_spool_intact_and_no_seq_repeats() {
    let dir = tempfile::tempdir().unwrap();
    // Paced at original speed over 20 s, so the kill lands mid-replay.
    let first = make_capture(dir.path(), "first.pcap", 4_000, 5, 20);
    let second = make_capture(dir.path(), "second.pcap", 800, 6, 60);
    // Reserved and not listening until the receiver takes it over: the collector is down.
    let collector = ReservedPort::loopback();
    let url = format!("http://{}", collector.address());
    let mut first_config = config(dir.path(), &url, &[&first.pcap], "");
    first_config.capture.replay_pace = nightjar_sensor::capture::ReplayPace::Original;
    first_config.batch.max_age = Duration::from_millis(200);
    let running = Sensor::build(first_config).unwrap().start().await.unwrap();
    let metrics = running.metrics();
    wait_for(|| metrics.snapshot().spool_batches >= 3).await;
    running.kill().await;

    // What survived on disk: whole batch files, numbered, their rows known.
    let survivors = nightjar_sensor::spool::Spool::open(
        &nightjar_sensor::spool::SpoolConfig { dir: dir.path().join("spool"), max_bytes: 1 << 30 },
        SENSOR,
        std::sync::Arc::new(nightjar_sensor::spool::FsStorage),
        std::sync::Arc::default(),
    )
    .unwrap();
    let spooled = survivors.pending();
    assert!(spooled.len() >= 3, "{spooled:?}");
    assert_eq!(survivors.stats().batches, spooled.len() as u64);
    let mut rows_on_disk = 0u64;
    for seq in &spooled {
        let bytes = std::fs::read(dir.path().join("spool/batches").join(format!("{seq:020}.njb"))).unwrap();
        let batch = nightjar_sensor::spool::SpooledBatch::decode(&bytes).expect("whole, checksummed files only");
        rows_on_disk += u64::from(batch.rows);
    }
    let last_first_run = *spooled.last().unwrap();
    drop(survivors);

    let receiver = Receiver::start_on(collector.listen(), SENSOR, TOKEN);
    let snapshot = run_to_end(config(dir.path(), &url, &[&second.pcap], "")).await;
    assert_clean(&receiver);
    let requests = receiver.with(|inner| inner.requests.clone());
    let seqs: Vec<u64> = requests.iter().map(|r| r.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "each seq once, in order: {seqs:?}");
    assert_eq!(seqs[..spooled.len()], spooled[..], "the spool of the killed run goes first");
    assert!(seqs[spooled.len()..].iter().all(|s| *s > last_first_run), "new numbers are above the old ones");
    assert_eq!(receiver.stored_rows() as u64, rows_on_disk + second.expected.len() as u64);
    assert_eq!(snapshot.duplicate_batches, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_too_large_for_the_collector_is_split() {
    let dir = tempfile::tempdir().unwrap();
    let capture = make_capture(dir.path(), "a.pcap", 1_200, 7, 60);
    let receiver = Receiver::start(SENSOR, TOKEN).await;
    receiver.with(|inner| inner.max_rows = Some(300));
    let snapshot = run_to_end(config(dir.path(), &receiver.url(), &[&capture.pcap], "")).await;
    assert_eq!(stored_keys(&receiver), capture.expected, "every packet arrives once, in halves");
    assert!(snapshot.split_batches >= 2, "{snapshot:?}");
    assert_eq!(snapshot.rejected_batches, 0);
    let stored_sizes: Vec<usize> =
        receiver.with(|inner| inner.stored.values().map(|b| b.iter().map(RecordBatch::num_rows).sum()).collect());
    assert!(stored_sizes.iter().all(|n| *n <= 300), "{stored_sizes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_serves_the_counters() {
    let dir = tempfile::tempdir().unwrap();
    let capture = make_capture(dir.path(), "a.pcap", 1_000, 8, 60);
    let receiver = Receiver::start(SENSOR, TOKEN).await;
    let mut config = config(dir.path(), &receiver.url(), &[&capture.pcap], "");
    config.metrics.enabled = true;
    config.metrics.listen = "127.0.0.1:0".parse().unwrap();
    config.capture.exit_after_replay = false;
    let running = Sensor::build(config).unwrap().start().await.unwrap();
    let address = running.metrics_address().expect("the endpoint listens");
    assert!(address.ip().is_loopback());
    let metrics = running.metrics();
    let expected = capture.expected.len() as u64;
    wait_for(|| metrics.snapshot().uploaded_rows == expected).await;
    let text = http_get(address, "/metrics").await;
    assert!(text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(&format!("nightjar_sensor_kept_packets_total {expected}")), "{text}");
    assert!(text.contains(&format!("nightjar_sensor_uploaded_rows_total {expected}")), "{text}");
    assert!(text.contains("nightjar_sensor_filtered_packets_total{reason=\"outside_dark\"}"), "{text}");
    assert!(text.contains("nightjar_sensor_skipped_frames_total{reason="), "{text}");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_errors_name_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let capture = make_capture(dir.path(), "a.pcap", 100, 9, 60);
    let url = "http://127.0.0.1:9";

    let mut live = config(dir.path(), url, &[&capture.pcap], "");
    live.capture.replay.clear();
    live.capture.interface = Some("njnosuch0".into());
    let error = Sensor::check(&live).expect_err("check: no such interface");
    assert!(matches!(error, SensorError::Interface { .. }), "{error}");
    let mut loopback = live.clone();
    loopback.capture.interface = Some("lo".into());
    Sensor::check(&loopback).expect("check opens no socket, so `lo` passes as any user");
    let error = Sensor::build(live).err().expect("no such interface");
    assert!(matches!(error, SensorError::Interface { .. }), "{error}");
    assert!(error.to_string().contains("njnosuch0") && error.to_string().contains("lo"), "{error}");

    let mut tokenless = config(dir.path(), url, &[&capture.pcap], "");
    tokenless.sensor.token_file = dir.path().join("missing-token");
    let error = Sensor::build(tokenless).err().expect("no token");
    assert!(error.to_string().contains("sensor.token_file") && error.to_string().contains("missing-token"), "{error}");

    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let mut unwritable = config(dir.path(), url, &[&capture.pcap], "");
    unwritable.spool.dir = blocker.join("spool");
    let error = Sensor::build(unwritable).err().expect("spool cannot be created");
    assert!(error.to_string().contains(&blocker.display().to_string()), "{error}");

    let mut missing = config(dir.path(), url, &[&capture.pcap], "");
    missing.capture.replay = vec![dir.path().join("nope.pcap")];
    let error = Sensor::build(missing).err().expect("no such capture file");
    assert!(error.to_string().contains("capture.replay[0]"), "{error}");

    let mut bad_ca = config(dir.path(), "https://127.0.0.1:9", &[&capture.pcap], "");
    std::fs::write(dir.path().join("ca.pem"), "not a certificate").unwrap();
    bad_ca.uplink.ca_file = Some(dir.path().join("ca.pem"));
    let error = Sensor::build(bad_ca).err().expect("no certificate in the CA file");
    assert!(error.to_string().contains("uplink.ca_file"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_go_out_when_no_packet_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let capture = make_capture(dir.path(), "a.pcap", 100, 10, 60);
    let receiver = Receiver::start(SENSOR, TOKEN).await;
    let mut config = config(dir.path(), &receiver.url(), &[&capture.pcap], "");
    config.capture.exit_after_replay = false;
    let running = Sensor::build(config).unwrap().start().await.unwrap();
    // The replay is over in milliseconds; afterwards nothing arrives.
    receiver.wait_until(TIMEOUT, "three heartbeats", |inner| inner.heartbeats.len() >= 3).await;
    let last = receiver.with(|inner| inner.heartbeats.last().cloned().unwrap());
    assert_eq!(last["counters"]["kept_packets_total"], capture.expected.len() as u64, "{last}");
    assert_eq!(last["spooled_batches"], 0, "{last}");
    assert!(last["uptime_s"].as_u64().unwrap() >= 1, "{last}");
    assert_eq!(running.metrics().snapshot().heartbeat_failures, 0);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_another_sensor_is_counted_per_refusal_and_the_spool_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let capture = make_capture(dir.path(), "a.pcap", 1_000, 11, 60);
    // The receiver knows the token as `other-1`'s: it answers 403 to uploads and heartbeats.
    let receiver = Receiver::start("other-1", TOKEN).await;
    let mut config = config(dir.path(), &receiver.url(), &[&capture.pcap], "");
    config.capture.exit_after_replay = false;
    let running = Sensor::build(config).unwrap().start().await.unwrap();
    let metrics = running.metrics();
    wait_for(|| {
        let s = metrics.snapshot();
        s.refused_batches_forbidden >= 3 && s.refused_heartbeats_forbidden >= 1
    })
    .await;
    let snapshot = metrics.snapshot();
    assert_eq!(snapshot.refused_batches_unauthorized + snapshot.refused_heartbeats_unauthorized, 0);
    assert_eq!(snapshot.uploaded_batches + snapshot.rejected_batches, 0, "nothing stored, nothing set aside");
    assert_eq!(snapshot.spool_batches, snapshot.spooled_batches, "every batch stays spooled");
    assert!(snapshot.log_line().contains(&format!("refused={}", snapshot.refused())), "{}", snapshot.log_line());
    assert_eq!(receiver.stored_rows(), 0);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_stops_the_uplink_and_keeps_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let capture = make_capture(dir.path(), "a.pcap", 1_500, 12, 60);
    let receiver = Receiver::start(SENSOR, TOKEN).await;
    receiver.with(|inner| inner.per_seq.insert(1, Scripted::conflict()));
    // With exit_after_replay the run ends once the replay is spooled and the uplink stopped.
    let snapshot = run_to_end(config(dir.path(), &receiver.url(), &[&capture.pcap], "")).await;
    assert_eq!((snapshot.upload_conflicts, snapshot.uplink_stopped), (1, 1));
    assert_eq!(snapshot.uploaded_batches, 0);
    assert_eq!(snapshot.spool_batches, snapshot.spooled_batches, "the whole spool is kept");
    let requests = receiver.with(|inner| inner.requests.clone());
    assert_eq!(requests.len(), 1, "nothing is sent after a conflict: {requests:?}");
}

async fn wait_for(condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A plain HTTP/1.0 GET, the way a Prometheus scraper or curl asks.
async fn http_get(address: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}
