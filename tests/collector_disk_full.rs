//! The collector's disk fills up: uploads get `503` with `Retry-After`,
//! nothing partial becomes visible, and storing resumes once space returns.
//!
//! Mounts a small tmpfs as the dataset folder, so it needs root; it is reported ignored
//! without root unless `NIGHTJAR_SYSTEM_TESTS=require`.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use nightjar_collector::{CollectorConfig, start, tokens};
use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::wire::{self, CONTENT_TYPE};
use nightjar_record::{PacketBatchBuilder, RecordOptions};
use nightjar_test_kit::frames::{Ipv4Probe, Tcp};
use nightjar_test_kit::prereq::Skipped;
use nightjar_test_kit::tmpfs::Tmpfs;

/// `rows` probes with varied fields, so the Parquet file is not tiny.
fn body(rows: usize) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp_micros();
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for i in 0..rows {
        let b = (i as u32).wrapping_mul(2_654_435_761).to_be_bytes();
        let probe = Ipv4Probe::new(Ipv4Addr::new(198, 51, b[2], b[3]), Ipv4Addr::new(192, 0, 2, b[1]))
            .id(u16::from_be_bytes([b[0], b[1]]));
        let syn = Tcp { seq: u32::from_be_bytes(b), window: 5840, ..Tcp::syn(u16::from_be_bytes([b[3], b[2]]), 23) };
        let frame = probe.tcp(syn);
        let packet = decode(LinkType::Raw, &frame).unwrap();
        builder.append(now + i as i64, &packet, &classify(&packet), None);
    }
    wire::encode(&[builder.finish("full", 1)], 3).unwrap()
}

fn visible_parquet(dataset: &Path) -> usize {
    std::fs::read_dir(dataset)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|d| d.file_name().to_string_lossy().starts_with("day="))
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .count()
}

async fn a_full_disk_answers_503_writes_nothing_and_recovers() -> Result<(), Skipped> {
    let dir = tempfile::tempdir().unwrap();
    let dataset = dir.path().join("data");
    let _mount = Tmpfs::mount("collector_disk_full", &dataset, "2m")?;
    let state = dir.path().join("state");
    let token = tokens::add_sensor(&state, "full").unwrap();
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), dataset.clone(), state);
    config.compact_interval_s = 0;
    let collector = start(config).await.unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let payload = body(20_000);
    let post = || {
        client
            .post(format!("http://{}/v1/batches", collector.addr))
            .bearer_auth(&token)
            .header("content-type", CONTENT_TYPE)
            .header("content-encoding", "zstd")
            .header("nightjar-sensor", "full")
            .header("nightjar-batch-seq", "1")
            .header("nightjar-schema-version", "1")
            .body(payload.clone())
            .send()
    };

    // Fill the disk to the last byte.
    let filler = dataset.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0xa5u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    while file.write_all(&block[..512]).is_ok() {}
    drop(file);

    let response = post().await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"), "a full disk tells the sensor when to come back");
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "unavailable", "{answer}");
    assert_eq!(visible_parquet(&dataset), 0, "nothing partial is visible");
    let leftovers = std::fs::read_dir(dataset.join("_inprogress")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "no torn file is left behind");
    let health = client.get(format!("http://{}/healthz", collector.addr)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 503, "health says the collector cannot write");

    std::fs::remove_file(&filler).unwrap();
    let response = post().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!((answer["status"].as_str(), answer["rows"].as_u64()), (Some("stored"), Some(20_000)));
    assert_eq!(visible_parquet(&dataset), 1);
    collector.shutdown(Duration::from_secs(5)).await.unwrap();
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![trial!(async a_full_disk_answers_503_writes_nothing_and_recovers)]
}
