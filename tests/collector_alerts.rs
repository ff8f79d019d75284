//! What an operator sees of sensors that are refused, stalled or silent: the
//! `nightjar sensors` table, the collector's log, its `/metrics`, and the
//! shipped Prometheus alert rules (`crates/nightjar-collector/alerts.example.yml`)
//! evaluated by `promtool test rules` on series scraped from a running
//! collector.
//!
//! The promtool tests need `promtool` (Debian package `prometheus`, see
//! `.ci/install-system-tools`) and the shared system-test prerequisites; they
//! are reported ignored without them unless `NIGHTJAR_SYSTEM_TESTS=require`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nightjar_test_kit::collector_process::CollectorProcess;
use nightjar_test_kit::prereq::{Need, Skipped};
use nightjar_test_kit::{prereq, process};

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

/// Seconds without news after which a sensor is silent (and with packets
/// waiting but nothing stored, stalled) in these tests.
const SILENT_AFTER_S: u64 = 4;

fn nightjar(args: &[&str]) -> std::process::Output {
    Command::new(NIGHTJAR).args(args).output().expect("nightjar runs")
}

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../nightjar-collector")
}

/// A collector folder with sensors added; returns (folder, config path, tokens by name).
fn collector_with(sensors: &[&str]) -> (tempfile::TempDir, PathBuf, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("collector.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndataset_dir = \"{}\"\nstate_dir = \"{}\"\nsilent_after = \"{SILENT_AFTER_S}s\"\n",
            dir.path().join("data").display(),
            dir.path().join("state").display()
        ),
    )
    .unwrap();
    let tokens = sensors
        .iter()
        .map(|name| {
            let added = nightjar(&["collector", "add-sensor", name, "--config", config.to_str().unwrap()]);
            assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
            String::from_utf8(added.stdout).unwrap().trim().to_string()
        })
        .collect();
    (dir, config, tokens)
}

fn heartbeat(sensor: &str, kept: u64, spooled_batches: u64) -> serde_json::Value {
    serde_json::json!({"sensor": sensor, "version": "test", "uptime_s": 1, "next_batch_seq": 1,
        "spooled_batches": spooled_batches, "spooled_bytes": 0, "counters": {"kept_packets_total": kept}})
}

async fn post_heartbeat(client: &reqwest::Client, addr: &str, token: &str, body: serde_json::Value) -> u16 {
    let sent = client.post(format!("http://{addr}/v1/heartbeat")).bearer_auth(token).json(&body).send().await;
    sent.unwrap().status().as_u16()
}

/// An upload with `token` that claims to come from `claimed`.
async fn post_upload_as(client: &reqwest::Client, addr: &str, token: &str, claimed: &str) -> u16 {
    let sent = client
        .post(format!("http://{addr}/v1/batches"))
        .bearer_auth(token)
        .header("Nightjar-Sensor", claimed)
        .header("Nightjar-Batch-Seq", "1")
        .header("Nightjar-Schema-Version", "1")
        .header("Content-Type", "application/vnd.apache.arrow.stream")
        .body(vec![0u8; 16])
        .send()
        .await;
    sent.unwrap().status().as_u16()
}

/// Sets up the operator's cases on a running collector and returns it:
/// `tokyo-1` uses its token under another id (its heartbeats get through,
/// its uploads are refused), `osaka-1` keeps packets that never arrive,
/// `kobe-1` was registered and never started.
fn refused_stalled_and_silent_sensors() -> (tempfile::TempDir, PathBuf, CollectorProcess) {
    let (dir, config, tokens) = collector_with(&["tokyo-1", "osaka-1", "kobe-1"]);
    let collector = CollectorProcess::start_logging(NIGHTJAR, &config, "info");
    let addr = collector.addr.clone();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        assert_eq!(post_heartbeat(&client, &addr, &tokens[0], heartbeat("tokyo-1", 100, 1)).await, 204);
        assert_eq!(post_heartbeat(&client, &addr, &tokens[1], heartbeat("osaka-1", 100, 0)).await, 204);
        assert_eq!(post_heartbeat(&client, &addr, &tokens[1], heartbeat("osaka-1", 200, 0)).await, 204);
        tokio::time::sleep(Duration::from_secs(SILENT_AFTER_S) + Duration::from_millis(300)).await;
        assert_eq!(post_heartbeat(&client, &addr, &tokens[1], heartbeat("osaka-1", 300, 0)).await, 204);
        assert_eq!(post_heartbeat(&client, &addr, &tokens[0], heartbeat("tokyo-1", 200, 1)).await, 204);
        assert_eq!(post_upload_as(&client, &addr, &tokens[0], "osaka-9").await, 403);
    });
    (dir, config, collector)
}

/// Wait (up to `within`) for a log line that contains every one of `parts`.
fn wait_for_log(collector: &CollectorProcess, parts: &[&str], within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let found = collector.log_lines(parts[0]).into_iter().find(|l| parts.iter().all(|p| l.contains(p)));
        match found {
            Some(line) => return line,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            None => panic!("no log line with {parts:?}:\n{}", collector.log_lines("").join("\n")),
        }
    }
}

fn refused_and_stalled_sensors_show_in_the_table_and_the_log() {
    let (_dir, config, collector) = refused_stalled_and_silent_sensors();
    // The registry file is written every two seconds.
    std::thread::sleep(Duration::from_millis(2_300));
    let listed = nightjar(&["sensors", "--config", config.to_str().unwrap(), "--fail-on-silent"]);
    let table = String::from_utf8_lossy(&listed.stdout).to_string();
    let row = |name: &str| table.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}: {table}"));
    assert!(row("tokyo-1").contains(" REFUSED "), "{table}");
    assert!(row("tokyo-1").contains("claiming sensor `osaka-9`"), "{table}");
    assert!(row("osaka-1").contains(" STALLED "), "{table}");
    assert!(row("osaka-1").contains("300 kept"), "{table}");
    assert!(row("kobe-1").contains(" SILENT ") && row("kobe-1").contains("never"), "{table}");
    assert_eq!(listed.status.code(), Some(2), "--fail-on-silent fails on sensors that need attention");
    let summary = String::from_utf8_lossy(&listed.stderr);
    assert!(
        summary.contains("1 refused") && summary.contains("1 stalled") && summary.contains("1 silent"),
        "{summary}"
    );

    // One line per change, with the ids as fields.
    let soon = Duration::from_secs(5);
    wait_for_log(&collector, &["sensor first heard from", "sensor=\"tokyo-1\""], soon);
    wait_for_log(&collector, &["sensor refused", "sensor=\"tokyo-1\"", "claimed_sensor=\"osaka-9\""], soon);
    wait_for_log(&collector, &["sensor stalled", "sensor=\"osaka-1\""], soon);
    assert_eq!(collector.log_lines("sensor refused").len(), 1, "{:?}", collector.log_lines("sensor"));
    // Silence comes with time alone: the periodic check reports it.
    let later = Duration::from_secs(SILENT_AFTER_S + 10);
    wait_for_log(&collector, &["sensor silent", "sensor=\"tokyo-1\""], later);
}

fn sensor_supplied_text_is_shown_escaped_and_cut() {
    let (dir, config, _tokens) = collector_with(&["tokyo-1"]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let hostile = format!("evil\u{1b}[2J\u{1b}]0;pwned\u{7}\r\n{}", "x".repeat(400));
    // A registry written by an older collector, before text was escaped on the way in.
    let registry = serde_json::json!({"tokyo-1": {
        "first_seen": now, "last_seen": now, "rows": 0,
        "last_error": [now, format!("403 forbidden: not `{hostile}`")],
        "refusal": {"at": now, "claimed_sensor": hostile, "reason": hostile},
    }});
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    std::fs::write(dir.path().join("state/registry.json"), registry.to_string()).unwrap();
    let listed = nightjar(&["sensors", "--config", config.to_str().unwrap()]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let table = String::from_utf8(listed.stdout).unwrap();
    assert!(table.lines().count() == 2, "{table:?}");
    assert!(!table.chars().any(|c| c.is_control() && c != '\n'), "{table:?}");
    assert!(table.contains("evil\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\r\\n"), "{table}");
    assert!(table.lines().all(|l| l.chars().count() < 260), "{table}");
}

fn shipped_alert_rules_pass_their_unit_tests() -> Result<(), Skipped> {
    let tools = prereq::prepare("shipped_alert_rules_pass_their_unit_tests", &[Need::Tool("promtool")])?;
    let promtool = tools.path("promtool");
    let dir = rules_dir();
    process::run_ok(
        Command::new(promtool).args(["check", "rules", "alerts.example.yml"]).current_dir(&dir),
        Duration::from_secs(60),
    );
    process::run_ok(
        Command::new(promtool).args(["test", "rules", "alerts.test.yml"]).current_dir(&dir),
        Duration::from_secs(60),
    );
    Ok(())
}

/// `humanizeDuration` of Prometheus templates for a whole number of seconds under an hour.
fn humanize_duration(seconds: i64) -> String {
    format!("{}m {}s", seconds / 60, seconds % 60)
}

fn alert_rules_fire_on_series_scraped_from_a_running_collector() -> Result<(), Skipped> {
    let tools =
        prereq::prepare("alert_rules_fire_on_series_scraped_from_a_running_collector", &[Need::Tool("promtool")])?;
    let (dir, _config, collector) = refused_stalled_and_silent_sensors();
    let addr = collector.addr.clone();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (scraped, scraped_at) = runtime.block_on(async {
        let response = reqwest::get(format!("http://{addr}/metrics")).await.unwrap();
        let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        (response.text().await.unwrap(), at)
    });
    assert!(scraped.contains("nightjar_build_info{version=\""), "{scraped}");
    assert!(scraped.contains("nightjar_collector_upload_duration_seconds_count 1\n"), "{scraped}");

    // The test's clock starts at the scrape: timestamps become seconds before it,
    // and every series keeps its scraped value for the next 40 minutes.
    let mut input_series = String::new();
    let mut last_seen = std::collections::BTreeMap::new();
    for line in scraped.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("a sample line: {line}"));
        let mut value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
        if series.contains("_timestamp_seconds{") {
            value -= scraped_at as f64;
            if let Some(sensor) = series.strip_prefix("nightjar_collector_sensor_last_seen_timestamp_seconds{sensor=\"")
            {
                last_seen.insert(sensor.trim_end_matches("\"}").to_string(), value as i64);
            }
        }
        input_series.push_str(&format!("      - series: '{series}'\n        values: '{value}+0x40'\n"));
    }
    assert_eq!(last_seen.keys().collect::<Vec<_>>(), ["osaka-1", "tokyo-1"], "{scraped}");

    let sensor_alert = |name: &str, state: &str, summary: String, description: &str| {
        format!(
            "          - exp_labels: {{severity: {}, sensor: {name}{}}}\n            exp_annotations:\n              summary: \"{summary}\"\n              description: \"{description}\"\n",
            if state == "refused" || state == "stalled" { "critical" } else { "warning" },
            if state.is_empty() { String::new() } else { format!(", state: {state}") },
        )
    };
    let silent_at_s = 11 * 60;
    let silent: String = last_seen
        .iter()
        .map(|(sensor, seen)| {
            sensor_alert(
                sensor,
                "",
                format!("Sensor {sensor} silent for {}", humanize_duration(silent_at_s - seen)),
                &format!(
                    "The collector has heard nothing from sensor {sensor} for over 10 minutes. Check that the \
                     sensor runs (`systemctl status nightjar-sensor`), that it reaches the collector, and its log."
                ),
            )
        })
        .collect();
    let refused = sensor_alert(
        "tokyo-1",
        "refused",
        "Sensor tokyo-1: the collector refuses its uploads".into(),
        "Uploads with the token of sensor tokyo-1 are refused; its batches pile up in its spool. `nightjar sensors \
         --config collector.toml` shows the id they claimed and why. Fix the sensor's `sensor_id` or its token file.",
    );
    let stalled = sensor_alert(
        "osaka-1",
        "stalled",
        "Sensor osaka-1 captures packets but none are stored".into(),
        "The heartbeats of sensor osaka-1 show packets being kept while no batch has been stored. Look at the \
         sensor's uplink log and its spool, and at the collector's log for refusals.",
    );
    let never = sensor_alert(
        "kobe-1",
        "silent",
        "Sensor kobe-1 is registered but has never sent anything".into(),
        "`nightjar collector add-sensor` issued a token for kobe-1, but no request with it has arrived. Install \
         the token on the sensor or revoke it (`nightjar collector revoke-sensor`).",
    );
    let tests = format!(
        "rule_files:\n  - {rules}\nevaluation_interval: 1m\ntests:\n  - name: scraped from a running collector\n    interval: 1m\n    input_series:\n{input_series}    alert_rule_test:\n\
         \x20     - {{eval_time: 1m, alertname: NightjarSensorRefused, exp_alerts: []}}\n\
         \x20     - eval_time: 3m\n        alertname: NightjarSensorRefused\n        exp_alerts:\n{refused}\
         \x20     - eval_time: 6m\n        alertname: NightjarSensorStalled\n        exp_alerts:\n{stalled}\
         \x20     - eval_time: 31m\n        alertname: NightjarSensorNeverHeardFrom\n        exp_alerts:\n{never}\
         \x20     - {{eval_time: 9m, alertname: NightjarSensorSilent, exp_alerts: []}}\n\
         \x20     - eval_time: 11m\n        alertname: NightjarSensorSilent\n        exp_alerts:\n{silent}\
         \x20     - {{eval_time: 11m, alertname: NightjarCollectorUnhealthy, exp_alerts: []}}\n\
         \x20     - {{eval_time: 11m, alertname: NightjarCollectorWriteFailures, exp_alerts: []}}\n",
        rules = rules_dir().join("alerts.example.yml").display(),
    );
    let test_file = dir.path().join("scraped.test.yml");
    std::fs::write(&test_file, &tests).unwrap();
    let out = process::run(
        Command::new(tools.path("promtool")).arg("test").arg("rules").arg(&test_file),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "promtool test rules failed:\n{}{}\n--- {}:\n{tests}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        test_file.display()
    );
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(refused_and_stalled_sensors_show_in_the_table_and_the_log),
        trial!(sensor_supplied_text_is_shown_escaped_and_cut),
        trial!(shipped_alert_rules_pass_their_unit_tests),
        trial!(alert_rules_fire_on_series_scraped_from_a_running_collector),
    ]
}
