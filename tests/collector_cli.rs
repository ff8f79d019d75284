//! The `nightjar collector` and `nightjar sensors` commands, run as a user
//! would: issue a token, start the server, send a heartbeat, list sensors.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nightjar_test_kit::collector_process::CollectorProcess;

// Each test uses part of the shared helper.

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

fn nightjar(args: &[&str]) -> std::process::Output {
    Command::new(NIGHTJAR).args(args).output().expect("nightjar runs")
}

fn tokens_server_heartbeat_and_sensor_list() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("collector.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\ndataset_dir = \"data\"\nstate_dir = \"state\"\nsilent_after_s = 60\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let added = nightjar(&["collector", "add-sensor", "osaka-1", "--config", config]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let token = String::from_utf8(added.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("njs_"), "the token is printed alone on stdout: {token}");
    assert!(nightjar(&["collector", "add-sensor", "kobe-1", "--config", config]).status.success());
    let again = nightjar(&["collector", "add-sensor", "osaka-1", "--config", config]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let server = CollectorProcess::start(NIGHTJAR, Path::new(config));
    let addr = server.addr.clone();

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = runtime.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
            .post(format!("http://{addr}/v1/heartbeat"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"sensor": "osaka-1", "uptime_s": 1}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 204);
    // The registry is saved every two seconds.
    std::thread::sleep(Duration::from_millis(2500));

    let listed = nightjar(&["sensors", "--config", config, "--fail-on-silent"]);
    let table = String::from_utf8_lossy(&listed.stdout);
    let osaka = table.lines().find(|l| l.starts_with("osaka-1")).expect("osaka-1 listed");
    let kobe = table.lines().find(|l| l.starts_with("kobe-1")).expect("kobe-1 listed");
    assert!(osaka.contains(" new "), "first heard from, no rows yet: {table}");
    assert!(kobe.contains("SILENT") && kobe.contains("never"), "{table}");
    assert_eq!(listed.status.code(), Some(2), "a silent sensor fails --fail-on-silent");

    assert!(nightjar(&["collector", "revoke-sensor", "kobe-1", "--config", config]).status.success());
    let listed = nightjar(&["sensors", "--config", config, "--fail-on-silent"]);
    assert!(listed.status.success(), "revoked sensors are not silent ones");
    assert!(String::from_utf8_lossy(&listed.stdout).lines().any(|l| l.starts_with("kobe-1") && l.contains("revoked")));
    drop(server);
}

// Error messages used to repeat their cause: `reading X: No such file…` followed by the chain's
// own `No such file…`. Each library error now names the step and keeps the OS error as its source.
fn an_os_error_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let config = missing.to_str().unwrap();
    let runs = [
        nightjar(&["collector", "--config", config]),
        nightjar(&["collector", "add-sensor", "osaka-1", "--config", config]),
        nightjar(&[
            "import",
            dir.path().join("missing.pcap").to_str().unwrap(),
            "--out",
            dir.path().join("data").to_str().unwrap(),
            "--dark-prefix",
            "192.0.2.0/24",
        ]),
    ];
    for output in runs {
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
        assert!(stderr.contains("missing."), "the message names the file: {stderr}");
    }
}

// `--log-format json` left the collector's "listening on" line as plain text, which a log
// pipeline reading JSON lines cannot parse.
fn json_logs_are_json_from_the_first_line() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("collector.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\ndataset_dir = \"data\"\nstate_dir = \"state\"\n").unwrap();
    let mut child = Command::new(NIGHTJAR)
        .args(["collector", "--log-format", "json", "--config"])
        .arg(&config)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let listening = loop {
        let Some(Ok(line)) = lines.next() else { break false };
        let event: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        seen.push(line);
        if event["message"].as_str().is_some_and(|m| m.starts_with("nightjar collector listening on 127.0.0.1:")) {
            break true;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(listening, "the listening line is a JSON event: {seen:#?}");
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(tokens_server_heartbeat_and_sensor_list),
        trial!(an_os_error_is_said_once),
        trial!(json_logs_are_json_from_the_first_line),
    ]
}
