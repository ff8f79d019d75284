//! Hostile and careless clients against the real `nightjar collector`: connections that send
//! nothing or trickle, bodies that never arrive, floods of large bodies, uploads whose content
//! is not what a sensor produces, a sensor that reuses a sequence number, and the small print
//! of the wire protocol. Each test names the defect it pins.

use std::net::Ipv4Addr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt8Array};
use arrow::datatypes::{Field, Schema};
use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::wire::{self, CONTENT_TYPE, HEADER_BATCH_SEQ, HEADER_SCHEMA_VERSION, HEADER_SENSOR};
use nightjar_record::{PacketBatchBuilder, RecordOptions, col, packet_schema};
use nightjar_test_kit::collector_process::CollectorProcess;
use nightjar_test_kit::conservation;
use nightjar_test_kit::frames::{Ipv4Probe, Tcp};
use nightjar_test_kit::replay_capture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
const SENSOR: &str = "tokyo-1";

/// A collector process with one sensor, its token and its folder.
struct Collector {
    process: CollectorProcess,
    addr: SocketAddr,
    token: String,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Collector {
    /// Starts a collector on loopback with `limits` (TOML lines of `[limits]`) and, with
    /// `tls`, a self-signed certificate for `localhost` (returned PEM in `cert_pem`).
    fn start(limits: &str, tls: Option<&rcgen::CertifiedKey<rcgen::KeyPair>>) -> Collector {
        let dir = tempfile::tempdir().unwrap();
        let mut toml =
            "listen = \"127.0.0.1:0\"\ndataset_dir = \"data\"\nstate_dir = \"state\"\ncompact_interval_s = 0\n"
                .to_string();
        if let Some(certified) = tls {
            std::fs::write(dir.path().join("collector.crt"), certified.cert.pem()).unwrap();
            std::fs::write(dir.path().join("collector.key"), certified.signing_key.serialize_pem()).unwrap();
            toml.push_str("tls_cert = \"collector.crt\"\ntls_key = \"collector.key\"\n");
        }
        toml.push_str(&format!("[limits]\n{limits}\n"));
        let config = dir.path().join("collector.toml");
        std::fs::write(&config, toml).unwrap();
        let token_file = dir.path().join("sensor.token");
        conservation::add_sensor(NIGHTJAR, &config, SENSOR, &token_file);
        let token = std::fs::read_to_string(&token_file).unwrap().trim().to_string();
        let process = CollectorProcess::start(NIGHTJAR, &config);
        let addr = process.addr.parse().expect("the collector prints its address");
        Collector { process, addr, token, dir, config }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn pid(&self) -> u32 {
        self.process.child.id()
    }

    fn dataset(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// `rows` records of one probe of `sensor`'s batch `seq`, timed now.
fn records(sensor: &str, seq: u64, rows: usize, first_port: u16) -> RecordBatch {
    let now_us = chrono::Utc::now().timestamp_micros();
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for i in 0..rows {
        let port = first_port.wrapping_add(i as u16);
        let frame =
            Ipv4Probe::new(Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(192, 0, 2, 10)).tcp(Tcp::syn(12345, port));
        let packet = decode(LinkType::Raw, &frame).unwrap();
        builder.append(now_us, &packet, &classify(&packet), None);
    }
    builder.finish(sensor, seq)
}

/// The upload body of `batches` (zstd).
fn body_of(batches: &[RecordBatch]) -> Vec<u8> {
    wire::encode(batches, 3).unwrap()
}

/// An IPC stream of `batch`'s columns under `schema`, zstd-compressed.
fn raw_body(schema: Arc<Schema>, batch: &RecordBatch) -> Vec<u8> {
    let relabelled = RecordBatch::try_new(Arc::clone(&schema), batch.columns().to_vec()).unwrap();
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(Vec::new(), &schema).unwrap();
    writer.write(&relabelled).unwrap();
    zstd::bulk::compress(&writer.into_inner().unwrap(), 19).unwrap()
}

fn with_column(batch: &RecordBatch, name: &str, values: ArrayRef) -> RecordBatch {
    let mut columns = batch.columns().to_vec();
    columns[packet_schema().index_of(name).unwrap()] = values;
    RecordBatch::try_new(packet_schema(), columns).unwrap()
}

/// Posts an upload; returns status, headers' `Retry-After` and the JSON body.
async fn upload(
    client: &reqwest::Client,
    collector: &Collector,
    sensor: &str,
    seq: u64,
    body: Vec<u8>,
) -> (u16, Option<String>, serde_json::Value) {
    let response = client
        .post(collector.url("/v1/batches"))
        .bearer_auth(&collector.token)
        .header(HEADER_SENSOR, sensor)
        .header(HEADER_BATCH_SEQ, seq.to_string())
        .header(HEADER_SCHEMA_VERSION, "1")
        .header("content-type", CONTENT_TYPE)
        .header("content-encoding", "zstd")
        .body(body)
        .send()
        .await
        .expect("the collector answers (not a broken pipe)");
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    (status, retry_after, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// Rows stored in the collector's dataset.
fn stored_rows(dataset: &Path) -> usize {
    conservation::committed_batches(dataset).iter().map(RecordBatch::num_rows).sum()
}

/// How long until the server closes `stream` (EOF or reset), at most `limit`.
async fn closed_after(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut sink)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// A connection from loopback address `127.0.0.{host}`.
async fn connect_from(host: u8, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, host], 0)))?;
    socket.connect(to).await
}

/// Peak resident memory of a process (VmHWM), bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/PID/status");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

// Defect 1: a connection that sends nothing, only an HTTP/2 preface, or nothing after a
// request, stayed open for ever.
fn connections_that_send_nothing_or_go_quiet_are_closed() {
    let collector = Collector::start("header_timeout = \"1s\"\nidle_timeout = \"30s\"", None);
    runtime().block_on(async {
        let mut silent = TcpStream::connect(collector.addr).await.unwrap();
        let mut preface = TcpStream::connect(collector.addr).await.unwrap();
        preface.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.unwrap();
        let mut quiet = TcpStream::connect(collector.addr).await.unwrap();
        quiet.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
        let mut answer = [0u8; 12];
        quiet.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200");
        let answered = Instant::now();

        let limit = Duration::from_secs(8);
        let silent_after = closed_after(&mut silent, limit).await.expect("a silent connection is closed");
        assert!(silent_after < Duration::from_secs(4), "closed after {silent_after:?}");
        closed_after(&mut preface, limit).await.expect("a connection that sent only an HTTP/2 preface is closed");
        closed_after(&mut quiet, limit).await.expect("a keep-alive connection gone quiet is closed");
        // An HTTP/1.1 connection waiting for its next request has the header timeout.
        let quiet_for = answered.elapsed();
        assert!(quiet_for >= Duration::from_millis(800) && quiet_for < Duration::from_secs(4), "{quiet_for:?}");
    });
}

// Defect 1, over TLS: a client that never finishes the handshake, or sends nothing after it.
fn tls_handshakes_and_silence_after_them_are_bounded() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let collector = Collector::start("header_timeout = \"1s\"\ntls_handshake_timeout = \"1s\"", Some(&certified));
    let _ = rustls::crypto::ring::default_provider().install_default();
    runtime().block_on(async {
        let mut no_hello = TcpStream::connect(collector.addr).await.unwrap();
        closed_after(&mut no_hello, Duration::from_secs(6))
            .await
            .expect("a connection without a ClientHello is closed");

        let mut roots = rustls::RootCertStore::empty();
        roots.add(certified.cert.der().clone()).unwrap();
        let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(collector.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.expect("the handshake succeeds");
        let started = Instant::now();
        let mut sink = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(6), tls.read(&mut sink)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "a TLS connection that sends no request is closed ({read:?} after {:?})",
            started.elapsed()
        );
    });
}

// Defect 1: no cap on open connections; the cap refuses clearly, and connections that send
// nothing give way to a sensor instead of locking it out.
fn connection_caps_refuse_clearly_and_idlers_give_way_to_a_sensor() {
    let collector =
        Collector::start("header_timeout = \"30s\"\nmax_connections = 8\nmax_connections_per_address = 4", None);
    let client = client();
    runtime().block_on(async {
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(connect_from(2, collector.addr).await.unwrap());
        }
        let mut fifth = connect_from(2, collector.addr).await.unwrap();
        let mut answer = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), fifth.read_to_string(&mut answer)).await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("retry-after: 30") && answer.contains("max_connections_per_address"), "{answer}");

        for host in [3, 4] {
            for _ in 0..4 {
                held.push(connect_from(host, collector.addr).await.unwrap());
            }
        }
        // Eight silent connections fill the cap; a sensor's heartbeat still gets in.
        for round in 0..3 {
            let response = client
                .post(collector.url("/v1/heartbeat"))
                .bearer_auth(&collector.token)
                .json(&serde_json::json!({"sensor": SENSOR, "round": round}))
                .send()
                .await
                .expect("the heartbeat is answered");
            assert_eq!(response.status().as_u16(), 204, "round {round}");
        }
        let metrics = client.get(collector.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("connections_refused_total{cap=\"max_connections_per_address\"} 1"), "{metrics}");
        assert!(metrics.contains("connections_closed_total{reason=\"evicted\"}"), "{metrics}");
        drop(held);
    });
}

// Defect 2: the heartbeat body had no deadline.
fn a_heartbeat_body_that_never_arrives_is_answered_408() {
    let collector = Collector::start("body_timeout = \"2s\"", None);
    runtime().block_on(async {
        let mut stream = TcpStream::connect(collector.addr).await.unwrap();
        let head = format!(
            "POST /v1/heartbeat HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"sensor\":",
            collector.token
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let started = Instant::now();
        let mut answer = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(started.elapsed() < Duration::from_secs(6), "answered after {:?}", started.elapsed());
    });
}

// Defect 3: field-level metadata passed validation and then failed in the writer (503, unhealthy,
// retried for ever).
fn field_metadata_in_an_upload_is_dropped_and_the_batch_stored() {
    let collector = Collector::start("", None);
    let client = client();
    let batch = records(SENSOR, 1, 5, 1000);
    let fields: Vec<Field> = packet_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_metadata([("origin".to_string(), "lab".to_string())].into()))
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, packet_schema().metadata().clone()));
    runtime().block_on(async {
        let (status, _, answer) = upload(&client, &collector, SENSOR, 1, raw_body(schema, &batch)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["status"], "stored");
        let health = client.get(collector.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status().as_u16(), 200);
    });
    assert_eq!(stored_rows(&collector.dataset()), 5);
}

// Defect 4: sender text was echoed unbounded and unescaped (a 2.5 KB body made a 42 MB answer,
// a 42 MB registry and terminal escapes in `nightjar sensors`).
fn text_from_a_client_is_bounded_and_escaped_in_answers_registry_and_listing() {
    let collector = Collector::start("", None);
    let client = client();
    let batch = records(SENSOR, 1, 1, 1000);
    let mut fields: Vec<Field> = packet_schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    let evil = format!("\u{1b}]0;owned\u{7}\u{1b}[2J{}", "\u{1b}[31m".repeat(2_000_000));
    fields[0] = fields[0].clone().with_name(evil);
    let body = raw_body(Arc::new(Schema::new(fields)), &batch);
    assert!(body.len() < 64 * 1024, "the body is small: {} bytes", body.len());
    runtime().block_on(async {
        let (status, _, answer) = upload(&client, &collector, SENSOR, 1, body).await;
        assert_eq!(status, 422);
        // The decoded message holds no escape character (JSON would carry one as \u001b).
        let text = answer.to_string();
        assert!(text.len() < 2048, "the answer is {} bytes", text.len());
        let message = answer["message"].as_str().unwrap();
        assert!(!message.contains('\u{1b}'), "the answer carries a raw escape: {text}");
        // A claimed sensor id full of escapes, on an upload and a heartbeat.
        let claimed = format!("x\u{1b}[2J{}", "y".repeat(20_000));
        let response = client
            .post(collector.url("/v1/heartbeat"))
            .bearer_auth(&collector.token)
            .json(&serde_json::json!({"sensor": claimed}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403);
        let text = response.text().await.unwrap();
        assert!(text.len() < 2048 && !text.contains('\u{1b}'), "{text}");
    });
    std::thread::sleep(Duration::from_millis(2500));
    let registry = std::fs::metadata(collector.dir.path().join("state/registry.json")).unwrap().len();
    assert!(registry < 64 * 1024, "registry.json is {registry} bytes");
    let listed = Command::new(NIGHTJAR).args(["sensors", "--config"]).arg(&collector.config).output().unwrap();
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(!table.contains('\u{1b}'), "`nightjar sensors` prints a raw escape");
    assert!(table.lines().all(|l| l.chars().count() < 1000), "{table}");
}

// Defect 10: bodies were read whole before a storing slot was taken, with no global cap.
fn buffered_bodies_stay_within_the_budget_under_a_flood() {
    const MIB: u64 = 1024 * 1024;
    let collector = Collector::start(&format!("max_body = {}\nmax_buffered_bodies = {}", 8 * MIB, 16 * MIB), None);
    let baseline = peak_rss(collector.pid());
    let client = client();
    let answers = runtime().block_on(async {
        let uploads = (0..32u64).map(|seq| {
            let (client, collector) = (client.clone(), &collector);
            async move {
                // Not zstd: read whole, then refused as unreadable.
                let body = vec![seq as u8; (8 * MIB) as usize];
                upload(&client, collector, SENSOR, seq + 1, body).await
            }
        });
        futures::future::join_all(uploads).await
    });
    for (status, retry_after, answer) in &answers {
        match status {
            400 => assert_eq!(answer["status"], "invalid"),
            503 => assert_eq!(retry_after.as_deref(), Some("30"), "{answer}"),
            other => panic!("unexpected answer {other}: {answer}"),
        }
    }
    let grown = peak_rss(collector.pid()).saturating_sub(baseline);
    assert!(grown < 120 * MIB, "the collector grew by {} MiB under 32 uploads of 8 MiB", grown / MIB);
}

// Defect 11: rows were not checked beyond sensor, sequence and time, and bytes after the end of
// the stream were accepted.
fn rows_a_sensor_cannot_produce_are_refused_and_nothing_is_written() {
    let collector = Collector::start("", None);
    let client = client();
    let good = records(SENSOR, 1, 3, 1000);
    let cases: Vec<(&str, RecordBatch)> = vec![
        (col::IP_VERSION, with_column(&good, col::IP_VERSION, Arc::new(UInt8Array::from(vec![9u8; 3])))),
        (col::CLASS, with_column(&good, col::CLASS, Arc::new(StringArray::from(vec!["pwned"; 3])))),
        (col::TOOL, with_column(&good, col::TOOL, Arc::new(StringArray::from(vec![Some("nmap"); 3])))),
    ];
    runtime().block_on(async {
        for (column, batch) in cases {
            let (status, _, answer) = upload(&client, &collector, SENSOR, 1, body_of(&[batch])).await;
            assert_eq!(status, 422, "{column}: {answer}");
            assert!(answer["message"].as_str().unwrap().contains(column), "{column}: {answer}");
        }
        let mut ipc = wire::inflate(&body_of(&[records(SENSOR, 9, 3, 1000)]), true, Default::default()).unwrap();
        ipc.extend_from_slice(b"rows after the end");
        let trailing = zstd::bulk::compress(&ipc, 3).unwrap();
        let (status, _, answer) = upload(&client, &collector, SENSOR, 9, trailing).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["message"].as_str().unwrap().contains("end-of-stream"), "{answer}");
    });
    assert_eq!(stored_rows(&collector.dataset()), 0);
}

// Defect 11: a different body under an accepted sequence number was answered `duplicate` and
// lost silently.
fn another_body_under_an_accepted_number_is_a_conflict_also_after_a_restart() {
    let collector = Collector::start("", None);
    let client = client();
    let first = body_of(&[records(SENSOR, 1, 4, 1000)]);
    let other = body_of(&[records(SENSOR, 1, 6, 2000)]);
    let rt = runtime();
    rt.block_on(async {
        assert_eq!(upload(&client, &collector, SENSOR, 1, first.clone()).await.2["status"], "stored");
        assert_eq!(upload(&client, &collector, SENSOR, 1, first.clone()).await.2["status"], "duplicate");
        let (status, _, answer) = upload(&client, &collector, SENSOR, 1, other.clone()).await;
        assert_eq!((status, answer["status"].as_str()), (409, Some("conflict")), "{answer}");
    });
    let Collector { process, token, dir, config, .. } = collector;
    process.kill();
    let process = CollectorProcess::start(NIGHTJAR, &config);
    let collector = Collector { addr: process.addr.parse().unwrap(), process, token, dir, config };
    rt.block_on(async {
        let (status, _, answer) = upload(&client, &collector, SENSOR, 1, other).await;
        assert_eq!(status, 409, "the digest survives a restart: {answer}");
        assert_eq!(upload(&client, &collector, SENSOR, 1, first).await.2["status"], "duplicate");
    });
    assert_eq!(stored_rows(&collector.dataset()), 4);
}

// Defect 12: the small print of the protocol.
fn the_protocol_small_print_holds() {
    let collector = Collector::start("max_body = \"4 KiB\"\nmax_buffered_bodies = \"64 KiB\"", None);
    let client = client();
    runtime().block_on(async {
        let heartbeat = |auth: String, body: String| {
            client
                .post(collector.url("/v1/heartbeat"))
                .header("authorization", auth)
                .header("content-type", "application/json")
                .body(body)
        };
        let ok = serde_json::json!({"sensor": SENSOR}).to_string();
        let lower = heartbeat(format!("bearer {}", collector.token), ok.clone()).send().await.unwrap();
        assert_eq!(lower.status().as_u16(), 204, "the scheme is case-insensitive");
        let basic = heartbeat("Basic dXNlcjpwYXNz".into(), ok.clone()).send().await.unwrap();
        assert_eq!(basic.status().as_u16(), 401);
        assert!(basic.text().await.unwrap().contains("another scheme"));
        let array = heartbeat(format!("Bearer {}", collector.token), "[1, 2]".into()).send().await.unwrap();
        assert_eq!(array.status().as_u16(), 400, "a heartbeat must be a JSON object");
        let other = serde_json::json!({"sensor": "partner-1"}).to_string();
        let claimed = heartbeat(format!("Bearer {}", collector.token), other).send().await.unwrap();
        assert_eq!(claimed.status().as_u16(), 403);
        let text = claimed.text().await.unwrap();
        assert!(text.contains(SENSOR) && text.contains("partner-1"), "the refusal names both ids: {text}");

        let (status, _, answer) = upload(&client, &collector, SENSOR, 1, vec![0u8; 5000]).await;
        assert_eq!(status, 413, "{answer}");
        assert_eq!(answer["limit"], 4096, "{answer}");

        let missing = client.get(collector.url("/v2/nothing")).send().await.unwrap();
        assert_eq!(missing.status().as_u16(), 404);
        let answer: serde_json::Value = missing.json().await.unwrap();
        assert_eq!(answer["status"], "not_found");
        let wrong = client.get(collector.url("/v1/batches")).send().await.unwrap();
        assert_eq!(wrong.status().as_u16(), 405);
        let answer: serde_json::Value = wrong.json().await.unwrap();
        assert_eq!(answer["status"], "method_not_allowed");
    });
}

// Issue: a sensor whose id does not match its token saw only "Broken pipe": the collector
// answered 403 before reading the body and closed, so the client never read the answer.
fn a_refused_upload_is_answered_not_cut_off() {
    let collector = Collector::start("", None);
    let client = client();
    // Larger than what loopback's socket buffers take in before the client must wait.
    let body = vec![0u8; 16 * 1024 * 1024];
    runtime().block_on(async {
        for seq in 1..=3 {
            let response = client
                .post(collector.url("/v1/batches"))
                .bearer_auth(&collector.token)
                .header(HEADER_SENSOR, "partner-1")
                .header(HEADER_BATCH_SEQ, seq.to_string())
                .header(HEADER_SCHEMA_VERSION, "1")
                .header("content-type", CONTENT_TYPE)
                .body(body.clone())
                .send()
                .await
                .expect("the client reads the answer instead of failing to send");
            assert_eq!(response.status().as_u16(), 403);
            let answer: serde_json::Value = response.json().await.unwrap();
            let message = answer["message"].as_str().unwrap();
            assert!(message.contains(SENSOR) && message.contains("partner-1"), "{message}");
        }
    });
    assert_eq!(stored_rows(&collector.dataset()), 0);
}

/// Keeps up to `hold` connections open against `to` from 127.0.0.2–9 until `stop`: every new
/// one sends nothing or trickles a request head a byte at a time. Returns how many it opened.
async fn crowd(to: SocketAddr, hold: usize, stop: Arc<std::sync::atomic::AtomicBool>) -> usize {
    use std::sync::atomic::Ordering;
    let mut open: std::collections::VecDeque<(TcpStream, bool)> = std::collections::VecDeque::new();
    let mut opened = 0usize;
    let deadline = Instant::now() + Duration::from_secs(90);
    while !stop.load(Ordering::Acquire) && Instant::now() < deadline {
        let host = 2 + (opened % 8) as u8;
        if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_secs(1), connect_from(host, to)).await {
            opened += 1;
            open.push_back((stream, opened.is_multiple_of(2)));
        }
        while open.len() > hold {
            open.pop_front();
        }
        // Tricklers send one more byte of a request head that never ends.
        for (stream, trickles) in open.iter_mut().filter(|(_, t)| *t).take(16) {
            if stream.try_write(b"x").is_err() {
                *trickles = false;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    opened
}

// Slowloris during real uploads: thousands of idle and trickling connections, more than the
// collector's cap, while a real sensor uploads a capture: every packet arrives exactly once.
fn a_sensor_uploads_through_a_crowd_of_idle_and_trickling_connections() {
    let collector = Collector::start("header_timeout = \"2s\"\nmax_connections = 64", None);
    let dir = collector.dir.path();
    let (pcap, mut ingest) = replay_capture::make_capture(dir, "replay.pcap", 4_000, 41, 20);
    let kept = ingest.counters().kept;
    let expected = conservation::packet_keys(&[ingest.finish_batch(SENSOR, 0)]);
    let spool = dir.join("spool");
    let url = format!("http://{}", collector.addr);
    let config = conservation::write_sensor_config(
        dir,
        &conservation::SensorSetup {
            id: SENSOR,
            url: &url,
            pcap: &pcap,
            pace: "original",
            uplink: "",
            spool_dir: &spool,
            spool: "",
        },
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rt = runtime();
    let attack = rt.spawn(crowd(collector.addr, 200, Arc::clone(&stop)));
    // Let the crowd fill the cap before the sensor starts.
    std::thread::sleep(Duration::from_secs(2));
    let sensor =
        conservation::Collected::spawn(Command::new(NIGHTJAR).args(["sensor", "--config"]).arg(&config), "the sensor");
    let (stdout, stderr) = sensor.wait(Duration::from_secs(120));
    stop.store(true, std::sync::atomic::Ordering::Release);
    let opened = rt.block_on(attack).unwrap();
    let metrics =
        rt.block_on(async { client().get(collector.url("/metrics")).send().await.unwrap().text().await.unwrap() });
    let evicted: u64 = metrics
        .lines()
        .find(|l| l.contains("connections_closed_total{reason=\"evicted\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(evicted > 100, "the crowd kept the collector at its cap ({evicted} connections made room)");

    assert!(opened > 1_000, "the crowd opened {opened} connections");
    assert_eq!(conservation::sensor_line(&stdout, "packets kept").0, kept, "{stdout}\n{stderr}");
    assert_eq!(conservation::sensor_line(&stdout, "left in spool").0, 0, "{stdout}\n{stderr}");
    let stored = conservation::committed_batches(&collector.dataset());
    let tally = conservation::compare(&expected, &conservation::packet_keys(&stored));
    assert_eq!((tally.lost, tally.duplicated, tally.unexpected), (0, 0, 0), "{tally:?}");
    conservation::report(
        "slow_clients",
        &[
            ("crowd_connections", opened.to_string()),
            ("packets", tally.expected.to_string()),
            ("lost", tally.lost.to_string()),
            ("duplicated", tally.duplicated.to_string()),
        ],
    );
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(connections_that_send_nothing_or_go_quiet_are_closed),
        trial!(tls_handshakes_and_silence_after_them_are_bounded),
        trial!(connection_caps_refuse_clearly_and_idlers_give_way_to_a_sensor),
        trial!(a_heartbeat_body_that_never_arrives_is_answered_408),
        trial!(field_metadata_in_an_upload_is_dropped_and_the_batch_stored),
        trial!(text_from_a_client_is_bounded_and_escaped_in_answers_registry_and_listing),
        trial!(buffered_bodies_stay_within_the_budget_under_a_flood),
        trial!(rows_a_sensor_cannot_produce_are_refused_and_nothing_is_written),
        trial!(another_body_under_an_accepted_number_is_a_conflict_also_after_a_restart),
        trial!(the_protocol_small_print_holds),
        trial!(a_refused_upload_is_answered_not_cut_off),
        trial!(a_sensor_uploads_through_a_crowd_of_idle_and_trickling_connections),
    ]
}
