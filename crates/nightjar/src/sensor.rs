//! `nightjar sensor`: run a darknet sensor from its configuration file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use nightjar_sensor::check::{CheckLine, Outcome};
use nightjar_sensor::{MetricsSnapshot, Sensor, SensorConfig};

/// Arguments of `nightjar sensor`.
#[derive(clap::Args, Debug)]
pub struct SensorArgs {
    /// The sensor configuration file (TOML); every key is explained in
    /// `sensors/sensor.example.toml`.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Check the configuration and everything it names (token file, CA
    /// file, spool folder, interface), then one heartbeat to the collector:
    /// connection, TLS, token, sensor id and clock. One line per check;
    /// exits non-zero with the reason at the first failure. Changes nothing
    /// on disk and opens no capture socket.
    #[arg(long)]
    check: bool,
    /// With `--check`: do not contact the collector (for a start that must
    /// not wait for the network, such as the service's `ExecStartPre`).
    #[arg(long, requires = "check")]
    offline: bool,
}

/// Run `nightjar sensor`.
pub fn run(args: SensorArgs) -> Result<()> {
    let config = SensorConfig::load(&args.config).with_context(|| format!("in {}", args.config.display()))?;
    if args.check {
        return check(&config, &args);
    }
    let runtime = nightjar_ops::runtime("nj-sensor", Some(2)).context("starting the async runtime")?;
    runtime.block_on(async {
        let sensor = Sensor::build(config).with_context(|| format!("with {}", args.config.display()))?;
        let snapshot = sensor.run(nightjar_ops::shutdown_signal()).await?;
        print_summary(&snapshot);
        Ok(())
    })
}

/// `--check`: one line per check on stdout, as each finishes.
fn check(config: &SensorConfig, args: &SensorArgs) -> Result<()> {
    let runtime = nightjar_ops::runtime("nj-check", Some(1)).context("starting the async runtime")?;
    let mut print = |line: &CheckLine| {
        let mark = match line.outcome {
            Outcome::Passed => "ok",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "skipped",
        };
        println!("{mark:<8}{:<11}{}", line.check, line.detail);
    };
    // No capture socket is opened: this runs as the sensor's user without CAP_NET_RAW.
    runtime
        .block_on(nightjar_sensor::check::run(config, !args.offline, &mut print))
        .with_context(|| format!("with {}", args.config.display()))?;
    println!("check passed: {}", args.config.display());
    Ok(())
}

fn print_summary(s: &MetricsSnapshot) {
    println!("sensor stopped after {}s", s.uptime_s);
    println!("frames captured    {:>12}", s.captured);
    println!("kernel dropped     {:>12}", s.kernel_dropped);
    println!("packets kept       {:>12}", s.kept);
    println!("filtered           {:>12}", s.filtered());
    println!("  outside dark     {:>12}", s.filtered_outside_dark);
    println!("  source in dark   {:>12}", s.filtered_source_dark);
    println!("  own address      {:>12}", s.filtered_own_address);
    println!("not IP             {:>12}", s.not_ip);
    println!("malformed          {:>12}", s.malformed);
    for (reason, count) in &s.skipped {
        println!("  {reason:<28} {count:>12}");
    }
    println!("batches spooled    {:>12} ({} rows)", s.spooled_batches, s.spooled_rows);
    println!(
        "batches uploaded   {:>12} ({} rows, {} duplicate)",
        s.uploaded_batches, s.uploaded_rows, s.duplicate_batches
    );
    println!("upload retries     {:>12} ({} without an answer)", s.upload_retries, s.upload_send_errors);
    println!(
        "refused by collector{:>11} (uploads: {} unauthorized, {} forbidden; heartbeats: {} unauthorized, {} forbidden)",
        s.refused(),
        s.refused_batches_unauthorized,
        s.refused_batches_forbidden,
        s.refused_heartbeats_unauthorized,
        s.refused_heartbeats_forbidden
    );
    println!(
        "upload conflicts   {:>12}{}",
        s.upload_conflicts,
        if s.uplink_stopped > 0 { " (uploading stopped: sequence numbers reused; see the log)" } else { "" }
    );
    println!("batches rejected   {:>12} ({} rows)", s.rejected_batches, s.rejected_rows);
    println!("dropped, spool full{:>12} ({} rows)", s.dropped_spool_full_batches, s.dropped_spool_full_rows);
    println!("spool write errors {:>12} ({} rows lost)", s.spool_write_errors, s.spool_write_lost_rows);
    println!("quarantined        {:>12}", s.quarantined_batches);
    println!("left in spool      {:>12} ({} bytes)", s.spool_batches, s.spool_bytes);
}
