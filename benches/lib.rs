//! Inputs shared by Nightjar's benchmarks.
//!
//! The criterion benches live next to this file (`decode.rs`); `run` is the
//! harness that also times peers (tshark, tcpdump, DuckDB) on the same input
//! and writes BENCHMARKS.md.

use nightjar_generate::{Generator, GeneratorConfig, SourcePool};
use nightjar_geo::GeoDb;

/// One generated frame held in memory.
pub struct MemoryFrame {
    /// Capture time, ns since the epoch.
    pub timestamp_ns: u64,
    /// Ethernet frame bytes.
    pub bytes: Vec<u8>,
}

/// `packets` frames of generated darknet traffic (seed 1, the default dark
/// prefix), drawn from the bundled country database's address space.
pub fn generated_frames(packets: u64) -> Vec<MemoryFrame> {
    let mut frames = Vec::with_capacity(packets as usize);
    for_each_generated_frame(packets, |timestamp_ns, bytes| {
        frames.push(MemoryFrame { timestamp_ns, bytes: bytes.to_vec() })
    });
    frames
}

/// Call `each` with the capture time (ns since the epoch) and bytes of each
/// of `packets` generated frames, as [`generated_frames`] makes them, without
/// holding them all in memory.
pub fn for_each_generated_frame(packets: u64, mut each: impl FnMut(u64, &[u8])) {
    let networks = GeoDb::embedded_country().ipv4_networks().expect("the bundled country database lists its networks");
    let pool = SourcePool::new(networks.into_iter().map(|(country, prefix)| (country.as_str().to_string(), prefix)));
    let config = GeneratorConfig { packets, seed: 1, ..GeneratorConfig::default() };
    let mut generator = Generator::new(&config, &pool).expect("the default generator configuration is valid");
    while let Some(frame) = generator.next_frame().expect("generating into memory cannot fail") {
        each(frame.timestamp_us as u64 * 1_000, frame.bytes);
    }
}

/// The benchmark size from `NIGHTJAR_BENCH_PACKETS`, or `default`.
pub fn bench_packets(default: u64) -> u64 {
    std::env::var("NIGHTJAR_BENCH_PACKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
