//! Load generator for the collector ingest benchmark: several sensors, each
//! posting pre-encoded batches of generated traffic in order over loopback
//! HTTP, as fast as the collector acknowledges them. The batches are
//! consecutive slices of one generated stream (the fleet's traffic), so no
//! batch repeats another and sources recur only as the generator's
//! traffic model has them recur.
//!
//! Usage: `ingest-load --url http://127.0.0.1:PORT --tokens FILE --batches N --rows R`
//! where FILE has one `sensor token` pair per line. Prints one JSON line:
//! `{"rows": …, "batches": …, "seconds": …}`.

use std::time::Instant;

use nightjar_benches::for_each_generated_frame;
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

/// Every sensor's batches, `batches` of `rows` records each, encoded for
/// upload: batch `seq` of every sensor is generated before batch `seq + 1`.
fn encoded_batches(sensors: &[(String, String)], batches: u64, rows: usize) -> Vec<Vec<Vec<u8>>> {
    let mut bodies: Vec<Vec<Vec<u8>>> = vec![Vec::new(); sensors.len()];
    let mut ingest = Ingest::new(IngestRules::default());
    // A little more than needed: the sensor's rules drop malformed frames.
    let packets = (sensors.len() as u64 * batches * rows as u64) * 21 / 20;
    // Recent times, so the collector's clock-skew check accepts them.
    let start_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) as u64 - 1_000_000_000;
    let mut pushed = 0u64;
    for_each_generated_frame(packets, |_, frame| {
        let next = bodies.iter().map(Vec::len).sum::<usize>();
        let (sensor, seq) = (next % sensors.len(), (next / sensors.len()) as u64 + 1);
        if seq > batches {
            return;
        }
        ingest.push(start_ns + pushed * 1_000, nightjar_packet::LinkType::Ethernet, frame);
        pushed += 1;
        if ingest.pending() >= rows {
            let batch = ingest.finish_batch(&sensors[sensor].0, seq);
            bodies[sensor].push(wire::encode(&[batch], 3).expect("generated batches encode"));
        }
    });
    assert!(bodies.iter().all(|b| b.len() as u64 == batches), "the generated stream filled every batch");
    bodies
}

fn main() {
    let args = parse_args();
    let sensors: Vec<(String, String)> = std::fs::read_to_string(&args.tokens)
        .expect("the tokens file")
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(s, t)| (s.to_string(), t.trim().to_string())))
        .collect();
    let bodies = encoded_batches(&sensors, args.batches, args.rows);
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
