//! `nightjar serve-sql` over TLS, queried by the real ADBC Flight SQL driver
//! (`adbc-driver-flightsql`, the Go driver Python tools use): a token lets it in, it lists
//! the tables and views, runs queries and gets Arrow back with the fixed dataset's counts;
//! DDL, `COPY`, a file read and an update are refused with the engine's message, and a wrong
//! token is refused.
//!
//! Needs `python3` with `adbc-driver-flightsql`, `adbc-driver-manager` and `pyarrow`
//! (`.ci/python-requirements.txt`); reported ignored without them unless `NIGHTJAR_SYSTEM_TESTS=require`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use nightjar_test_kit::fixture;
use nightjar_test_kit::prereq::{self, Skipped};
use nightjar_test_kit::serve_sql_process::ServeSqlProcess;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn add_token(tokens: &Path, name: &str) -> String {
    let out = Command::new(NIGHTJAR)
        .args(["serve-sql", "add-token", name, "--tokens"])
        .arg(tokens)
        .output()
        .expect("nightjar runs");
    assert!(out.status.success(), "add-token failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8").trim().to_string()
}

/// The refusal the script recorded under `key`: refused, with the ADBC status and a message
/// containing every one of `words`.
fn assert_refused(seen: &Value, key: &str, status: &str, words: &[&str]) {
    let refusal = &seen[key];
    assert_eq!(refusal["refused"], json!(true), "{key} was not refused: {refusal}");
    assert_eq!(refusal["status"], json!(status), "{key}: {refusal}");
    let message = refusal["message"].as_str().unwrap_or_default();
    for word in words {
        assert!(message.contains(word), "{key}: `{word}` not in the message: {message}");
    }
}

fn the_adbc_flight_sql_driver_queries_over_tls_with_a_token_and_cannot_write_or_read_files() -> Result<(), Skipped> {
    prereq::python_imports(
        "flight_sql",
        "adbc_driver_flightsql.dbapi, adbc_driver_manager, pyarrow",
        "pip install -r .ci/python-requirements.txt",
    )?;
    let work = tempfile::tempdir().expect("temporary folder");
    let data = work.path().join("data");
    fixture::write(&data);
    let tokens = work.path().join("sql-tokens");
    let token = add_token(&tokens, "analyst");
    assert!(token.starts_with("njq_"), "{token}");
    let text = std::fs::read_to_string(&tokens).expect("the tokens file exists");
    assert!(!text.contains(&token), "the token is stored only hashed:\n{text}");

    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a self-signed certificate");
    let (cert, key) = (work.path().join("sql.crt"), work.path().join("sql.key"));
    std::fs::write(&cert, certified.cert.pem()).expect("write the certificate");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write the key");

    let server = ServeSqlProcess::start(
        NIGHTJAR,
        [
            "--data".as_ref(),
            data.as_os_str(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--tokens".as_ref(),
            tokens.as_os_str(),
            "--tls-cert".as_ref(),
            cert.as_os_str(),
            "--tls-key".as_ref(),
            key.as_os_str(),
            "--memory-limit".as_ref(),
            "256MiB".as_ref(),
            "--time-limit".as_ref(),
            "60s".as_ref(),
        ],
    );
    assert!(server.uri().starts_with("grpc+tls://127.0.0.1:"), "{}", server.uri());
    // The certificate names localhost; the driver checks it against the host of the URI.
    let uri = server.uri().replace("127.0.0.1", "localhost");

    let out = Command::new("python3")
        .arg(repo_root().join("tests/readers/flight_sql_client.py"))
        .arg(&uri)
        .arg(&token)
        .arg(&cert)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "flight_sql_client.py failed:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let seen: Value = serde_json::from_slice(&out.stdout).expect("flight_sql_client.py prints JSON");

    // Metadata: table types, every table and view with its columns, a table's schema.
    assert_eq!(seen["table_types"], json!(["TABLE", "VIEW"]));
    for (table, kind) in
        [("packets", "TABLE"), ("sources", "VIEW"), ("port_activity", "VIEW"), ("backscatter_victims", "VIEW")]
    {
        let entry = &seen["objects"][format!("datafusion.public.{table}")];
        assert_eq!(entry["type"], json!(kind), "{table}: {}", seen["objects"]);
        assert!(entry["columns"].as_array().is_some_and(|columns| !columns.is_empty()), "{table}: {entry}");
    }
    assert!(seen["objects"]["datafusion.public.packets"]["columns"].as_array().is_some_and(|columns| {
        ["time", "sensor", "src_ip", "dst_port", "country", "day"].iter().all(|name| columns.contains(&json!(name)))
    }));
    assert_eq!(seen["packets_schema"]["src_ip"], json!("string"), "addresses are text: {}", seen["packets_schema"]);

    // Queries: Arrow back, with the fixture's counts.
    assert_eq!(seen["packet_count"], json!(16));
    assert_eq!(seen["per_country"], json!({"CN": 1, "DE": 1, "JP": 5, "NL": 1, "US": 7}));
    assert_eq!(seen["mirai_sources"], json!(["198.51.100.7"]));
    assert_eq!(seen["mirai_sources_type"], json!("string"));
    assert_eq!(seen["port_activity_days"], json!({"2026-11-20": 10, "2026-11-21": 4}));
    assert_eq!(seen["prepared_count"], json!(4));
    assert_eq!(seen["bearer_count"], json!(16));

    // Read-only: the engine's message reaches the client.
    assert_refused(&seen, "create_table", "UNAUTHORIZED", &["only reads the dataset", "CREATE TABLE"]);
    assert_refused(&seen, "copy_to", "UNAUTHORIZED", &["only reads the dataset", "COPY"]);
    assert_refused(&seen, "external_table", "UNAUTHORIZED", &["only reads the dataset", "CREATE EXTERNAL TABLE"]);
    assert_refused(&seen, "file_read", "INVALID_ARGUMENT", &["/etc/passwd"]);
    assert_refused(&seen, "update", "UNAUTHORIZED", &["only reads the dataset"]);
    assert!(!Path::new("/tmp/nightjar-adbc-copy.parquet").exists());

    // Wrong tokens.
    assert_refused(&seen, "wrong_password", "UNAUTHENTICATED", &["invalid token"]);
    assert_refused(&seen, "wrong_bearer", "UNAUTHENTICATED", &["invalid token"]);
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![trial!(the_adbc_flight_sql_driver_queries_over_tls_with_a_token_and_cannot_write_or_read_files)]
}
