//! Token files under concurrent commands, with the real binary: `nightjar collector
//! add-sensor`/`revoke-sensor` and `nightjar serve-sql add-token`/`revoke-token` run as many
//! processes at once, each taking the file's lock, so no change is lost, and a running server
//! refuses a revoked token on the first request after the command returned.
//!
//! Regression: of 30 concurrent `add-sensor` processes only 5 tokens were stored, and a
//! `revoke-sensor` that printed "revoked" was lost in 6 of 10 rounds racing with `add-sensor`.

// Each test uses part of the shared helper.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use arrow_flight::sql::client::FlightSqlServiceClient;
use tonic::transport::{Channel, Endpoint};

use nightjar_test_kit::collector_process::CollectorProcess;
use nightjar_test_kit::fixture;
use nightjar_test_kit::serve_sql_process::ServeSqlProcess;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

/// How many commands run at once in the "all at once" tests.
const CONCURRENT: usize = 30;
/// Rounds of a revocation racing with additions, and the additions in each.
const ROUNDS: usize = 10;
const ADDS_PER_ROUND: usize = 5;

fn spawn(args: &[&str]) -> Child {
    Command::new(NIGHTJAR).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("nightjar runs")
}

/// The token a successful adding command printed alone on its standard output.
fn printed_token(what: &str, output: Output) -> String {
    assert!(output.status.success(), "{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("the token is UTF-8").trim().to_string()
}

/// A collector over `dir` on a loopback port: its config's path (as text, for the
/// commands' arguments) and the running server.
fn start_collector(dir: &Path) -> (String, CollectorProcess) {
    let config = dir.join("collector.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\ndataset_dir = \"data\"\nstate_dir = \"state\"\n")
        .expect("the config is written");
    let server = CollectorProcess::start(NIGHTJAR, &config);
    (config.to_str().expect("UTF-8 path").to_string(), server)
}

/// The HTTP status the running collector answers a heartbeat from `sensor` carrying `token` with.
fn heartbeat_status(
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    addr: &str,
    sensor: &str,
    token: &str,
) -> u16 {
    runtime.block_on(async {
        http.post(format!("http://{addr}/v1/heartbeat"))
            .bearer_auth(token)
            .json(&serde_json::json!({"sensor": sensor, "uptime_s": 1}))
            .send()
            .await
            .expect("the collector answers")
            .status()
            .as_u16()
    })
}

fn client_runtime() -> (tokio::runtime::Runtime, reqwest::Client) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    (runtime, reqwest::Client::new())
}

fn thirty_concurrent_add_sensor_commands_all_issue_working_tokens() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let (config, server) = start_collector(dir.path());
    let config = config.as_str();
    let (runtime, http) = client_runtime();

    let names: Vec<String> = (0..CONCURRENT).map(|i| format!("sensor-{i:02}")).collect();
    let children: Vec<Child> =
        names.iter().map(|name| spawn(&["collector", "add-sensor", name, "--config", config])).collect();
    let tokens: Vec<String> = children
        .into_iter()
        .zip(&names)
        .map(|(child, name)| printed_token(name, child.wait_with_output().expect("add-sensor ends")))
        .collect();

    let refused: Vec<&String> = names
        .iter()
        .zip(&tokens)
        .filter(|(name, token)| heartbeat_status(&runtime, &http, &server.addr, name, token) != 204)
        .map(|(n, _)| n)
        .collect();
    assert!(refused.is_empty(), "{} of {CONCURRENT} new sensors refused: {refused:?}", refused.len());
    let listed = Command::new(NIGHTJAR).args(["sensors", "--config", config]).output().expect("nightjar sensors runs");
    let table = String::from_utf8_lossy(&listed.stdout);
    for name in &names {
        assert!(table.lines().any(|line| line.starts_with(name.as_str())), "{name} is not listed:\n{table}");
    }
}

fn revoke_sensor_racing_with_add_sensor_is_never_lost() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let (config, server) = start_collector(dir.path());
    let config = config.as_str();
    let (runtime, http) = client_runtime();

    let mut revoked = Vec::new();
    let mut added = Vec::new();
    for round in 0..ROUNDS {
        let victim = format!("victim-{round}");
        let victim_token = printed_token(
            &victim,
            Command::new(NIGHTJAR)
                .args(["collector", "add-sensor", &victim, "--config", config])
                .output()
                .expect("add-sensor runs"),
        );
        assert_eq!(
            heartbeat_status(&runtime, &http, &server.addr, &victim, &victim_token),
            204,
            "{victim} before revocation"
        );

        let names: Vec<String> = (0..ADDS_PER_ROUND).map(|k| format!("added-{round}-{k}")).collect();
        let revoke = spawn(&["collector", "revoke-sensor", &victim, "--config", config]);
        let adds: Vec<Child> =
            names.iter().map(|name| spawn(&["collector", "add-sensor", name, "--config", config])).collect();
        let revoked_output = revoke.wait_with_output().expect("revoke-sensor ends");
        assert!(revoked_output.status.success(), "{}", String::from_utf8_lossy(&revoked_output.stderr));
        // The first request after the command returned, while the additions may still run.
        let status = heartbeat_status(&runtime, &http, &server.addr, &victim, &victim_token);
        assert_eq!(status, 401, "round {round}: {victim} was revoked, yet its token was answered {status}");
        revoked.push((victim, victim_token));
        for (child, name) in adds.into_iter().zip(names) {
            let token = printed_token(&name, child.wait_with_output().expect("add-sensor ends"));
            added.push((name, token));
        }
    }
    for (name, token) in &revoked {
        assert_eq!(
            heartbeat_status(&runtime, &http, &server.addr, name, token),
            401,
            "{name}'s revoked token came back"
        );
    }
    for (name, token) in &added {
        assert_eq!(heartbeat_status(&runtime, &http, &server.addr, name, token), 204, "{name} was added, yet refused");
    }
}

/// `nightjar serve-sql` on loopback (plain gRPC) over the fixed dataset.
fn serve_sql(data: &Path, tokens: &Path) -> ServeSqlProcess {
    let listen: [&OsStr; 2] = ["--listen".as_ref(), "127.0.0.1:0".as_ref()];
    ServeSqlProcess::start(
        NIGHTJAR,
        listen.into_iter().chain(["--data".as_ref(), data.as_os_str(), "--tokens".as_ref(), tokens.as_os_str()]),
    )
}

/// Whether the running server lets a handshake with `token` as the password in.
fn flight_accepts(runtime: &tokio::runtime::Runtime, port: u16, token: &str) -> bool {
    runtime.block_on(async {
        let endpoint = Endpoint::new(format!("http://127.0.0.1:{port}")).expect("a valid endpoint");
        let channel: Channel = endpoint.connect().await.expect("serve-sql accepts connections");
        FlightSqlServiceClient::new(channel).handshake("analyst", token).await.is_ok()
    })
}

fn add_tokens_at_once(tokens: &Path, names: &[String]) -> Vec<String> {
    let tokens_arg = tokens.to_str().expect("UTF-8 path");
    let children: Vec<Child> =
        names.iter().map(|name| spawn(&["serve-sql", "add-token", name, "--tokens", tokens_arg])).collect();
    children
        .into_iter()
        .zip(names)
        .map(|(child, name)| printed_token(name, child.wait_with_output().expect("add-token ends")))
        .collect()
}

fn concurrent_add_token_commands_are_all_in_the_file_and_accepted_and_revocations_hold() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path().join("data");
    fixture::write(&data);
    let tokens = dir.path().join("tokens");
    let names: Vec<String> = (0..CONCURRENT).map(|i| format!("analyst-{i:02}")).collect();
    let issued = add_tokens_at_once(&tokens, &names);

    let text = std::fs::read_to_string(&tokens).expect("the tokens file exists");
    let listed: Vec<&str> = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
    let listed_names: BTreeSet<&str> = listed.iter().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(listed.len(), CONCURRENT, "one line per analyst:\n{text}");
    assert_eq!(listed_names, names.iter().map(String::as_str).collect(), "{text}");
    assert!(issued.iter().all(|token| !text.contains(token.as_str())), "tokens are stored only hashed");

    let server = serve_sql(&data, &tokens);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    for (name, token) in names.iter().zip(&issued) {
        assert!(flight_accepts(&runtime, server.port(), token), "{name}'s token is refused");
    }

    let tokens_arg = tokens.to_str().expect("UTF-8 path");
    let mut added = Vec::new();
    for round in 0..ROUNDS {
        let victim = &names[round];
        let racing: Vec<String> = (0..ADDS_PER_ROUND).map(|k| format!("late-{round}-{k}")).collect();
        let revoke = spawn(&["serve-sql", "revoke-token", victim, "--tokens", tokens_arg]);
        let adding = std::thread::scope(|scope| {
            let adding = scope.spawn(|| add_tokens_at_once(&tokens, &racing));
            let revoked = revoke.wait_with_output().expect("revoke-token ends");
            assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
            // The first call after the command returned, while the additions may still run.
            assert!(!flight_accepts(&runtime, server.port(), &issued[round]), "round {round}: {victim} still accepted");
            adding.join().expect("the additions end")
        });
        added.extend(racing.into_iter().zip(adding));
    }
    for (name, token) in names.iter().zip(&issued).skip(ROUNDS) {
        assert!(flight_accepts(&runtime, server.port(), token), "{name} was never revoked, yet refused");
    }
    for token in &issued[..ROUNDS] {
        assert!(!flight_accepts(&runtime, server.port(), token), "a revoked token came back");
    }
    for (name, token) in &added {
        assert!(flight_accepts(&runtime, server.port(), token), "{name} was added, yet refused");
    }
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(thirty_concurrent_add_sensor_commands_all_issue_working_tokens),
        trial!(revoke_sensor_racing_with_add_sensor_is_never_lost),
        trial!(concurrent_add_token_commands_are_all_in_the_file_and_accepted_and_revocations_hold),
    ]
}
