//! The collector's disk fills up: uploads get `503` with `Retry-After`,
//! nothing partial becomes visible, and storing resumes once space returns.
//!
//! Mounts a small tmpfs as the dataset folder, so it needs root; it skips
//! without root unless `NIGHTJAR_SYSTEM_TESTS=require`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nightjar_collector::{CollectorConfig, start, tokens};
use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::wire::{self, CONTENT_TYPE};
use nightjar_record::{PacketBatchBuilder, RecordOptions};

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_tmpfs(dir: &Path, size: &str) -> Option<Mount> {
    std::fs::create_dir_all(dir).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    if mounted {
        return Some(Mount(dir.to_path_buf()));
    }
    let why = "cannot mount a tmpfs (needs root)";
    if std::env::var("NIGHTJAR_SYSTEM_TESTS").is_ok_and(|v| v == "require") {
        panic!("NIGHTJAR_SYSTEM_TESTS=require, but {why}");
    }
    eprintln!("skipped: collector_disk_full: {why}");
    None
}

/// `rows` probes with varied fields, so the Parquet file is not tiny.
fn body(rows: usize) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp_micros();
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for i in 0..rows {
        let b = (i as u32).wrapping_mul(2_654_435_761).to_be_bytes();
        let mut frame = vec![0x45, 0, 0, 40, b[0], b[1], 0, 0, 64, 6, 0, 0, 198, 51, b[2], b[3], 192, 0, 2, b[1]];
        frame.extend_from_slice(&[
            b[3], b[2], 0, 23, b[0], b[1], b[2], b[3], 0, 0, 0, 0, 0x50, 0x02, 0x16, 0xd0, 0, 0, 0, 0,
        ]);
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

#[tokio::test]
async fn a_full_disk_answers_503_writes_nothing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = dir.path().join("data");
    let Some(_mount) = mount_tmpfs(&dataset, "2m") else { return };
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
}
