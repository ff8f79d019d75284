//! `nightjar import`: capture files to the Parquet dataset, offline: the
//! collector's path (decode, classify, enrich, write) without the network.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use nightjar_capture::{CaptureFile, FrameEvent};
use nightjar_dataset::{CommittedFile, PartitionedWriter, WriterOptions};
use nightjar_geo::{Enricher, GeoDb};
use nightjar_packet::{Prefix, PrefixSet, ResearchScanners};
use nightjar_record::{Ingest, IngestRules, RecordOptions};

use crate::summary;

/// Arguments of `nightjar import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Capture files to read: pcap or pcapng, any supported link type.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Dataset folder to write into (created if missing); files land in
    /// `day=YYYY-MM-DD/` partitions.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Sensor id recorded in every row.
    #[arg(long, default_value = "import", value_name = "ID")]
    sensor: String,
    /// Keep only packets sent to this dark prefix (IPv4 or IPv6 CIDR;
    /// repeatable). Packets from inside it are dropped as the darknet's own.
    /// Without it every packet is kept.
    #[arg(long = "dark-prefix", value_name = "CIDR")]
    dark_prefixes: Vec<Prefix>,
    /// Research scanner list: one CIDR per line, optionally followed by the
    /// organisation's name; `#` comments. Default: the bundled list of
    /// internet-wide scanning organisations (`crates/nightjar-packet/data/README.md`);
    /// an empty file (`/dev/null`) labels no source.
    #[arg(long, value_name = "FILE")]
    research_list: Option<PathBuf>,
    /// Country database (MaxMind format: GeoLite2-Country, DB-IP, ip-location-db).
    /// Default: the bundled public-domain iptoasn country database.
    #[arg(long, value_name = "FILE.mmdb")]
    country_db: Option<PathBuf>,
    /// ASN database (MaxMind format: GeoLite2-ASN, DB-IP ASN, ip-location-db
    /// ASN). Without it the `asn` and `as_name` columns stay empty.
    #[arg(long, value_name = "FILE.mmdb")]
    asn_db: Option<PathBuf>,
    /// Bytes of transport payload to keep per packet (0 keeps none).
    #[arg(long, default_value_t = 0, value_name = "BYTES")]
    payload_prefix: usize,
    /// Records per Arrow batch handed to the Parquet writer.
    #[arg(long, default_value_t = 65_536, value_name = "ROWS")]
    batch_rows: usize,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// Run `nightjar import`.
pub fn run(args: ImportArgs) -> Result<()> {
    let research = match &args.research_list {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading research scanner list {}", path.display()))?;
            ResearchScanners::parse(&text).with_context(|| format!("in research scanner list {}", path.display()))?
        }
        None => ResearchScanners::bundled(),
    };
    let rules = IngestRules {
        dark_prefixes: PrefixSet::new(args.dark_prefixes.clone()),
        research,
        record: RecordOptions { payload_prefix: args.payload_prefix },
        ..IngestRules::default()
    };
    let enricher = open_enricher(args.country_db.as_deref(), args.asn_db.as_deref())?;
    let mut ingest = Ingest::new(rules);
    let run_id = format!(
        "import-{}-{}",
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0),
        std::process::id()
    );
    let mut writer = PartitionedWriter::new(&args.out, &run_id, WriterOptions::default())
        .with_context(|| format!("opening dataset folder {}", args.out.display()))?;

    let started = Instant::now();
    let mut batch_seq = 0u64;
    let mut capture_skips: Vec<(String, u64)> = Vec::new();
    let mut file_errors: Vec<String> = Vec::new();
    let batch_rows = args.batch_rows.max(1);
    for path in &args.files {
        let progress = progress_bar(path, args.quiet);
        let read = import_file(path, &mut ingest, &progress, &mut capture_skips, |ingest| {
            if ingest.pending() >= batch_rows {
                let batch = enricher.enrich(&ingest.finish_batch(&args.sensor, batch_seq))?;
                batch_seq += 1;
                writer.write(&batch)?;
            }
            Ok(())
        });
        progress.finish_and_clear();
        if let Err(error) = read {
            file_errors.push(format!("{error:#}"));
        }
    }
    if ingest.pending() > 0 {
        writer.write(&enricher.enrich(&ingest.finish_batch(&args.sensor, batch_seq))?)?;
    }
    let committed = writer.commit().context("committing Parquet files")?;
    print_summary(&args, &ingest, &capture_skips, &committed, started);
    if !file_errors.is_empty() {
        for error in &file_errors {
            eprintln!("nightjar: {error}");
        }
        bail!(
            "{} of {} capture files could not be read to the end; everything read before the problem was written",
            file_errors.len(),
            args.files.len()
        );
    }
    Ok(())
}

/// The enricher over the chosen databases; the bundled ones by default.
fn open_enricher(country_db: Option<&Path>, asn_db: Option<&Path>) -> Result<Enricher> {
    let country = GeoDb::country_or_embedded(country_db)?;
    let asn = GeoDb::asn_or_embedded(asn_db)?;
    Ok(Enricher::new(Arc::new(country), Some(Arc::new(asn))))
}

/// Read one capture file through the per-frame path. `after_frame` runs after
/// every frame (the caller flushes full batches there).
fn import_file(
    path: &Path,
    ingest: &mut Ingest,
    progress: &ProgressBar,
    capture_skips: &mut Vec<(String, u64)>,
    mut after_frame: impl FnMut(&mut Ingest) -> Result<()>,
) -> Result<()> {
    let mut capture = CaptureFile::open(path)?;
    let mut bytes_seen = 0u64;
    while let Some(event) = capture.next_frame() {
        match event? {
            FrameEvent::Frame(frame) => {
                // Record header (16 bytes in pcap) plus data: close enough for a progress bar.
                bytes_seen += 16 + frame.data.len() as u64;
                ingest.push(frame.timestamp_ns, frame.link, frame.data);
            }
            FrameEvent::Skipped(reason) => {
                let name = reason.to_string();
                match capture_skips.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, count)) => *count += 1,
                    None => capture_skips.push((name, 1)),
                }
            }
        }
        after_frame(ingest)?;
        if capture.records() % 16_384 == 0 {
            progress.set_position(bytes_seen);
        }
    }
    Ok(())
}

fn progress_bar(path: &Path, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    bar
}

fn print_summary(
    args: &ImportArgs,
    ingest: &Ingest,
    capture_skips: &[(String, u64)],
    committed: &[CommittedFile],
    started: Instant,
) {
    let elapsed = started.elapsed().as_secs_f64();
    let counters = ingest.counters();
    println!("imported {} file(s) into {}", args.files.len(), args.out.display());
    print!("{}", summary::describe(counters, capture_skips));
    let bytes: u64 = committed.iter().map(|f| f.bytes).sum();
    let rows: u64 = committed.iter().map(|f| f.rows).sum();
    println!("parquet files      {:>12}", committed.len());
    println!("parquet rows       {:>12}", rows);
    println!("parquet bytes      {:>12}", bytes);
    if rows > 0 {
        println!("bytes per record   {:>12.2}", bytes as f64 / rows as f64);
    }
    println!("elapsed            {:>11.2}s ({:.0} frames/s)", elapsed, counters.frames as f64 / elapsed.max(1e-9));
}
