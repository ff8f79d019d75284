//! The sensor's command line, one definition for both binaries that run a
//! sensor: `nightjar-sensor --config FILE` (the small binary a partner
//! installs) and `nightjar sensor --config FILE` (the all-in-one tool).
//!
//! [`SensorArgs`] are the arguments (clap); [`run`] runs the sensor until
//! SIGTERM or Ctrl-C and prints its summary, or with `--check` prints one
//! line per check. Each binary sets up its own log lines (`--log-format`).

use std::path::PathBuf;

use thiserror::Error;

use crate::check::{CheckFailed, CheckLine, Outcome};
use crate::{ConfigError, Sensor, SensorConfig, SensorError};

/// Arguments of a sensor run.
#[derive(clap::Args, Debug)]
pub struct SensorArgs {
    /// The sensor configuration file (TOML); every key is explained in
    /// `sensors/sensor.example.toml`.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Check the configuration and everything it names (token file, CA
    /// file, spool folder, interface), then one heartbeat to the collector:
    /// connection, TLS, token, sensor id and clock. One line per check;
    /// exits non-zero with the reason at the first failure. Changes nothing
    /// on disk and opens no capture socket.
    #[arg(long)]
    pub check: bool,
    /// With `--check`: do not contact the collector (for a start that must
    /// not wait for the network, such as the service's `ExecStartPre`).
    #[arg(long, requires = "check")]
    pub offline: bool,
}

/// Why a sensor run or check ended with an error.
#[derive(Debug, Error)]
pub enum CliError {
    /// The configuration file cannot be read or is invalid.
    #[error("in {}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong in it.
        #[source]
        source: ConfigError,
    },
    /// The async runtime could not be started.
    #[error("starting the async runtime")]
    Runtime(#[source] std::io::Error),
    /// What the configuration names cannot be used (files, spool, interface).
    #[error("with {}", path.display())]
    Build {
        /// The configuration file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: SensorError,
    },
    /// The running sensor failed.
    #[error(transparent)]
    Run(SensorError),
    /// A check of `--check` failed.
    #[error("with {}", path.display())]
    Check {
        /// The configuration file.
        path: PathBuf,
        /// The check that failed.
        #[source]
        source: CheckFailed,
    },
}

/// Run the sensor of `args.config` until SIGTERM or Ctrl-C, then print its
/// summary on stdout; or with `--check`, check it.
pub fn run(args: &SensorArgs) -> Result<(), CliError> {
    let config =
        SensorConfig::load(&args.config).map_err(|source| CliError::Config { path: args.config.clone(), source })?;
    if args.check {
        return check(&config, args);
    }
    keep_freed_memory_small();
    let runtime = nightjar_ops::runtime("nj-sensor", Some(2)).map_err(CliError::Runtime)?;
    runtime.block_on(async {
        let sensor = Sensor::build(config).map_err(|source| CliError::Build { path: args.config.clone(), source })?;
        let snapshot = sensor.run(nightjar_ops::shutdown_signal()).await.map_err(CliError::Run)?;
        print!("{}", snapshot.summary());
        Ok(())
    })
}

/// A running sensor builds a batch of up to `batch.max_rows` records, encodes and compresses it,
/// then frees it, second after second, on several threads. glibc's allocator would keep the freed
/// buffers per thread (an arena each) and raise its mmap threshold after every large free, so the
/// resident memory of a busy sensor crept up for minutes after each burst. Large buffers are
/// mapped and unmapped instead, and two arenas serve all threads: the memory a burst took goes
/// back to the system once the batch is spooled.
fn keep_freed_memory_small() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets glibc allocator parameters; it is called before the runtime's
    // threads exist, and both values are within the ranges glibc documents.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// `--check`: one line per check on stdout, as each finishes.
fn check(config: &SensorConfig, args: &SensorArgs) -> Result<(), CliError> {
    let runtime = nightjar_ops::runtime("nj-check", Some(1)).map_err(CliError::Runtime)?;
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
        .block_on(crate::check::run(config, !args.offline, &mut print))
        .map_err(|source| CliError::Check { path: args.config.clone(), source })?;
    println!("check passed: {}", args.config.display());
    Ok(())
}
