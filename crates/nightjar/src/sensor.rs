//! `nightjar sensor`: run a darknet sensor from its configuration file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use nightjar_sensor::check::{CheckLine, Outcome};
use nightjar_sensor::{Sensor, SensorConfig};

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
        print!("{}", snapshot.summary());
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
