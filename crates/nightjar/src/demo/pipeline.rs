//! The demo's pipeline: generated traffic, a collector on loopback, a sensor replaying into it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use nightjar_collector::{CollectorConfig, RunningCollector};
use nightjar_generate::{GeneratorConfig, generate};
use nightjar_packet::Prefix;
use nightjar_sensor::{MetricsSnapshot, Sensor, SensorConfig};

use crate::generate::world_sources;

/// The dark prefixes the demo's traffic is aimed at (documentation ranges).
pub const DARK_PREFIXES: [&str; 2] = ["192.0.2.0/24", "2001:db8::/32"];

/// The id the demo's sensor uploads as.
pub const SENSOR_ID: &str = "demo-1";

const DAY_S: u64 = 86_400;

/// Writes `packets` packets of darknet traffic spread over the `days` days before now.
pub fn generate_capture(path: &Path, packets: u64, days: u64) -> Result<u64> {
    let now_s = SystemTime::now().duration_since(UNIX_EPOCH).context("the clock is before 1970")?.as_secs();
    // Ends a minute before now: the collector refuses rows from the future.
    let duration_s = days * DAY_S - 120;
    let start_s = now_s - duration_s - 60;
    let config = GeneratorConfig {
        packets,
        seed: 7,
        dark_prefixes: DARK_PREFIXES.iter().map(|text| text.parse::<Prefix>()).collect::<Result<_, _>>()?,
        start_time_us: i64::try_from(start_s * 1_000_000).context("time out of range")?,
        duration_s,
        sources: None,
    };
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let summary = generate(&config, &world_sources()?, std::io::BufWriter::new(file))?;
    Ok(summary.distinct_sources)
}

/// Starts a collector on a free loopback port writing `data`, and issues the sensor's token.
pub async fn start_collector(data: &Path, state: &Path) -> Result<(RunningCollector, String)> {
    let listen: SocketAddr = "127.0.0.1:0".parse()?;
    let token = nightjar_collector::tokens::add_sensor(state, SENSOR_ID)
        .with_context(|| format!("issuing a token in {}", state.display()))?;
    let config = CollectorConfig::new(listen, data.to_path_buf(), state.to_path_buf());
    let collector = nightjar_collector::start(config).await.context("starting the collector")?;
    Ok((collector, token))
}

/// Runs the sensor over `capture` until it has uploaded everything, showing progress on `bar`.
pub async fn run_sensor(
    work: &Path,
    capture: &Path,
    collector: SocketAddr,
    token: &str,
    bar: &ProgressBar,
) -> Result<MetricsSnapshot> {
    let token_file = work.join("sensor.token");
    std::fs::write(&token_file, format!("{token}\n")).with_context(|| format!("writing {}", token_file.display()))?;
    let config = SensorConfig::parse(&sensor_toml(capture, collector, &token_file, &work.join("spool")), work)?;
    let sensor = Sensor::build(config).context("building the sensor")?;
    let metrics = sensor.metrics();
    let mut running = sensor.start().await.context("starting the sensor")?;
    let mut ticker = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            () = running.finished() => break,
            _ = ticker.tick() => {
                let now = metrics.snapshot();
                bar.set_message(format!("{} packets kept, {} rows uploaded in {} batches", now.kept, now.uploaded_rows, now.uploaded_batches));
            }
        }
    }
    let snapshot = running.shutdown().await;
    if snapshot.rejected_batches > 0 || snapshot.quarantined_batches > 0 {
        bail!(
            "the collector rejected {} batch(es) and {} were quarantined; see the log above",
            snapshot.rejected_batches,
            snapshot.quarantined_batches
        );
    }
    Ok(snapshot)
}

/// The sensor's configuration: offline replay of `capture` as fast as it can, plain HTTP to loopback.
fn sensor_toml(capture: &Path, collector: SocketAddr, token_file: &Path, spool: &Path) -> String {
    let quoted = |path: &Path| format!("{:?}", path.display().to_string());
    let prefixes: Vec<String> = DARK_PREFIXES.iter().map(|prefix| format!("{prefix:?}")).collect();
    format!(
        r#"[sensor]
id = "{SENSOR_ID}"
token_file = {token}

[uplink]
url = "http://{collector}"
initial_backoff = "100ms"
max_backoff = "2s"

[capture]
replay = [{capture}]
replay_pace = "fast"
exit_after_replay = true

[filter]
dark_prefixes = [{prefixes}]

[privacy]
destination = "keep"

[batch]
max_rows = 65536
max_age = "1s"

[spool]
dir = {spool}
"#,
        token = quoted(token_file),
        capture = quoted(capture),
        prefixes = prefixes.join(", "),
        spool = quoted(spool),
    )
}

/// The demo's folders under its work folder.
pub struct DemoPaths {
    pub work: PathBuf,
    pub capture: PathBuf,
    pub data: PathBuf,
    pub state: PathBuf,
    pub site: PathBuf,
}

impl DemoPaths {
    pub fn new(work: &Path) -> DemoPaths {
        DemoPaths {
            work: work.to_path_buf(),
            capture: work.join("darknet.pcap"),
            data: work.join("data"),
            state: work.join("collector-state"),
            site: work.join("site"),
        }
    }
}
