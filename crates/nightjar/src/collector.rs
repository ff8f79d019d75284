//! `nightjar collector` and `nightjar sensors`: run the collector, manage
//! sensor tokens, and see which sensors have gone silent.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use nightjar_collector::registry::{REGISTRY_FILE, read_registry};
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
    /// Exit with status 2 when any active sensor is silent (for monitoring).
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
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async {
        let running = nightjar_collector::start(config).await?;
        eprintln!("nightjar collector listening on {}", running.addr);
        shutdown_signal().await;
        eprintln!("nightjar collector stopping");
        running.shutdown(Duration::from_secs(30)).await?;
        Ok(())
    })
}

pub(crate) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

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
    let silent_after = i64::try_from(config.silent_after_s).unwrap_or(i64::MAX);
    let header = ["sensor", "state", "last seen", "rows/hour", "rows"];
    println!("{:<24} {:<8} {:>10} {:>12} {:>14}  last error", header[0], header[1], header[2], header[3], header[4]);
    let mut silent = 0;
    for sensor in &sensors {
        let status = registry.get(&sensor.name).cloned().unwrap_or_default();
        let ago = status.last_seen.map(|t| now - t);
        let state = if sensor.revoked {
            "revoked"
        } else if ago.is_none_or(|a| a > silent_after) {
            silent += 1;
            "SILENT"
        } else {
            "ok"
        };
        let last_seen = ago.map_or("never".to_string(), |a| format!("{a}s ago"));
        let error = status.last_error.as_ref().map_or(String::new(), |(t, m)| format!("{}s ago: {m}", now - t));
        println!(
            "{:<24} {:<8} {:>10} {:>12} {:>14}  {}",
            sensor.name,
            state,
            last_seen,
            status.rows_last_hour(now),
            status.rows,
            error
        );
    }
    if silent > 0 {
        eprintln!("{silent} sensor(s) silent for more than {}s", config.silent_after_s);
        if args.fail_on_silent {
            std::process::exit(2);
        }
    }
    Ok(())
}
