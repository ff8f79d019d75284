//! The collector down for a long stretch while a sensor keeps capturing:
//! the real `nightjar sensor` replays a capture at its original pace
//! (packets keep arriving the whole time), the real `nightjar collector` is
//! stopped a few seconds in and started again later. The sensor spools what
//! it captures meanwhile and drains it afterwards: every packet it kept is
//! in the dataset exactly once, checked packet by packet.
//!
//! The short version (CI) keeps the collector down for 25 s; with
//! `NIGHTJAR_LONG_TESTS=1` it stays down for 3 minutes under a longer
//! capture (`tests/reliability/run` sets it).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nightjar_test_kit::collector_process::CollectorProcess;
use nightjar_test_kit::conservation;
use nightjar_test_kit::conservation::{Collected, SensorSetup};
use nightjar_test_kit::ports::ReservedPort;
use nightjar_test_kit::replay_capture::make_capture;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
const SENSOR: &str = "outage-long";

/// Spooled batch files.
fn spooled(spool: &Path) -> usize {
    std::fs::read_dir(spool.join("batches")).map(|d| d.count()).unwrap_or(0)
}

/// Stop the collector the orderly way (SIGTERM) and wait for it.
fn stop(mut collector: CollectorProcess) {
    let pid = collector.child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while collector.child.try_wait().ok().flatten().is_none() {
        assert!(Instant::now() < deadline, "the collector stops on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn collector_down_under_traffic_then_back_everything_arrives_once() {
    // (packets, capture length, when the collector goes down, how long it stays down)
    let (packets, capture_s, down_at, down_for) = if conservation::long_tests() {
        (30_000, 240, Duration::from_secs(10), Duration::from_secs(180))
    } else {
        (6_000, 40, Duration::from_secs(5), Duration::from_secs(25))
    };
    let dir = tempfile::tempdir().unwrap();
    // The collector (re)starts on this port; the reservation keeps it ours meanwhile.
    let reserved = ReservedPort::loopback();
    let port = reserved.port();
    let collector_config = dir.path().join("collector.toml");
    std::fs::write(&collector_config, conservation::collector_toml(&format!("127.0.0.1:{port}"), 2)).unwrap();
    conservation::add_sensor(NIGHTJAR, &collector_config, SENSOR, &dir.path().join("sensor.token"));

    let (pcap, mut ingest) = make_capture(dir.path(), "replay.pcap", packets, 31, capture_s);
    let kept = ingest.counters().kept;
    let expected = conservation::packet_keys(&[ingest.finish_batch(SENSOR, 0)]);
    let spool = dir.path().join("spool");
    let url = format!("http://127.0.0.1:{port}");
    let config = conservation::write_sensor_config(
        dir.path(),
        &SensorSetup { id: SENSOR, url: &url, pcap: &pcap, pace: "original", uplink: "", spool_dir: &spool, spool: "" },
    );

    let collector = CollectorProcess::start(NIGHTJAR, &collector_config);
    let started = Instant::now();
    let mut sensor = Collected::spawn(Command::new(NIGHTJAR).args(["sensor", "--config"]).arg(&config), "the sensor");
    std::thread::sleep(down_at);
    stop(collector);
    let went_down = Instant::now();
    // While it is down the sensor keeps capturing and its spool grows.
    let mut peak = 0;
    while went_down.elapsed() < down_for {
        assert!(sensor.running(), "the sensor keeps running while the collector is down:\n{}", sensor.stderr());
        peak = peak.max(spooled(&spool));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(peak >= 3, "the sensor spooled while the collector was down (peak {peak} batches)");
    let collector = CollectorProcess::start(NIGHTJAR, &collector_config);
    let (stdout, _) = sensor.wait(Duration::from_secs(capture_s + 120).saturating_sub(started.elapsed()));
    drop(collector);

    assert_eq!(conservation::sensor_line(&stdout, "packets kept").0, kept, "{stdout}");
    let (uploaded, duplicates) = conservation::acknowledged(&stdout);
    assert_eq!(conservation::sensor_line(&stdout, "dropped, spool full"), (0, 0), "{stdout}");
    assert_eq!(conservation::sensor_line(&stdout, "spool write errors"), (0, 0), "{stdout}");
    assert_eq!(conservation::sensor_line(&stdout, "left in spool").0, 0, "{stdout}");

    let (tally, per_batch) = conservation::assert_conserved(&expected, &dir.path().join("data"));
    assert_eq!(per_batch.len() as u64, uploaded + duplicates, "one stored batch per acknowledged batch");
    conservation::report(
        "collector_down",
        &[
            ("down_s", down_for.as_secs().to_string()),
            ("packets", tally.expected.to_string()),
            ("batches", uploaded.to_string()),
            ("spool_peak_batches", peak.to_string()),
            ("lost", tally.lost.to_string()),
            ("duplicated", tally.duplicated.to_string()),
        ],
    );
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![trial!(collector_down_under_traffic_then_back_everything_arrives_once)]
}
