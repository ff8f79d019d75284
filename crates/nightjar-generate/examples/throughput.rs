//! Measure how fast the generator writes a capture.
//!
//! ```text
//! cargo run --release -p nightjar-generate --example throughput -- [PACKETS] [OUT.pcap]
//! ```
//!
//! Generates PACKETS (default 10,000,000) frames with sources from the
//! bundled country database, writes them as pcap to OUT (default: written
//! to a sink, to time the generator alone) and prints packets per second.

use std::io::Write;
use std::time::Instant;

use nightjar_generate::{CaptureWriter, Generator, GeneratorConfig, SourcePool};
use nightjar_geo::GeoDb;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let packets: u64 = args.next().map(|p| p.parse()).transpose()?.unwrap_or(10_000_000);
    let out: Box<dyn Write> = match args.next() {
        Some(path) => Box::new(std::fs::File::create(path)?),
        None => Box::new(std::io::sink()),
    };

    let setup = Instant::now();
    let pool = SourcePool::new(GeoDb::embedded_country().ipv4_networks()?);
    let config = GeneratorConfig { packets, seed: 1, ..GeneratorConfig::default() };
    let mut generator = Generator::new(&config, &pool)?;
    let setup = setup.elapsed();

    let start = Instant::now();
    let mut capture = CaptureWriter::new(out)?;
    while let Some(frame) = generator.next_frame()? {
        capture.write(&frame)?;
    }
    capture.finish()?.flush()?;
    let elapsed = start.elapsed();

    let summary = generator.into_summary();
    println!(
        "{} packets ({} bytes of frames) from {} sources in {:.2} s, after {:.2} s of setup: {:.2} M packets/s",
        summary.packets,
        summary.frame_bytes,
        summary.distinct_sources,
        elapsed.as_secs_f64(),
        setup.as_secs_f64(),
        summary.packets as f64 / elapsed.as_secs_f64() / 1e6,
    );
    Ok(())
}
