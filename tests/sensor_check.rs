//! What a partner's operator sees when a sensor is set up wrong, with the
//! real binaries: `nightjar sensor --check` makes a round trip to the real
//! collector over TLS and fails, naming the check and the reason, on a wrong
//! token, a wrong sensor id, a stopped collector, an untrusted certificate
//! and a skewed clock — and creates nothing on disk; a running sensor whose
//! id does not match its token logs the refusal at ERROR, counts it on
//! `/metrics` and keeps its spool, and the collector stores nothing; a
//! sensor whose spool was reset gets `409` for a reused sequence number,
//! stops uploading and keeps its spool.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nightjar_test_kit::collector_process::{CollectorProcess, write_tls_collector};
use nightjar_test_kit::plain_http;
use nightjar_test_kit::ports::ReservedPort;
use nightjar_test_kit::replay_capture;
use nightjar_test_kit::sensor_toml::SensorToml;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
const TIMEOUT: Duration = Duration::from_secs(60);

/// A real collector over TLS (a self-signed rcgen certificate) that knows `tokyo-1`.
struct Collector {
    dir: tempfile::TempDir,
    process: Option<CollectorProcess>,
    token: String,
}

impl Collector {
    fn start() -> Collector {
        let dir = tempfile::tempdir().unwrap();
        let config = write_tls_collector(dir.path());
        let added = Command::new(NIGHTJAR)
            .args(["collector", "add-sensor", "tokyo-1", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
        let token = String::from_utf8(added.stdout).unwrap().trim().to_string();
        let process = CollectorProcess::start(NIGHTJAR, &config);
        Collector { dir, process: Some(process), token }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.process.as_ref().expect("running").port())
    }

    fn certificate(&self) -> PathBuf {
        self.dir.path().join("collector.crt")
    }

    /// `.parquet` files in the collector's dataset.
    fn dataset_files(&self) -> usize {
        let mut found = 0;
        let mut folders = vec![self.dir.path().join("data")];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                if entry.path().is_dir() {
                    folders.push(entry.path());
                } else if entry.file_name().to_string_lossy().ends_with(".parquet") {
                    found += 1;
                }
            }
        }
        found
    }
}

/// A sensor's folder: its config, its token and (maybe) a CA file; the spool
/// would go to `spool/` in it.
fn sensor_dir(id: &str, url: &str, token: &str, ca_file: Option<&Path>, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sensor.token"), format!("{token}\n")).unwrap();
    let (pcap, _) = replay_capture::make_capture(dir.path(), "replay.pcap", 600, 31, 60);
    let mut config = SensorToml::replay(id, "sensor.token", url, &[&pcap])
        .set("uplink.connect_timeout", "2s")
        .set("uplink.request_timeout", "5s")
        .set("uplink.max_backoff", "500ms")
        .set("uplink.auth_retry", "1s")
        // Live-like: keep running after the replay.
        .set("capture.exit_after_replay", false)
        .set("batch.max_rows", 200)
        .set("heartbeat.interval", "1s")
        .merge(extra);
    if let Some(ca) = ca_file {
        std::fs::copy(ca, dir.path().join("collector-ca.pem")).unwrap();
        config = config.set("uplink.ca_file", "collector-ca.pem");
    }
    config.write(&dir.path().join("sensor.toml"));
    dir
}

/// Every path under `dir`, sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            if entry.path().is_dir() {
                folders.push(entry.path());
            }
            found.push(entry.path());
        }
    }
    found.sort();
    found
}

/// Run `nightjar sensor --config DIR/sensor.toml --check`; assert it left
/// the folder exactly as it was.
fn check(dir: &Path) -> Output {
    let before = tree(dir);
    let out =
        Command::new(NIGHTJAR).args(["sensor", "--check", "--config"]).arg(dir.join("sensor.toml")).output().unwrap();
    assert_eq!(tree(dir), before, "--check changed nothing on disk\n{}", text(&out));
    assert!(!dir.join("spool").exists(), "no spool folder was created");
    out
}

fn text(out: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The `--check` line of `check`, e.g. `FAILED  token      HTTP 401 …`.
fn line<'a>(out: &'a str, check: &str) -> &'a str {
    // Eight columns of outcome, then the check's name, padded.
    out.lines()
        .find(|l| l.get(8..).is_some_and(|rest| rest.starts_with(&format!("{check} "))))
        .unwrap_or_else(|| panic!("no `{check}` line in\n{out}"))
}

fn assert_failed_at(out: &Output, check: &str, reason: &str) {
    let all = text(out);
    assert!(!out.status.success(), "the check must fail\n{all}");
    assert!(line(&all, check).starts_with("FAILED"), "{all}");
    assert!(line(&all, check).contains(reason), "`{check}` names the reason `{reason}`\n{all}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("check `{check}` failed")), "{all}");
}

fn check_against_a_good_collector_passes_every_line() {
    let collector = Collector::start();
    let dir = sensor_dir("tokyo-1", &collector.url(), &collector.token, Some(&collector.certificate()), "");
    let out = check(dir.path());
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    for name in ["files", "spool", "capture", "connect", "tls", "token", "sensor id", "clock"] {
        assert!(line(&all, name).starts_with("ok"), "`{name}` passes\n{all}");
    }
    assert!(line(&all, "spool").contains("does not exist yet"), "{all}");
    assert!(line(&all, "clock").contains("within 1 s") || line(&all, "clock").contains(" s "), "{all}");
}

fn check_with_a_wrong_token_fails_at_token() {
    let collector = Collector::start();
    let dir = sensor_dir("tokyo-1", &collector.url(), "not-the-token", Some(&collector.certificate()), "");
    assert_failed_at(&check(dir.path()), "token", "401");
}

fn check_with_another_sensors_token_fails_at_sensor_id_naming_both() {
    let collector = Collector::start();
    let dir = sensor_dir("partner-1", &collector.url(), &collector.token, Some(&collector.certificate()), "");
    let out = check(dir.path());
    assert_failed_at(&out, "sensor id", "403");
    assert!(line(&text(&out), "sensor id").contains("tokyo-1"), "{}", text(&out));
}

fn check_against_a_stopped_collector_fails_at_connect() {
    // Reserved and not listening: connections are refused, as by a stopped collector.
    let stopped = ReservedPort::loopback();
    let dir = sensor_dir("tokyo-1", &format!("http://{}", stopped.address()), "some-token", None, "");
    assert_failed_at(&check(dir.path()), "connect", "cannot connect");
}

fn check_trusting_another_ca_fails_at_tls() {
    let collector = Collector::start();
    let stranger = tempfile::tempdir().unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(stranger.path().join("other.crt"), other.cert.pem()).unwrap();
    let dir = sensor_dir("tokyo-1", &collector.url(), &collector.token, Some(&stranger.path().join("other.crt")), "");
    assert_failed_at(&check(dir.path()), "tls", "uplink.ca_file");
}

/// A collector stand-in whose clock is `offset` off: answers every request
/// `204` with such a `Date`.
fn skewed_server(offset: chrono::Duration) -> u16 {
    plain_http::serve(move |_| {
        let date = (chrono::Utc::now() + offset).format("%a, %d %b %Y %H:%M:%S GMT");
        Some(format!("HTTP/1.1 204 No Content\r\nDate: {date}\r\nConnection: close\r\n\r\n"))
    })
}

fn check_against_a_collector_whose_clock_is_15_minutes_off_fails_at_clock() {
    let behind = skewed_server(chrono::Duration::minutes(-15));
    let dir = sensor_dir("tokyo-1", &format!("http://127.0.0.1:{behind}"), "some-token", None, "");
    let out = check(dir.path());
    assert_failed_at(&out, "clock", "15 min ahead");
    assert!(line(&text(&out), "clock").contains("rejects rows"), "{}", text(&out));

    let ahead = skewed_server(chrono::Duration::minutes(15));
    let dir = sensor_dir("tokyo-1", &format!("http://127.0.0.1:{ahead}"), "some-token", None, "");
    assert_failed_at(&check(dir.path()), "clock", "15 min behind");

    let close = skewed_server(chrono::Duration::seconds(3));
    let dir = sensor_dir("tokyo-1", &format!("http://127.0.0.1:{close}"), "some-token", None, "");
    let out = check(dir.path());
    assert!(out.status.success(), "a few seconds are within the protocol's skew\n{}", text(&out));
}

fn check_offline_does_not_contact_the_collector() {
    let collector = ReservedPort::loopback();
    let dir = sensor_dir("tokyo-1", &format!("http://{}", collector.address()), "some-token", None, "");
    let before = tree(dir.path());
    let out = Command::new(NIGHTJAR)
        .args(["sensor", "--check", "--offline", "--config"])
        .arg(dir.path().join("sensor.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(line(&text(&out), "collector").starts_with("skipped"), "{}", text(&out));
    assert_eq!(tree(dir.path()), before);
}

/// The value of one series in a Prometheus text page.
fn series(page: &str, name: &str) -> Option<u64> {
    page.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
}

fn a_sensor_whose_id_does_not_match_its_token_logs_counts_and_keeps_its_spool() {
    let collector = Collector::start();
    let metrics = ReservedPort::loopback();
    let metrics_port = metrics.port();
    let extra = format!("[metrics]\nenabled = true\nlisten = \"127.0.0.1:{metrics_port}\"\nlog_interval = \"0s\"\n");
    let dir = sensor_dir("partner-1", &collector.url(), &collector.token, Some(&collector.certificate()), &extra);
    let config = dir.path().join("sensor.toml");
    let log = dir.path().join("sensor.log");
    let mut sensor = Command::new(NIGHTJAR)
        .args(["sensor", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();

    let forbidden = "nightjar_sensor_collector_refusals_total{request=\"batch\",reason=\"forbidden\"}";
    let deadline = Instant::now() + TIMEOUT;
    let page = loop {
        assert!(sensor.try_wait().unwrap().is_none(), "the sensor runs on\n{}", std::fs::read_to_string(&log).unwrap());
        if let Ok(page) = plain_http::get(metrics_port, "/metrics")
            && series(&page, forbidden).is_some_and(|n| n >= 2)
        {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "two refused uploads counted on /metrics\n{}\n{}",
            plain_http::get(metrics_port, "/metrics").unwrap_or_default(),
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let logged = std::fs::read_to_string(&log).unwrap();
    let refusal = logged
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("refuses this sensor's uploads"))
        .unwrap_or_else(|| panic!("the refusal is logged at ERROR\n{logged}"));
    assert!(refusal.contains("this token belongs to sensor `tokyo-1`, not to `partner-1`"), "{refusal}");
    assert!(refusal.contains("sensor.id"), "it says what to fix: {refusal}");
    assert!(series(&page, "nightjar_sensor_uploaded_batches_total").is_some_and(|n| n == 0), "{page}");
    let spooled = std::fs::read_dir(dir.path().join("spool/batches")).unwrap().count();
    assert!(spooled > 0, "the spool is kept");
    assert_eq!(collector.dataset_files(), 0, "the collector stored nothing");
    let _ = sensor.kill();
    let _ = sensor.wait();
}

fn a_sensor_whose_spool_was_reset_gets_409_from_the_real_collector_stops_and_keeps_its_spool() {
    let collector = Collector::start();
    let first = sensor_dir("tokyo-1", &collector.url(), &collector.token, Some(&collector.certificate()), "");
    let config = first.path().join("sensor.toml");
    let replay_once = std::fs::read_to_string(&config).unwrap().replace("exit_after_replay = false", "");
    std::fs::write(&config, &replay_once).unwrap();
    let run = |what: &str| {
        let out = Command::new(NIGHTJAR).args(["sensor", "--config"]).arg(&config).output().unwrap();
        assert!(out.status.success(), "{what}\n{}", text(&out));
        out
    };
    run("the first run uploads everything");
    let stored = collector.dataset_files();
    assert!(stored > 0);

    // The spool folder is lost; the next run numbers new traffic from 1 again.
    std::fs::remove_dir_all(first.path().join("spool")).unwrap();
    let (other, _) = replay_capture::make_capture(first.path(), "other.pcap", 600, 32, 60);
    let replay = format!("replay = [{:?}]", other.display().to_string());
    let second =
        replay_once.lines().map(|l| if l.starts_with("replay =") { replay.as_str() } else { l }).collect::<Vec<_>>();
    std::fs::write(&config, second.join("\n")).unwrap();
    let out = run("the second run ends once its replay is spooled and uploading stopped");
    let all = text(&out);
    let error = all
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("uploading stopped"))
        .unwrap_or_else(|| panic!("the conflict is logged at ERROR\n{all}"));
    assert!(error.contains("409") && error.contains("next-seq"), "{error}");
    let summary = all.lines().find(|l| l.starts_with("upload conflicts")).unwrap_or_else(|| panic!("{all}"));
    assert!(summary.contains(" 1 (uploading stopped"), "{summary}");
    let uploaded = all.lines().find(|l| l.starts_with("batches uploaded")).unwrap_or_else(|| panic!("{all}"));
    assert!(uploaded.contains(" 0 (0 rows"), "nothing is uploaded after the conflict: {uploaded}");
    let kept = std::fs::read_dir(first.path().join("spool/batches")).unwrap().count();
    assert!(kept >= 2, "the conflicting batch and the ones after it stay spooled ({kept})");
    assert_eq!(collector.dataset_files(), stored, "the collector stored nothing new");
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(check_against_a_good_collector_passes_every_line),
        trial!(check_with_a_wrong_token_fails_at_token),
        trial!(check_with_another_sensors_token_fails_at_sensor_id_naming_both),
        trial!(check_against_a_stopped_collector_fails_at_connect),
        trial!(check_trusting_another_ca_fails_at_tls),
        trial!(check_against_a_collector_whose_clock_is_15_minutes_off_fails_at_clock),
        trial!(check_offline_does_not_contact_the_collector),
        trial!(a_sensor_whose_id_does_not_match_its_token_logs_counts_and_keeps_its_spool),
        trial!(a_sensor_whose_spool_was_reset_gets_409_from_the_real_collector_stops_and_keeps_its_spool),
    ]
}
