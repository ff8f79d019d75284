//! The collector over real HTTP on loopback: storing, exactly-once across
//! restarts, and a refusal with a clear answer for every bad request.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use nightjar_collector::{CollectorConfig, Limits, RunningCollector, start, tokens};
use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::wire::{self, CONTENT_TYPE};
use nightjar_record::{PacketBatchBuilder, RecordOptions};
use nightjar_test_kit::frames::Ipv4Probe;
use serde_json::Value;

pub(crate) struct Site {
    _dir: tempfile::TempDir,
    pub(crate) dataset: PathBuf,
    pub(crate) state: PathBuf,
}

pub(crate) fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    Site { dataset: dir.path().join("data"), state: dir.path().join("state"), _dir: dir }
}

pub(crate) fn config(site: &Site, limits: Limits) -> CollectorConfig {
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), site.dataset.clone(), site.state.clone());
    config.compact_interval_s = 0;
    config.limits = limits;
    config
}

/// `rows` ICMP echo requests from k.root-servers.net (NL) at `time_us`.
pub(crate) fn batch(sensor: &str, seq: u64, rows: usize, time_us: i64) -> RecordBatch {
    let frame = Ipv4Probe::new(Ipv4Addr::new(193, 0, 14, 129), Ipv4Addr::new(192, 0, 2, 10)).icmp_echo_request(1, 1);
    let packet = decode(LinkType::Raw, &frame).unwrap();
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for i in 0..rows {
        builder.append(time_us + i as i64, &packet, &classify(&packet), None);
    }
    builder.finish(sensor, seq)
}

/// An HTTP client; reqwest is built without a default TLS provider.
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub(crate) fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

pub(crate) struct Post<'a> {
    token: Option<&'a str>,
    sensor: &'a str,
    seq: String,
    body: Vec<u8>,
    content_type: &'a str,
    encoding: Option<&'a str>,
}

impl<'a> Post<'a> {
    pub(crate) fn new(token: &'a str, sensor: &'a str, seq: u64, body: Vec<u8>) -> Self {
        Post {
            token: Some(token),
            sensor,
            seq: seq.to_string(),
            body,
            content_type: CONTENT_TYPE,
            encoding: Some("zstd"),
        }
    }

    pub(crate) async fn send(self, collector: &RunningCollector) -> (u16, Value) {
        let mut request = client()
            .post(format!("http://{}/v1/batches", collector.addr))
            .header("content-type", self.content_type)
            .header("nightjar-sensor", self.sensor)
            .header("nightjar-batch-seq", self.seq)
            .header("nightjar-schema-version", "1")
            .body(self.body);
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        if let Some(encoding) = self.encoding {
            request = request.header("content-encoding", encoding);
        }
        let response = request.send().await.expect("the collector answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// The dataset's Parquet files: its latest snapshot's, for a table (compacted-away files stay on
/// disk until a vacuum).
pub(crate) fn parquet_files(dataset: &Path) -> Vec<PathBuf> {
    if let Some(files) = nightjar_test_kit::conservation::snapshot_files(dataset) {
        return files;
    }
    let mut files = Vec::new();
    for day in std::fs::read_dir(dataset).into_iter().flatten().flatten() {
        if day.file_name().to_string_lossy().starts_with("day=") {
            files.extend(std::fs::read_dir(day.path()).unwrap().flatten().map(|e| e.path()));
        }
    }
    files
}

/// Every record batch of the given Parquet files.
pub(crate) fn read_all(files: &[PathBuf]) -> Vec<RecordBatch> {
    let mut batches = Vec::new();
    for path in files {
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
                .unwrap()
                .build()
                .unwrap();
        batches.extend(reader.map(|b| b.unwrap()));
    }
    batches
}

/// Rows in the files, and the countries attached to them.
pub(crate) fn parquet_rows(files: &[PathBuf]) -> (u64, Vec<String>) {
    use arrow::array::{Array, AsArray};
    let mut rows = 0;
    let mut countries = Vec::new();
    for batch in read_all(files) {
        rows += batch.num_rows() as u64;
        let country = batch.column_by_name("country").unwrap().as_string::<i32>().clone();
        countries.extend((0..country.len()).filter(|i| !country.is_null(*i)).map(|i| country.value(i).to_string()));
    }
    (rows, countries)
}

/// The ASNs attached to the rows of the files.
fn asns_of(files: &[PathBuf]) -> Vec<u32> {
    use arrow::array::{Array, AsArray};
    let mut asns = Vec::new();
    for batch in read_all(files) {
        let asn = batch.column_by_name("asn").unwrap().as_primitive::<arrow::datatypes::UInt32Type>().clone();
        asns.extend((0..asn.len()).filter(|i| !asn.is_null(*i)).map(|i| asn.value(i)));
    }
    asns
}

#[tokio::test]
async fn a_batch_is_stored_once_enriched_and_recognised_after_a_restart() {
    let site = site();
    let token = tokens::add_sensor(&site.state, "s1").unwrap();
    let collector = start(config(&site, Limits::default())).await.unwrap();
    let body = wire::encode(&[batch("s1", 1, 300, now_us())], 3).unwrap();

    let (status, answer) = Post::new(&token, "s1", 1, body.clone()).send(&collector).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("stored")), "{answer}");
    assert_eq!(answer["rows"], 300);
    let (status, answer) = Post::new(&token, "s1", 1, body.clone()).send(&collector).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("duplicate")), "{answer}");

    let files = parquet_files(&site.dataset);
    assert_eq!(files.len(), 1);
    let (rows, countries) = parquet_rows(&files);
    assert_eq!(rows, 300);
    assert!(countries.iter().all(|c| c == "NL") && countries.len() == 300, "enriched at ingest");
    let expected_asn = nightjar_geo::GeoDb::embedded_asn()
        .lookup_asn(&nightjar_packet::map_v4([193, 0, 14, 129]))
        .unwrap()
        .expect("the bundled ASN database knows k.root-servers.net");
    assert_eq!(asns_of(&files), vec![expected_asn.number; 300], "ASN attached at ingest by default");

    collector.shutdown(Duration::from_secs(5)).await.unwrap();
    let collector = start(config(&site, Limits::default())).await.unwrap();
    let (status, answer) = Post::new(&token, "s1", 1, body).send(&collector).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("duplicate")), "after a restart: {answer}");
    assert_eq!(parquet_rows(&parquet_files(&site.dataset)).0, 300);
    collector.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn every_bad_request_gets_a_clear_refusal_and_writes_nothing() {
    let site = site();
    let token = tokens::add_sensor(&site.state, "s1").unwrap();
    let other = tokens::add_sensor(&site.state, "s2").unwrap();
    let revoked = tokens::add_sensor(&site.state, "s3").unwrap();
    tokens::revoke_sensor(&site.state, "s3").unwrap();
    let limits = Limits { max_body_bytes: 200_000, max_decompressed_bytes: 2_000_000, ..Limits::default() };
    let collector = start(config(&site, limits)).await.unwrap();
    let good = wire::encode(&[batch("s1", 5, 50, now_us())], 3).unwrap();

    let foreign_rows = wire::encode(&[batch("s2", 5, 50, now_us())], 3).unwrap();
    let wrong_seq = wire::encode(&[batch("s1", 6, 50, now_us())], 3).unwrap();
    let future = wire::encode(&[batch("s1", 5, 50, now_us() + 86_400_000_000)], 3).unwrap();
    let ancient = wire::encode(&[batch("s1", 5, 50, 0)], 3).unwrap();
    let bomb = zstd::bulk::compress(&vec![0u8; 8 << 20], 19).unwrap();
    let big = vec![7u8; 300_000];
    let cases: Vec<(&str, Post<'_>, u16, &str)> = vec![
        ("no token", Post { token: None, ..Post::new(&token, "s1", 5, good.clone()) }, 401, "unauthorized"),
        ("wrong token", Post::new("njs_not-a-token", "s1", 5, good.clone()), 401, "unauthorized"),
        ("revoked token", Post::new(&revoked, "s3", 5, good.clone()), 401, "unauthorized"),
        ("another sensor's id", Post::new(&other, "s1", 5, good.clone()), 403, "forbidden"),
        ("rows of another sensor", Post::new(&token, "s1", 5, foreign_rows), 422, "rejected"),
        ("garbage body", Post::new(&token, "s1", 5, b"garbage".to_vec()), 400, "invalid"),
        ("truncated body", Post::new(&token, "s1", 5, good[..good.len() / 2].to_vec()), 400, "invalid"),
        (
            "wrong content type",
            Post { content_type: "application/json", ..Post::new(&token, "s1", 5, good.clone()) },
            415,
            "unsupported",
        ),
        (
            "gzip encoding",
            Post { encoding: Some("gzip"), ..Post::new(&token, "s1", 5, good.clone()) },
            415,
            "unsupported",
        ),
        ("bad sequence number", Post { seq: "-1".into(), ..Post::new(&token, "s1", 5, good.clone()) }, 400, "invalid"),
        ("rows of another batch", Post::new(&token, "s1", 5, wrong_seq), 422, "rejected"),
        ("far-future timestamps", Post::new(&token, "s1", 5, future), 422, "rejected"),
        ("timestamps from 1970", Post::new(&token, "s1", 5, ancient), 422, "rejected"),
        ("compression bomb", Post::new(&token, "s1", 5, bomb), 413, "too_large"),
        ("oversized body", Post { encoding: None, ..Post::new(&token, "s1", 5, big) }, 413, "too_large"),
    ];
    for (name, post, status, kind) in cases {
        let (got, answer) = post.send(&collector).await;
        assert_eq!(got, status, "{name}: {answer}");
        assert_eq!(answer["status"].as_str(), Some(kind), "{name}: {answer}");
        assert!(!answer["message"].as_str().unwrap_or("").is_empty(), "{name}: the answer says why");
    }
    assert!(parquet_files(&site.dataset).is_empty(), "nothing written by a refused request");
    let in_progress = site.dataset.join("_inprogress");
    assert_eq!(std::fs::read_dir(in_progress).map(|d| d.count()).unwrap_or(0), 0, "no leftovers");

    // And the collector still serves a good request.
    let (status, answer) = Post::new(&token, "s1", 5, good).send(&collector).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("stored")), "{answer}");
    collector.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn heartbeats_health_and_metrics() {
    let site = site();
    let token = tokens::add_sensor(&site.state, "s1").unwrap();
    let collector = start(config(&site, Limits::default())).await.unwrap();
    let client = client();
    let base = format!("http://{}", collector.addr);
    let beat = client
        .post(format!("{base}/v1/heartbeat"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"sensor": "s1", "uptime_s": 12, "counters": {"captured": 3}}))
        .send()
        .await
        .unwrap();
    assert_eq!(beat.status().as_u16(), 204);
    let health: Value = client.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("nightjar_collector_heartbeats_total 1"), "{metrics}");
    collector.shutdown(Duration::from_secs(5)).await.unwrap();
    let registry = nightjar_collector::registry::read_registry(&site.state.join("registry.json")).unwrap();
    assert_eq!(registry["s1"].heartbeat.as_ref().unwrap()["uptime_s"], 12);
}

#[tokio::test]
async fn compaction_merges_batch_files_without_losing_or_repeating_rows() {
    let site = site();
    let token = tokens::add_sensor(&site.state, "s1").unwrap();
    let mut config = config(&site, Limits::default());
    config.compact_interval_s = 2;
    config.compact_min_files = 4;
    let collector = start(config).await.unwrap();
    let mut bodies = Vec::new();
    for seq in 1..=10u64 {
        let body = wire::encode(&[batch("s1", seq, 40, now_us())], 3).unwrap();
        let (status, answer) = Post::new(&token, "s1", seq, body.clone()).send(&collector).await;
        assert_eq!(status, 200, "{answer}");
        bodies.push(body);
    }
    assert_eq!(parquet_files(&site.dataset).len(), 10);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while parquet_files(&site.dataset).len() > 1 {
        assert!(std::time::Instant::now() < deadline, "compaction did not run");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(parquet_rows(&parquet_files(&site.dataset)).0, 400, "every row exactly once");
    // The ledger still recognises the compacted batches.
    let (status, answer) = Post::new(&token, "s1", 3, bodies[2].clone()).send(&collector).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("duplicate")));
    collector.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_sensors_at_once_are_all_served() {
    let site = site();
    let names: Vec<String> = (0..200).map(|i| format!("crowd-{i:03}")).collect();
    let tokens: Vec<String> = names.iter().map(|n| tokens::add_sensor(&site.state, n).unwrap()).collect();
    let collector = std::sync::Arc::new(start(config(&site, Limits::default())).await.unwrap());
    let mut tasks = Vec::new();
    for (name, token) in names.iter().cloned().zip(tokens) {
        let collector = std::sync::Arc::clone(&collector);
        tasks.push(tokio::spawn(async move {
            let body = wire::encode(&[batch(&name, 1, 25, now_us())], 3).unwrap();
            // A busy collector answers 429; a sensor retries after a pause.
            for _ in 0..100 {
                let (status, answer) = Post::new(&token, &name, 1, body.clone()).send(&collector).await;
                match status {
                    200 => return answer["status"].as_str().map(str::to_string),
                    429 | 503 => tokio::time::sleep(Duration::from_millis(100)).await,
                    other => panic!("{name}: {other} {answer}"),
                }
            }
            None
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().as_deref(), Some("stored"));
    }
    assert_eq!(parquet_rows(&parquet_files(&site.dataset)).0, 200 * 25);
    let collector = std::sync::Arc::into_inner(collector).expect("all tasks are done");
    collector.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A one-network country database: 193.0.14.0/24 is in `country`.
fn country_db(path: &Path, country: &str) {
    use mmdb_writer::{IpVersion, Ipv4Aliasing, Value, Writer};
    let mut writer =
        Writer::builder("Nightjar-Test-Country").ip_version(IpVersion::V6).ipv4_aliasing(Ipv4Aliasing::Enabled).build();
    let network: mmdb_writer::ipnet::IpNet = "193.0.14.0/24".parse().unwrap();
    writer.insert_value(network, Value::map([("country_code", Value::from(country))])).unwrap();
    // Replace atomically, as an operator's refresh should.
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, writer.to_bytes().unwrap()).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

#[tokio::test]
async fn a_changed_country_database_is_used_without_a_restart() {
    let site = site();
    let token = tokens::add_sensor(&site.state, "s1").unwrap();
    let db = site.state.parent().unwrap().join("country.mmdb");
    country_db(&db, "JP");
    let mut config = config(&site, Limits::default());
    config.country_db = Some(db.clone());
    let collector = start(config).await.unwrap();
    let body = wire::encode(&[batch("s1", 1, 10, now_us())], 3).unwrap();
    assert_eq!(Post::new(&token, "s1", 1, body).send(&collector).await.0, 200);
    assert_eq!(parquet_rows(&parquet_files(&site.dataset)).1, vec!["JP"; 10]);

    // File times can be coarse: make sure the new file's time differs.
    tokio::time::sleep(Duration::from_millis(20)).await;
    country_db(&db, "DE");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut seq = 2;
    loop {
        let body = wire::encode(&[batch("s1", seq, 10, now_us())], 3).unwrap();
        assert_eq!(Post::new(&token, "s1", seq, body).send(&collector).await.0, 200);
        let countries = parquet_rows(&parquet_files(&site.dataset)).1;
        if countries.iter().filter(|c| *c == "DE").count() == 10 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the new database was not picked up: {countries:?}");
        seq += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    collector.shutdown(Duration::from_secs(5)).await.unwrap();
}
