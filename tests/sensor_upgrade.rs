//! A sensor upgraded in place: one build of the sensor spools while the
//! collector is down, is stopped the orderly way (SIGTERM, as `systemctl
//! stop` and a package upgrade do), and another build starts on the same
//! configuration and spool — the all-in-one `nightjar sensor` replaced by the
//! `nightjar-sensor` binary, and the other way round. Meanwhile more traffic
//! arrives; then the collector comes up. Every packet of both runs is in the
//! dataset exactly once, and the new build's batches carry sequence numbers
//! after the old build's (none reused, none skipped).
//!
//! The capture file stands for the interface: after the stop it holds the
//! traffic that arrived meanwhile (the config names the same file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nightjar_test_kit::collector_process::CollectorProcess;
use nightjar_test_kit::conservation::{self, SensorSetup};
use nightjar_test_kit::ports::ReservedPort;
use nightjar_test_kit::prereq::{self, Skipped};
use nightjar_test_kit::replay_capture::make_capture;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
const WAIT: Duration = Duration::from_secs(90);

/// The `nightjar-sensor` binary of this build (cargo puts every binary of the workspace beside
/// `nightjar`; `cargo test --workspace` builds it), or why the test cannot run.
fn sensor_binary(test: &str) -> Result<PathBuf, Skipped> {
    let binary = Path::new(NIGHTJAR).with_file_name("nightjar-sensor");
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(prereq::missing(test, format!("{} is not built (`cargo build --workspace` builds it)", binary.display())))
    }
}

/// A build of the sensor: the program and the arguments before `--config`.
struct Build {
    program: PathBuf,
    subcommand: Option<&'static str>,
}

impl Build {
    fn all_in_one() -> Build {
        Build { program: PathBuf::from(NIGHTJAR), subcommand: Some("sensor") }
    }

    fn sensor_binary(program: PathBuf) -> Build {
        Build { program, subcommand: None }
    }

    /// Start it on `config`, its stdout and stderr written to `log` (`.out`, `.err`).
    fn start(&self, config: &Path, log: &Path) -> Child {
        let mut command = Command::new(&self.program);
        command.args(self.subcommand).arg("--config").arg(config).env("NIGHTJAR_LOG", "info");
        command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log.with_extension("out")).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", self.program.display()))
    }
}

/// Wait up to [`WAIT`] for `child` to exit successfully; its stdout.
fn finished(mut child: Child, log: &Path) -> String {
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the sensor did not finish within {WAIT:?}:\n{}", read(&log.with_extension("err")));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = read(&log.with_extension("out"));
    assert!(status.success(), "the sensor failed ({status}):\n{stdout}\n{}", read(&log.with_extension("err")));
    stdout
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Wait until `log`'s stderr has a line containing `text`.
fn wait_for_line(log: &Path, text: &str) {
    let deadline = Instant::now() + WAIT;
    while !read(&log.with_extension("err")).contains(text) {
        assert!(Instant::now() < deadline, "no `{text}` in the log:\n{}", read(&log.with_extension("err")));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM: what `systemctl stop` and a package upgrade send.
fn terminate(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -TERM");
}

/// The sequence number the spool gives its next batch (`spool/next-seq`).
fn next_seq(spool: &Path) -> u64 {
    let text = std::fs::read_to_string(spool.join("next-seq")).expect("the spool keeps next-seq");
    text.trim().parse().unwrap_or_else(|_| panic!("next-seq holds `{text}`"))
}

/// `dir/collector.toml` for a collector that will listen on the port `reserved` keeps free, and
/// knows `sensor` (whose token goes to `dir/sensor.token`).
fn collector_for(dir: &Path, sensor: &str, reserved: &ReservedPort) -> PathBuf {
    let config = dir.join("collector.toml");
    let listen = format!("127.0.0.1:{}", reserved.port());
    std::fs::write(&config, conservation::collector_toml(&listen, 0)).unwrap();
    conservation::add_sensor(NIGHTJAR, &config, sensor, &dir.join("sensor.token"));
    config
}

/// The old build spools the first traffic with the collector down and is stopped; the new one
/// spools the second with the collector still down, then the collector starts.
fn upgrade(old: &Build, new: &Build, sensor: &str) {
    let dir = tempfile::tempdir().unwrap();
    // The collector starts late, on this port; the reservation keeps it free meanwhile.
    let reserved = ReservedPort::loopback();
    let collector_config = collector_for(dir.path(), sensor, &reserved);

    // Two stretches of traffic: before the stop, and while the new build starts.
    let (capture, mut before) = make_capture(dir.path(), "interface.pcap", 2_000, 41, 30);
    let (later, mut after) = make_capture(dir.path(), "later.pcap", 2_000, 42, 30);
    let kept = (before.counters().kept, after.counters().kept);
    let mut expected: BTreeMap<String, u64> = conservation::packet_keys(&[before.finish_batch(sensor, 0)]);
    for (key, count) in conservation::packet_keys(&[after.finish_batch(sensor, 0)]) {
        *expected.entry(key).or_insert(0) += count;
    }
    let spool = dir.path().join("spool");
    let url = format!("http://127.0.0.1:{}", reserved.port());
    let setup =
        SensorSetup { id: sensor, url: &url, pcap: &capture, pace: "fast", uplink: "", spool_dir: &spool, spool: "" };
    let config = conservation::write_sensor_config(dir.path(), &setup);

    // The old build: the collector is down, everything it keeps stays spooled.
    let old_log = dir.path().join("old");
    let running = old.start(&config, &old_log);
    wait_for_line(&old_log, "capture stopped");
    terminate(&running);
    let old_summary = finished(running, &old_log);
    assert_eq!(conservation::sensor_line(&old_summary, "packets kept").0, kept.0, "{old_summary}");
    let (old_batches, _) = conservation::sensor_line(&old_summary, "batches spooled");
    assert!(old_batches >= 3, "the old build spooled its batches:\n{old_summary}");
    assert_eq!(conservation::sensor_line(&old_summary, "batches uploaded").0, 0, "{old_summary}");
    let seq_after_old = next_seq(&spool);

    // The upgrade: new traffic on the interface, the new build on the same config and spool.
    std::fs::rename(&later, &capture).unwrap();
    let new_log = dir.path().join("new");
    let running = new.start(&config, &new_log);
    wait_for_line(&new_log, "capture stopped");
    let collector = CollectorProcess::start(NIGHTJAR, &collector_config);
    let new_summary = finished(running, &new_log);
    drop(collector);

    assert_eq!(conservation::sensor_line(&new_summary, "packets kept").0, kept.1, "{new_summary}");
    let (new_batches, _) = conservation::sensor_line(&new_summary, "batches spooled");
    let (uploaded, duplicates) = conservation::acknowledged(&new_summary);
    assert_eq!(uploaded + duplicates, old_batches + new_batches, "every spooled batch acknowledged:\n{new_summary}");
    assert_eq!(conservation::sensor_line(&new_summary, "left in spool").0, 0, "{new_summary}");
    assert_eq!(next_seq(&spool), seq_after_old + new_batches, "the new build numbers on from the old one");

    let stored = conservation::committed_batches(&dir.path().join("data"));
    let tally = conservation::compare(&expected, &conservation::packet_keys(&stored));
    assert_eq!(tally.lost, 0, "packets lost: {tally:?}");
    assert_eq!(tally.duplicated, 0, "packets stored twice: {tally:?}");
    assert_eq!(tally.unexpected, 0, "rows no sensor kept: {tally:?}");
    let seqs = conservation::seqs_of(&conservation::rows_per_batch(&stored), sensor);
    let first = seq_after_old - old_batches;
    assert_eq!(
        seqs.keys().copied().collect::<Vec<_>>(),
        (first..seq_after_old + new_batches).collect::<Vec<_>>(),
        "one stored batch per sequence number, old and new build in one run of numbers"
    );
}

fn all_in_one_sensor_upgraded_to_the_sensor_binary_delivers_every_packet_once() -> Result<(), Skipped> {
    let binary = sensor_binary("sensor_upgrade::all_in_one_sensor_upgraded_to_the_sensor_binary")?;
    upgrade(&Build::all_in_one(), &Build::sensor_binary(binary), "upgrade-1");
    Ok(())
}

fn sensor_binary_replaced_by_the_all_in_one_delivers_every_packet_once() -> Result<(), Skipped> {
    let binary = sensor_binary("sensor_upgrade::sensor_binary_replaced_by_the_all_in_one")?;
    upgrade(&Build::sensor_binary(binary), &Build::all_in_one(), "upgrade-2");
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(all_in_one_sensor_upgraded_to_the_sensor_binary_delivers_every_packet_once),
        trial!(sensor_binary_replaced_by_the_all_in_one_delivers_every_packet_once),
    ]
}
