//! Load generator for the collector ingest benchmark: several sensors, each
//! posting pre-encoded batches of generated traffic in order over loopback
//! HTTP, as fast as the collector acknowledges them.
//!
//! Usage: `ingest-load --url http://127.0.0.1:PORT --tokens FILE --batches N --rows R`
//! where FILE has one `sensor token` pair per line. Prints one JSON line:
//! `{"rows": …, "batches": …, "seconds": …}`.

use std::time::Instant;

use nightjar_benches::generated_frames;
use nightjar_record::wire::{self, CONTENT_TYPE};
use nightjar_record::{Ingest, IngestRules};

struct Args {
    url: String,
    tokens: String,
    batches: u64,
    rows: usize,
}

fn parse_args() -> Args {
    let mut args = Args { url: String::new(), tokens: String::new(), batches: 20, rows: 65_536 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value,
            "--tokens" => args.tokens = value,
            "--batches" => args.batches = value.parse().expect("--batches N"),
            "--rows" => args.rows = value.parse().expect("--rows R"),
            other => panic!("unknown option {other}"),
        }
    }
    args
}

/// One batch of `rows` records from `sensor`, numbered `seq`, encoded for upload.
fn encoded_batch(frames: &[nightjar_benches::MemoryFrame], sensor: &str, seq: u64, rows: usize) -> Vec<u8> {
    let mut ingest = Ingest::new(IngestRules::default());
    let now_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) as u64;
    for (i, frame) in frames.iter().cycle().take(rows * 2).enumerate() {
        if ingest.pending() >= rows {
            break;
        }
        // Recent times, so the collector's clock-skew check accepts them.
        ingest.push(now_ns - 1_000_000_000 + i as u64 * 1_000, nightjar_packet::LinkType::Ethernet, &frame.bytes);
    }
    wire::encode(&[ingest.finish_batch(sensor, seq)], 3).expect("generated batches encode")
}

fn main() {
    let args = parse_args();
    let sensors: Vec<(String, String)> = std::fs::read_to_string(&args.tokens)
        .expect("the tokens file")
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(s, t)| (s.to_string(), t.trim().to_string())))
        .collect();
    let frames = generated_frames(args.rows as u64);
    let bodies: Vec<Vec<Vec<u8>>> = sensors
        .iter()
        .map(|(sensor, _)| (1..=args.batches).map(|seq| encoded_batch(&frames, sensor, seq, args.rows)).collect())
        .collect();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    let started = Instant::now();
    let stored: u64 = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for ((sensor, token), bodies) in sensors.into_iter().zip(bodies) {
            let (client, url) = (client.clone(), format!("{}/v1/batches", args.url));
            tasks.push(tokio::spawn(async move {
                let mut rows = 0u64;
                for (i, body) in bodies.into_iter().enumerate() {
                    loop {
                        let response = client
                            .post(&url)
                            .bearer_auth(&token)
                            .header("content-type", CONTENT_TYPE)
                            .header("content-encoding", "zstd")
                            .header("nightjar-sensor", &sensor)
                            .header("nightjar-batch-seq", (i + 1).to_string())
                            .header("nightjar-schema-version", "1")
                            .body(body.clone())
                            .send()
                            .await
                            .expect("the collector answers");
                        if response.status().is_success() {
                            let answer: serde_json::Value = response.json().await.unwrap_or_default();
                            rows += answer["rows"].as_u64().unwrap_or(0);
                            break;
                        }
                        assert!(response.status().as_u16() == 429, "unexpected answer {}", response.status());
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
                rows
            }));
        }
        let mut total = 0;
        for task in tasks {
            total += task.await.expect("sensor task");
        }
        total
    });
    let seconds = started.elapsed().as_secs_f64();
    println!("{{\"rows\": {stored}, \"batches\": {}, \"seconds\": {seconds:.3}}}", args.batches);
}
