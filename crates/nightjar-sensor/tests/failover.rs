//! Several collectors in `uplink.url`: the whole sensor in offline mode against two real HTTP
//! receivers. Batches go to one collector at a time and move on at once when it fails; every kept
//! packet arrives exactly once over the two; heartbeats reach both.

use std::path::Path;
use std::time::{Duration, Instant};

use nightjar_sensor::check::{CheckLine, Outcome};
use nightjar_sensor::{Sensor, SensorConfig};
use nightjar_test_kit::ports::ReservedPort;
use nightjar_test_kit::receiver::{Receiver, Scripted};
use nightjar_test_kit::replay_capture;
use nightjar_test_kit::row_keys::{TimedKey, timed_keys};
use nightjar_test_kit::sensor_toml::SensorToml;

const SENSOR: &str = "failover-1";
const TOKEN: &str = "t0ken-for-failover";

/// Replays `packets` generated packets to the collectors of `urls` (in that order of preference);
/// the rows the sensor must deliver and its final counters.
async fn replay_to(urls: &[String], packets: u64, seed: u64) -> (Vec<TimedKey>, nightjar_sensor::MetricsSnapshot) {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, mut ingest) = replay_capture::make_capture(dir.path(), "a.pcap", packets, seed, 60);
    let expected = timed_keys(&[ingest.finish_batch(SENSOR, 0)]);
    let config = config(dir.path(), urls, &pcap);
    let sensor = Sensor::build(config).unwrap();
    let snapshot = tokio::time::timeout(Duration::from_secs(15), sensor.run(std::future::pending()))
        .await
        .expect("the replay finishes without waiting out a backoff")
        .unwrap();
    (expected, snapshot)
}

/// A sensor replaying `pcap` to the collectors of `urls`, its token in `dir`.
fn config(dir: &Path, urls: &[String], pcap: &Path) -> SensorConfig {
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    // Backoffs long enough that a test that waited for one would time out: failover must not wait.
    let text = SensorToml::replay(SENSOR, "token", "http://127.0.0.1:1", &[pcap])
        .set("uplink.url", urls.to_vec())
        .set("uplink.initial_backoff", "20s")
        .set("uplink.max_backoff", "20s")
        .set("uplink.connect_timeout", "2s")
        .set("batch.max_rows", 500)
        .set("heartbeat.interval", "1s")
        .set("metrics.log_interval", "0s")
        .to_toml();
    SensorConfig::parse(&text, dir).unwrap_or_else(|e| panic!("test config: {e}\n{text}"))
}

/// Every row stored by `receivers`, in time order.
fn stored_keys(receivers: &[&Receiver]) -> Vec<TimedKey> {
    let mut keys: Vec<TimedKey> = receivers
        .iter()
        .flat_map(|r| r.with(|inner| timed_keys(&inner.stored.values().flatten().cloned().collect::<Vec<_>>())))
        .collect();
    keys.sort();
    keys
}

fn seqs_stored(receiver: &Receiver) -> Vec<u64> {
    receiver.with(|inner| inner.stored.keys().copied().collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_collector_that_is_down_sends_every_batch_to_the_second_at_once() {
    // Reserved and not listening: the first collector is down for the whole run.
    let down = ReservedPort::loopback();
    let up = Receiver::start(SENSOR, TOKEN).await;
    let started = Instant::now();
    let (mut expected, snapshot) = replay_to(&[format!("http://{}", down.address()), up.url()], 3_000, 11).await;
    expected.sort();

    assert_eq!(stored_keys(&[&up]), expected, "the second collector got every kept packet once");
    assert_eq!(snapshot.uploaded_rows, expected.len() as u64);
    assert_eq!(snapshot.duplicate_batches, 0);
    assert_eq!(snapshot.collector_failovers, 1, "it moved once and stayed with the collector that answers");
    assert!(started.elapsed() < Duration::from_secs(15));
    let heartbeats = up.with(|inner| inner.heartbeats.len());
    assert!(heartbeats >= 1, "the collector that is up gets heartbeats");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_move_on_when_the_active_collector_fails_and_heartbeats_reach_both() {
    let first = Receiver::start(SENSOR, TOKEN).await;
    let second = Receiver::start(SENSOR, TOKEN).await;
    // The first collector is overloaded for its first batch; the second fails every try of batch 3.
    first.with(|inner| inner.script.push_back(Scripted::unavailable(30)));
    second.with(|inner| inner.per_seq.insert(3, Scripted::unavailable(30)));
    let (mut expected, snapshot) = replay_to(&[first.url(), second.url()], 3_000, 12).await;
    expected.sort();

    assert_eq!(stored_keys(&[&first, &second]), expected, "every kept packet once over the two collectors");
    assert_eq!(seqs_stored(&second), [1, 2], "batch 1 moved to the second collector, which kept 2");
    let on_first = seqs_stored(&first);
    assert_eq!(on_first.first(), Some(&3), "batch 3 moved back to the first collector: {on_first:?}");
    assert!(on_first.windows(2).all(|w| w[1] == w[0] + 1), "and the rest stayed there: {on_first:?}");
    assert_eq!(snapshot.collector_failovers, 2);
    assert_eq!(snapshot.upload_retries, 2, "each failure was tried again at once elsewhere");
    for receiver in [&first, &second] {
        let beats = receiver.with(|inner| inner.heartbeats.len());
        assert!(beats >= 1, "both collectors get heartbeats");
        let problems = receiver.with(|inner| inner.problems.clone());
        assert!(problems.is_empty(), "wire-format problems: {problems:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_contacts_every_collector_and_names_the_one_that_fails() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("a.pcap");
    std::fs::write(&pcap, b"").unwrap();
    let up = Receiver::start(SENSOR, TOKEN).await;
    let down = ReservedPort::loopback();
    let config = config(dir.path(), &[up.url(), format!("http://{}", down.address())], &pcap);
    let mut lines: Vec<CheckLine> = Vec::new();
    let failed = nightjar_sensor::check::run(&config, true, &mut |line| lines.push(line.clone()))
        .await
        .expect_err("the second collector is down");
    assert_eq!(failed.check, "connect");
    assert!(failed.detail.starts_with(&format!("collector 2 of 2 (127.0.0.1:{})", down.port())), "{failed}");
    let token = lines.iter().find(|l| l.check == "token").expect("the first collector was checked whole");
    assert_eq!(token.outcome, Outcome::Passed);
    assert!(token.detail.starts_with(&format!("collector 1 of 2 ({})", up.address)), "{}", token.detail);
    assert_eq!(up.with(|inner| inner.heartbeats.len()), 1, "the check sent one heartbeat to the first");
}
