//! Captures for the sensor tests: recent generated traffic aimed at
//! 192.0.2.0/24, and what a sensor keeps from it. Shared by the sensor
//! crate's tests and the binary's.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use nightjar_capture::{CaptureFile, FrameEvent};
use nightjar_generate::{GeneratorConfig, SourcePool, generate};
use nightjar_packet::{Prefix, PrefixSet};
use nightjar_record::{Ingest, IngestRules};

/// The dark prefix every test capture aims at.
pub const DARK: &str = "192.0.2.0/24";

/// Write `dir/name`: `packets` frames starting an hour ago (recent, so a
/// collector's clock-skew check passes), spread over `duration_s`. Returns
/// the file and the per-frame path fed with it: its counters and pending
/// records are what a sensor must deliver.
pub fn make_capture(dir: &Path, name: &str, packets: u64, seed: u64, duration_s: u64) -> (PathBuf, Ingest) {
    let pool = SourcePool::new([
        ("JP", "133.0.0.0/8".parse::<Prefix>().unwrap()),
        ("NL", "193.0.0.0/8".parse().unwrap()),
        ("US", "3.0.0.0/8".parse().unwrap()),
    ]);
    let now_us = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as i64;
    let config = GeneratorConfig {
        packets,
        seed,
        dark_prefixes: vec![DARK.parse().unwrap()],
        start_time_us: now_us - 3_600_000_000,
        duration_s,
        sources: None,
    };
    let pcap = dir.join(name);
    generate(&config, &pool, std::fs::File::create(&pcap).unwrap()).unwrap();
    let mut ingest = Ingest::new(IngestRules {
        dark_prefixes: PrefixSet::new(vec![DARK.parse().unwrap()]),
        // What a sensor labels by default.
        research: nightjar_packet::ResearchScanners::bundled(),
        ..IngestRules::default()
    });
    let mut file = CaptureFile::open(&pcap).unwrap();
    while let Some(event) = file.next_frame() {
        if let FrameEvent::Frame(frame) = event.unwrap() {
            ingest.push(frame.timestamp_ns, frame.link, frame.data);
        }
    }
    (pcap, ingest)
}
