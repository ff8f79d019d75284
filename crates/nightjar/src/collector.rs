//! `nightjar collector` and `nightjar sensors`: run the collector, manage
//! sensor tokens, and see which sensors have gone silent, are refused or
//! have stalled.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use nightjar_collector::printable::printable;
use nightjar_collector::registry::{REGISTRY_FILE, SensorStatus, read_registry};
use nightjar_collector::sensor_state::SensorState;
use nightjar_collector::{CollectorConfig, tokens};

/// Arguments of `nightjar collector`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CollectorArgs {
    /// The collector configuration file (TOML); see `crates/nightjar-collector/collector.example.toml`.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    action: Option<CollectorAction>,
}

#[derive(clap::Subcommand, Debug)]
enum CollectorAction {
    /// Add a sensor and print its new token (shown once; stored only hashed).
    /// The running collector accepts it at once.
    AddSensor {
        /// Sensor id: 1–64 letters, digits, `.`, `_` or `-`.
        name: String,
    },
    /// Revoke a sensor: its token stops working at once, without a restart.
    RevokeSensor {
        /// Sensor id.
        name: String,
    },
}

/// Arguments of `nightjar sensors`.
#[derive(clap::Args, Debug)]
pub struct SensorsArgs {
    /// The collector configuration file (TOML).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Exit with status 2 when any active sensor is silent, refused or stalled
    /// (for monitoring).
    #[arg(long)]
    fail_on_silent: bool,
}

fn load(config: Option<&PathBuf>) -> Result<CollectorConfig> {
    let path = config.context("`--config FILE` is required")?;
    Ok(CollectorConfig::load(path)?)
}

/// Run `nightjar collector`.
pub fn run(args: CollectorArgs) -> Result<()> {
    let config = load(args.config.as_ref())?;
    match args.action {
        Some(CollectorAction::AddSensor { name }) => {
            let token = tokens::add_sensor(&config.state_dir, &name)?;
            eprintln!("sensor `{name}` added; its token (shown only now; put it in the sensor's token file):");
            println!("{token}");
            Ok(())
        }
        Some(CollectorAction::RevokeSensor { name }) => {
            tokens::revoke_sensor(&config.state_dir, &name)?;
            eprintln!("sensor `{name}` revoked");
            Ok(())
        }
        None => serve(config),
    }
}

fn serve(config: CollectorConfig) -> Result<()> {
    let runtime = nightjar_ops::runtime("nj-collector", None).context("starting tokio")?;
    runtime.block_on(async {
        let running = nightjar_collector::start(config).await?;
        crate::say::say(&format!("nightjar collector listening on {}", running.addr));
        nightjar_ops::shutdown_signal().await;
        crate::say::say("nightjar collector stopping");
        running.shutdown(Duration::from_secs(30)).await?;
        Ok(())
    })
}

/// Widest sensor id shown (valid ids have at most 64 characters).
const SHOWN_ID_CHARS: usize = 64;

/// Widest note shown after the columns.
const SHOWN_NOTE_CHARS: usize = 160;

/// Run `nightjar sensors`.
pub fn list(args: SensorsArgs) -> Result<()> {
    let config = CollectorConfig::load(&args.config)?;
    let sensors = tokens::list_sensors(&config.state_dir)?;
    let registry_path = config.state_dir.join(REGISTRY_FILE);
    let registry = match read_registry(&registry_path) {
        Ok(registry) => registry,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Default::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", registry_path.display())),
    };
    let now = chrono::Utc::now().timestamp();
    let header = ["sensor", "state", "last seen", "rows/hour", "rows"];
    println!("{:<24} {:<8} {:>10} {:>12} {:>14}  note", header[0], header[1], header[2], header[3], header[4]);
    let mut attention = BTreeMap::<SensorState, usize>::new();
    for sensor in &sensors {
        let status = registry.get(&sensor.name);
        let state = SensorState::of(status, now, config.silent_after_s);
        let shown_state = if sensor.revoked {
            "revoked".to_string()
        } else if state.needs_attention() {
            *attention.entry(state).or_default() += 1;
            state.as_str().to_uppercase()
        } else {
            state.as_str().to_string()
        };
        let status = status.cloned().unwrap_or_default();
        let last_seen = status.last_seen.map_or("never".to_string(), |t| format!("{}s ago", now - t));
        let note = if sensor.revoked { String::new() } else { note(&status, state, now) };
        println!(
            "{:<24} {:<8} {:>10} {:>12} {:>14}  {}",
            printable(&sensor.name, SHOWN_ID_CHARS),
            shown_state,
            last_seen,
            status.rows_last_hour(now),
            status.rows,
            printable(&note, SHOWN_NOTE_CHARS)
        );
    }
    if !attention.is_empty() {
        let counts: Vec<String> = attention.iter().map(|(state, n)| format!("{n} {state}")).collect();
        let needing = attention.values().sum::<usize>() as u64;
        eprintln!(
            "{needing} {} attention: {} (silent: nothing heard for more than {}s)",
            crate::summary::plural(needing, "sensor needs", "sensors need"),
            counts.join(", "),
            config.silent_after_s
        );
        if args.fail_on_silent {
            std::process::exit(2);
        }
    }
    Ok(())
}

/// Why a sensor is in its state, or its last error. Built from registry
/// text that may quote a sensor: the caller makes it printable.
fn note(status: &SensorStatus, state: SensorState, now: i64) -> String {
    match (state, &status.refusal) {
        (SensorState::Refused, Some(refusal)) => format!(
            "{}s ago: a request claiming sensor `{}` was refused: {}",
            now - refusal.at,
            refusal.claimed_sensor,
            refusal.reason
        ),
        (SensorState::Stalled, _) => format!(
            "keeps packets ({} kept, {} batches spooled) but nothing stored for {}s",
            status.kept_packets.map_or("?".to_string(), |n| n.to_string()),
            status.spooled_batches.map_or("?".to_string(), |n| n.to_string()),
            status.pending_since.map_or(0, |t| now - t)
        ),
        _ => status.last_error.as_ref().map_or(String::new(), |(t, m)| format!("{}s ago: {m}", now - t)),
    }
}
