//! `nightjar geo`: tools for the GeoIP and ASN databases.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use nightjar_geo::{AsnDbBuilder, AsnDbOptions, GeoDb};

/// Arguments of `nightjar geo`.
#[derive(clap::Args, Debug)]
pub struct GeoArgs {
    #[command(subcommand)]
    command: GeoCommand,
}

#[derive(clap::Subcommand, Debug)]
enum GeoCommand {
    /// Build an ASN database (MaxMind DB with GeoLite2-ASN records:
    /// autonomous_system_number, autonomous_system_organization) from the
    /// CSV files of the npm package @ip-location-db/asn (asn-ipv4.csv,
    /// asn-ipv6.csv). Where rows overlap, the later row wins and a warning
    /// names both.
    BuildAsn(BuildAsnArgs),
}

#[derive(clap::Args, Debug)]
struct BuildAsnArgs {
    /// A CSV file of `ip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization`
    /// rows (repeatable; IPv4 and IPv6 files go into one database).
    #[arg(long = "csv", value_name = "FILE", required = true, num_args = 1..)]
    csv_files: Vec<PathBuf>,
    /// The mmdb file to write; it is replaced only once complete.
    #[arg(long, value_name = "FILE.mmdb")]
    out: PathBuf,
    /// The database's description (metadata), such as the data's attribution.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// The build time to record, in seconds since the Unix epoch (default:
    /// now). Fix it to rebuild the same file byte for byte.
    #[arg(long, value_name = "SECONDS")]
    build_epoch: Option<u64>,
}

/// Run `nightjar geo`.
pub fn run(args: GeoArgs) -> Result<()> {
    match args.command {
        GeoCommand::BuildAsn(args) => build_asn(args),
    }
}

fn build_asn(args: BuildAsnArgs) -> Result<()> {
    let options = AsnDbOptions {
        description: args.description,
        build_epoch: args.build_epoch.map(|seconds| SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)),
        ..AsnDbOptions::default()
    };
    let mut builder = AsnDbBuilder::new(&options);
    for path in &args.csv_files {
        builder.add_csv_file(path)?;
    }
    let built = builder.finish()?;
    // Check what a reader will see before replacing anything.
    GeoDb::from_bytes(built.bytes.clone(), args.out.display().to_string())
        .context("the database just built does not open; this is a bug in nightjar geo build-asn")?;
    write_replacing(&args.out, &built.bytes)?;

    let report = &built.report;
    for overlap in &report.overlaps {
        eprintln!(
            "nightjar: warning: {} and {} both cover {} – {}; kept the later row, {}",
            overlap.overridden, overlap.kept, overlap.first, overlap.last, overlap.kept
        );
    }
    println!(
        "wrote {} ({} bytes): {} IPv4 rows as {} networks, {} IPv6 rows as {} networks, {} overlaps",
        args.out.display(),
        built.bytes.len(),
        report.ipv4_rows,
        report.ipv4_networks,
        report.ipv6_rows,
        report.ipv6_networks,
        report.overlaps.len()
    );
    Ok(())
}

/// Write `bytes` to `path` under an in-progress name and rename it into
/// place, so `path` is never a half-written database.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path.file_name().with_context(|| format!("--out {} names no file", path.display()))?;
    let mut in_progress_name = file_name.to_os_string();
    in_progress_name.push(".in-progress");
    let in_progress = path.with_file_name(in_progress_name);
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&in_progress)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&in_progress, path)
    };
    write().with_context(|| format!("writing {}", path.display())).inspect_err(|_| {
        let _ = std::fs::remove_file(&in_progress);
    })
}
