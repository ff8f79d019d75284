//! `nightjar generate`: synthetic darknet traffic as a pcap file.

use std::fs::File;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use nightjar_generate::{DEFAULT_START_TIME_US, GeneratorConfig, SourcePool, TrafficKind, generate};
use nightjar_geo::GeoDb;
use nightjar_packet::Prefix;

/// Arguments of `nightjar generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// The pcap file to write (Ethernet, microsecond timestamps).
    #[arg(long, value_name = "FILE.pcap")]
    out: PathBuf,
    /// How many frames to write.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    packets: u64,
    /// Seed: the same seed and options always give the same file, byte for byte.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// The darknet the traffic is aimed at (repeatable; IPv6 traffic is added
    /// only when an IPv6 prefix is given). Default: 192.0.2.0/24.
    #[arg(long = "dark-prefix", value_name = "CIDR")]
    dark_prefixes: Vec<Prefix>,
    /// Time of the first packet, as UTC date (YYYY-MM-DD). Default: 2026-01-01.
    #[arg(long, value_name = "DATE")]
    start: Option<chrono::NaiveDate>,
    /// Spread the timestamps over this many seconds.
    #[arg(long, default_value_t = 86_400, value_name = "SECONDS")]
    duration: u64,
    /// How many distinct sources to draw (default: one per 40 packets, 64 to 1,000,000).
    #[arg(long, value_name = "N")]
    sources: Option<u32>,
}

/// Sources drawn from every network of the bundled country database, so that each country
/// appears in proportion to its address space and the collector attributes it back.
pub fn world_sources() -> Result<SourcePool> {
    let geo = GeoDb::embedded_country();
    let mut networks = geo.ipv4_networks().context("reading networks from the bundled country database")?;
    networks.extend(geo.ipv6_networks().context("reading networks from the bundled country database")?);
    Ok(SourcePool::new(networks.into_iter().map(|(country, prefix)| (country.as_str().to_string(), prefix))))
}

/// Run `nightjar generate`.
pub fn run(args: GenerateArgs) -> Result<()> {
    let pool = world_sources()?;
    let start_time_us = match args.start {
        Some(date) => {
            date.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_micros()).unwrap_or(DEFAULT_START_TIME_US)
        }
        None => DEFAULT_START_TIME_US,
    };
    let config = GeneratorConfig {
        packets: args.packets,
        seed: args.seed,
        dark_prefixes: args.dark_prefixes.clone(),
        start_time_us,
        duration_s: args.duration,
        sources: args.sources,
    };
    let file = File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let started = Instant::now();
    let summary = generate(&config, &pool, file).with_context(|| format!("writing {}", args.out.display()))?;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "wrote {} frames ({} bytes of frames, {} distinct sources) to {} in {:.2}s",
        summary.packets,
        summary.frame_bytes,
        summary.distinct_sources,
        args.out.display(),
        elapsed
    );
    let mut kinds: Vec<(TrafficKind, u64)> = summary.kinds().filter(|(_, n)| *n > 0).collect();
    kinds.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (kind, count) in kinds {
        println!("  {:<28} {:>12}", kind.name(), count);
    }
    Ok(())
}
