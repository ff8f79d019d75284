//! `nightjar-sensor`: the Nightjar sensor as a binary of its own, built from
//! the sensor crate's dependencies only (no query engine, no Parquet writer,
//! no geo databases), for the small boxes partners run it on. It runs the
//! same code as `nightjar sensor` (`nightjar_sensor::cli`).

use std::process::ExitCode;
use std::str::FromStr;

use clap::Parser;
use nightjar_sensor::cli::{self, SensorArgs};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// A Nightjar darknet sensor: captures on the interface that sees the dark
/// block (or replays capture files), spools batches durably and uploads them
/// to the collector; `--check` checks the configuration and the way to the
/// collector (TLS, token, sensor id, clock) without capturing.
#[derive(Parser, Debug)]
#[command(name = "nightjar-sensor", version, about, long_about)]
struct Arguments {
    /// How log lines on stderr are written: `text` for people, `json` for
    /// log pipelines (one JSON object per line: timestamp, level, target,
    /// fields). `NIGHTJAR_LOG` (e.g. `debug`, or
    /// `nightjar_sensor::uplink=debug,info`) sets the level.
    #[arg(long, value_enum, default_value_t = LogLines::Text)]
    log_format: LogLines,
    #[command(flatten)]
    sensor: SensorArgs,
}

/// The format of log lines.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogLines {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let json = arguments.log_format == LogLines::Json;
    start_logging(json);
    match cli::run(&arguments.sensor) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let chain = nightjar_ops::error_chain(&error);
            if json {
                // A log pipeline reading JSON lines gets the final error as one too.
                tracing::error!(error = chain, "nightjar-sensor: error");
            } else {
                eprintln!("nightjar-sensor: error: {chain}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Log lines on stderr at `info`, or as `NIGHTJAR_LOG` says: a level, or
/// `target=level` directives separated by commas. A per-target filter
/// without the regular-expression engine of `EnvFilter` keeps the binary
/// small; span-field filters are the one thing it does not read.
fn start_logging(json: bool) {
    let levels = std::env::var("NIGHTJAR_LOG").ok().and_then(|directives| match Targets::from_str(&directives) {
        Ok(targets) => Some(targets),
        Err(error) => {
            eprintln!("nightjar-sensor: NIGHTJAR_LOG=`{directives}` is not a log level ({error}); logging at info");
            None
        }
    });
    let levels = levels.unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(levels);
    if json {
        registry.with(lines.json().flatten_event(true)).init();
    } else {
        // Colour only on a terminal: journald and log files get plain text.
        registry.with(lines.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))).init();
    }
}
