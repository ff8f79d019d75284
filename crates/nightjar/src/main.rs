//! `nightjar`: the command-line tool of the Nightjar darknet telemetry pipeline.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cluster;
mod collector;
mod convert;
mod dataset;
mod demo;
mod generate;
mod geo;
mod import;
mod lookup;
mod progress;
mod publish;
mod risk;
mod rollup;
mod say;
mod sensor;
mod serve_sql;

mod sql;
mod summary;

/// Nightjar watches unused ("dark") address blocks: every packet that arrives
/// there is unsolicited — scans, worm propagation, backscatter from spoofed
/// DDoS attacks. Nightjar decodes and classifies those packets and keeps them
/// as a Parquet dataset for SQL analysis and per-country risk statistics.
#[derive(Parser, Debug)]
#[command(name = "nightjar", version, about, long_about, propagate_version = true)]
struct Cli {
    /// How log lines on stderr are written: `text` for people, `json` for
    /// log pipelines (one JSON object per line: timestamp, level, target,
    /// fields). `NIGHTJAR_LOG` (e.g. `debug`) sets the level.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The format of log lines.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// See the whole pipeline work in about a minute, with nothing to set up:
    /// generated darknet traffic, a sensor uploading to a collector over
    /// loopback, the Parquet dataset, the risk table and the published site.
    Demo(demo::DemoArgs),
    /// Turn pcap/pcapng captures into a Parquet dataset (offline: decode,
    /// classify, write day partitions exactly as the collector does).
    Import(import::ImportArgs),
    /// Turn a dataset folder of layout version 1 (day folders of Parquet, no
    /// `_delta_log/`) into a Delta table in place, without rewriting a file.
    Convert(convert::ConvertArgs),
    /// Write a pcap of realistic synthetic darknet traffic (scanners, Mirai,
    /// Masscan, ZMap, amplifier probes, DDoS backscatter, malformed frames),
    /// reproducible from a seed — for tests, demos and benchmarks.
    Generate(generate::GenerateArgs),
    /// Run the collector that receives batches from sensors (HTTPS), stores
    /// each exactly once in the Parquet dataset with country and ASN; or add
    /// and revoke sensors (`collector add-sensor NAME`).
    Collector(collector::CollectorArgs),
    /// List the sensors a collector knows, when each was last heard from,
    /// and flag the ones that went silent.
    Sensors(collector::SensorsArgs),
    /// Run a darknet sensor: capture on the interface that sees the dark
    /// block (or replay capture files), spool batches durably and upload
    /// them to the collector; `--check` checks the configuration and the
    /// way to the collector (TLS, token, sensor id, clock) without capturing.
    Sensor(sensor::SensorArgs),
    /// GeoIP and ASN database tools: `geo build-asn` turns the CC BY 4.0
    /// ASN CSV files of @ip-location-db/asn into an mmdb.
    Geo(geo::GeoArgs),
    /// Query the dataset with SQL (DataFusion): an interactive shell, or
    /// `-c "SQL"` / `-f FILE.sql`; tables `packets`, `sources`,
    /// `port_activity`, `backscatter_victims`; output as a table, CSV, JSON
    /// lines or Parquet. Read-only.
    Sql(sql::SqlArgs),
    /// Per-country (or per-ASN) risk indicators: distinct risky sources per
    /// period, score, rank, rate per million addresses, excess and coverage,
    /// computed by SQL over the dataset (`--show-sql` prints it).
    Risk(risk::RiskArgs),
    /// Write or refresh the rollup tables (source_days, country_hours, port_days) of the
    /// dataset's completed days: per-day aggregates that keep indicators after the packets
    /// are gone; a day is rolled up again when late packets arrived for it.
    Rollup(rollup::RollupArgs),
    /// Write the static statistics site (world map, rankings, country and
    /// risk pages) and its open data (CSV, JSON, datapackage.json).
    Publish(publish::PublishArgs),
    /// Everything the dataset knows about one source address: days seen,
    /// packets, ports, tools, classes, country and AS, as a table or JSON.
    Lookup(lookup::LookupArgs),
    /// Serve the dataset over Arrow Flight SQL (for ADBC, JDBC and
    /// dashboards): bearer tokens, TLS, read-only SQL within per-query
    /// limits; `serve-sql add-token NAME` lets an analyst in.
    ServeSql(serve_sql::ServeSqlArgs),
    /// Run a process of a DataFusion Ballista cluster for Nightjar's SQL: `cluster scheduler`,
    /// `cluster executor`; then `sql`, `risk`, `publish` and `lookup` take `--cluster df://HOST:PORT`.
    Cluster(cluster::ClusterArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The long-running components report their counters in info lines.
    let long_running =
        matches!(cli.command, Command::Sensor(_) | Command::Collector(_) | Command::ServeSql(_) | Command::Cluster(_));
    init_logging(if long_running { "info" } else { "warn" }, cli.log_format);
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Import(args) => import::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Collector(args) => collector::run(args),
        Command::Sensors(args) => collector::list(args),
        Command::Geo(args) => geo::run(args),
        Command::Sql(args) => sql::run(args),
        Command::Sensor(args) => sensor::run(args),
        Command::Risk(args) => risk::run(args),
        Command::Rollup(args) => rollup::run(args),
        Command::Publish(args) => publish::run(args),
        Command::Lookup(args) => lookup::run(args),
        Command::ServeSql(args) => serve_sql::run(args),
        Command::Cluster(args) => cluster::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            if cli.log_format == LogFormat::Json {
                // A log pipeline reading JSON lines gets the final error as one too.
                tracing::error!(error = format!("{error:#}"), "nightjar: error");
            } else {
                eprintln!("nightjar: error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `NIGHTJAR_LOG` (e.g. `debug`) overrides `default_level`.
fn init_logging(default_level: &str, format: LogFormat) {
    say::set_json(format == LogFormat::Json);
    // The Delta kernel logs its own recoverable lookups (e.g. reading version 0 of a table) as
    // errors; Nightjar reports what fails. `NIGHTJAR_LOG=buoyant_kernel=debug` shows them.
    let filter = tracing_subscriber::EnvFilter::try_from_env("NIGHTJAR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default_level},buoyant_kernel=off")));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => {
            // Colour only on a terminal: journald and log files get plain text.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            builder.with_ansi(ansi).init();
        }
    }
}

/// Output piped into `head` and closed early is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
