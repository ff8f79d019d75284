//! The `nightjar sensor` binary in offline mode against a wire-checking
//! test receiver on loopback: a replay arrives whole; a sensor killed with
//! SIGKILL and restarted keeps its spool, uploads it and never reuses a
//! sequence number; a `409` conflict stops uploading, keeps the spool and
//! is reported; `--log-format json` writes JSON lines; a bad config is an
//! error naming the key.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;

use nightjar_test_kit::plain_http;
use nightjar_test_kit::ports::ReservedPort;
use nightjar_test_kit::receiver::{Receiver, Scripted};
use nightjar_test_kit::replay_capture::make_capture;
use nightjar_test_kit::sensor_toml::SensorToml;

const SENSOR: &str = "cli-1";
const TOKEN: &str = "cli-test-token";
const TIMEOUT: Duration = Duration::from_secs(60);

fn nightjar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nightjar"))
}

fn write_config(dir: &Path, url: &str, pcap: &Path, pace: &str) -> PathBuf {
    write_config_with(dir, url, pcap, pace, "")
}

/// [`write_config`] with `extra` appended (whole sections).
fn write_config_with(dir: &Path, url: &str, pcap: &Path, pace: &str, extra: &str) -> PathBuf {
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    SensorToml::replay(SENSOR, "token", url, &[pcap])
        .set("uplink.initial_backoff", "50ms")
        .set("uplink.max_backoff", "300ms")
        .set("capture.replay_pace", pace)
        .set("batch.max_rows", 400)
        .set("batch.max_age", "200ms")
        .merge(extra)
        .write(&dir.join("sensor.toml"))
}

async fn wait_output(mut child: Child, what: &str) -> Output {
    let deadline = Instant::now() + TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not finish within {TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.wait_with_output().unwrap()
}

fn spawn_sensor(config: &Path) -> Child {
    nightjar()
        .args(["sensor", "--config"])
        .arg(config)
        .env("NIGHTJAR_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nightjar sensor")
}

fn spooled_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("spool/batches"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
}

async fn a_replay_arrives_whole_and_the_summary_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, ingest) = make_capture(dir.path(), "a.pcap", 3_000, 11, 60);
    let kept = ingest.counters().kept;
    let receiver = Receiver::start(SENSOR, TOKEN).await;
    let config = write_config(dir.path(), &receiver.url(), &pcap, "fast");
    let out = wait_output(spawn_sensor(&config), "nightjar sensor").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(receiver.stored_rows() as u64, kept);
    assert!(receiver.with(|i| i.problems.is_empty()), "{:?}", receiver.with(|i| i.problems.clone()));
    let line =
        |label: &str| stdout.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("{label}: {stdout}"));
    assert!(line("packets kept").ends_with(&format!(" {kept}")), "{stdout}");
    assert!(line("frames captured").ends_with(" 3000"), "{stdout}");
    assert!(line("left in spool").contains(" 0 ("), "{stdout}");
    assert!(stderr.contains("spool opened") && stderr.contains("capturing"), "{stderr}");
}

async fn sigkill_then_restart_uploads_the_spool_without_repeating_a_seq() {
    let dir = tempfile::tempdir().unwrap();
    let (slow, _) = make_capture(dir.path(), "slow.pcap", 3_000, 12, 30);
    let (fast, ingest) = make_capture(dir.path(), "fast.pcap", 700, 13, 60);
    let fast_kept = ingest.counters().kept;
    // Reserved and not listening until the receiver takes it over: the collector is down.
    let collector = ReservedPort::loopback();
    let url = format!("http://{}", collector.address());

    // The collector is down; the sensor spools, paced at the capture's speed.
    let config = write_config(dir.path(), &url, &slow, "original");
    let mut child = spawn_sensor(&config);
    let deadline = Instant::now() + TIMEOUT;
    while spooled_files(dir.path()).len() < 3 {
        assert!(Instant::now() < deadline, "the sensor did not spool 3 batches");
        assert!(child.try_wait().unwrap().is_none(), "the sensor exited early");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let survivors = spooled_files(dir.path());
    let mut surviving_rows = 0usize;
    let mut surviving_seqs = Vec::new();
    for file in &survivors {
        let batch = nightjar_sensor::spool::SpooledBatch::decode(&std::fs::read(file).unwrap())
            .unwrap_or_else(|e| panic!("{}: a spooled file is damaged after SIGKILL: {e}", file.display()));
        surviving_rows += batch.rows as usize;
        surviving_seqs.push(batch.seq);
    }
    let next_seq: u64 = std::fs::read_to_string(dir.path().join("spool/next-seq")).unwrap().trim().parse().unwrap();
    assert!(surviving_seqs.iter().all(|s| *s < next_seq), "next-seq {next_seq} is above every used number");

    // The collector comes up; a restarted sensor replays something new.
    let receiver = Receiver::start_on(collector.listen(), SENSOR, TOKEN);
    let config = write_config(dir.path(), &url, &fast, "fast");
    let out = wait_output(spawn_sensor(&config), "the restarted sensor").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let seqs: Vec<u64> = receiver.with(|i| i.requests.iter().map(|r| r.seq).collect());
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "every seq once, in order: {seqs:?}");
    assert_eq!(seqs[..surviving_seqs.len()], surviving_seqs[..], "the killed sensor's spool goes first");
    assert!(seqs[surviving_seqs.len()..].iter().all(|s| *s >= next_seq), "{seqs:?} vs next-seq {next_seq}");
    let stored: usize = receiver.with(|i| i.stored.values().flatten().map(RecordBatch::num_rows).sum());
    assert_eq!(stored as u64, surviving_rows as u64 + fast_kept);
    assert!(spooled_files(dir.path()).is_empty(), "the spool drained");
    assert!(receiver.with(|i| i.problems.is_empty()));
}

fn a_bad_config_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sensor.toml");
    SensorToml::live("x", "t", "http://collector.example.net", "eth0").set("spool.dir", "s").write(&config);
    let out = nightjar().args(["sensor", "--config"]).arg(&config).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("uplink.url") && stderr.contains("allow_insecure"), "{stderr}");
    assert!(!dir.path().join("s").exists(), "nothing was created");
}

async fn a_conflict_stops_uploading_keeps_the_spool_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, _) = make_capture(dir.path(), "a.pcap", 2_000, 14, 60);
    let receiver = Receiver::start(SENSOR, TOKEN).await;
    // The collector holds another batch under seq 2: numbers were reused.
    receiver.with(|i| i.per_seq.insert(2, Scripted::conflict()));
    let metrics = ReservedPort::loopback();
    let metrics_port = metrics.port();
    let extra = format!(
        "[capture]\nexit_after_replay = false\n\n[heartbeat]\ninterval = \"1s\"\n\n\
         [metrics]\nenabled = true\nlisten = \"127.0.0.1:{metrics_port}\"\nlog_interval = \"0s\"\n"
    );
    let config = write_config_with(dir.path(), &receiver.url(), &pcap, "fast", &extra);
    let log = dir.path().join("sensor.log");
    let child = nightjar()
        .args(["sensor", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();

    receiver.wait_until(TIMEOUT, "the 409 for seq 2", |i| i.requests.iter().any(|r| r.status == 409)).await;
    let beats = receiver.with(|i| i.heartbeats.len());
    receiver.wait_until(TIMEOUT, "two more heartbeats", |i| i.heartbeats.len() >= beats + 2).await;
    let requests = receiver.with(|i| i.requests.clone());
    assert_eq!(
        requests.iter().map(|r| (r.seq, r.status)).collect::<Vec<_>>(),
        [(1, 200), (2, 409)],
        "nothing after the conflict"
    );
    let last_beat = receiver.with(|i| i.heartbeats.last().cloned().unwrap());
    assert_eq!(last_beat["counters"]["upload_conflicts_total"], 1, "{last_beat}");
    assert_eq!(last_beat["counters"]["uplink_stopped"], 1, "{last_beat}");
    let page = plain_http::get(metrics_port, "/metrics").unwrap();
    assert!(page.contains("nightjar_sensor_upload_conflicts_total 1"), "{page}");
    assert!(page.contains("nightjar_sensor_uplink_stopped 1"), "{page}");
    let spooled = spooled_files(dir.path());
    let seqs: Vec<u64> = spooled
        .iter()
        .map(|f| nightjar_sensor::spool::SpooledBatch::decode(&std::fs::read(f).unwrap()).unwrap().seq)
        .collect();
    assert_eq!(seqs.first(), Some(&2), "the conflicting batch and every later one stay spooled: {seqs:?}");
    let logged = std::fs::read_to_string(&log).unwrap();
    let error = logged
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("uploading stopped"))
        .unwrap_or_else(|| panic!("{logged}"));
    assert!(error.contains("409") && error.contains("next-seq"), "it says what happened and what to do: {error}");

    // SIGTERM: the summary says it too.
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = wait_output(child, "the stopped sensor").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let line = stdout.lines().find(|l| l.starts_with("upload conflicts")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains(" 1 (uploading stopped"), "{line}");
}

async fn log_format_json_writes_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, _) = make_capture(dir.path(), "a.pcap", 500, 15, 60);
    let receiver = Receiver::start(SENSOR, TOKEN).await;
    let config = write_config(dir.path(), &receiver.url(), &pcap, "fast");
    let child = nightjar()
        .args(["--log-format", "json", "sensor", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_output(child, "nightjar sensor --log-format json").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let opened = lines.iter().find(|l| l["message"] == "spool opened").unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(opened["level"], "INFO", "{opened}");
    assert!(opened["timestamp"].is_string() && opened["next_seq"].is_u64(), "structured fields: {opened}");

    // The flag is global, and the final error of a failing command is a JSON line too.
    let out =
        nightjar().args(["sensor", "--config", "/nonexistent/sensor.toml", "--log-format", "json"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last: serde_json::Value =
        serde_json::from_str(stderr.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(last["level"], "ERROR");
    assert!(last["error"].as_str().is_some_and(|e| e.contains("/nonexistent/sensor.toml")), "{last}");
}

/// A collector stand-in that accepts heartbeats and hangs up on every upload
/// without an answer (the connection is reset under the sensor's body).
fn hanging_up_server() -> u16 {
    plain_http::serve(|request_line| {
        request_line
            .contains("/v1/heartbeat")
            .then(|| "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".to_string())
    })
}

async fn an_upload_without_an_answer_is_a_warning_with_its_cause_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, _) = make_capture(dir.path(), "a.pcap", 1_000, 16, 60);
    let port = hanging_up_server();
    let config = write_config(dir.path(), &format!("http://127.0.0.1:{port}"), &pcap, "fast");
    let text =
        std::fs::read_to_string(&config).unwrap().replace("replay_pace", "exit_after_replay = false\nreplay_pace");
    std::fs::write(&config, text).unwrap();
    let child = spawn_sensor(&config);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = wait_output(child, "the sensor").await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let warning = stderr
        .lines()
        .find(|l| l.contains("WARN") && l.contains("upload failed (no answer:"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(warning.contains("/v1/batches") && warning.contains("): "), "the cause is named: {warning}");
    let warnings = stderr.lines().filter(|l| l.contains("upload failed")).count();
    assert_eq!(warnings, 1, "repeated failures are logged once a minute, not each time\n{stderr}");
    let retries = stdout.lines().find(|l| l.starts_with("upload retries")).unwrap_or_else(|| panic!("{stdout}"));
    let counted: Vec<u64> = retries.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    assert!(
        counted.len() >= 2 && counted[0] >= 2 && counted[0] == counted[1],
        "every retry was without an answer: {retries}"
    );
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(async a_replay_arrives_whole_and_the_summary_says_so),
        trial!(async sigkill_then_restart_uploads_the_spool_without_repeating_a_seq),
        trial!(a_bad_config_is_an_error_naming_the_key),
        trial!(async a_conflict_stops_uploading_keeps_the_spool_and_is_reported),
        trial!(async log_format_json_writes_one_json_object_per_line),
        trial!(async an_upload_without_an_answer_is_a_warning_with_its_cause_and_counted),
    ]
}
