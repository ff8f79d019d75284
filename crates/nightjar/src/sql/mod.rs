//! `nightjar sql`: SQL over the dataset — an interactive shell, `-c "SQL"` and `-f FILE.sql`.

mod meta;
mod output;
mod shell;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use nightjar_query::{QueryConfig, QueryEngine, QueryError, QueryLimits, error_location};

pub use output::Format;
use output::ResultSink;

/// Arguments of `nightjar sql`.
#[derive(clap::Args, Debug)]
pub struct SqlArgs {
    /// The dataset: a folder written by the collector or `nightjar import`, or an `s3://bucket/prefix`
    /// URL (credentials and endpoint from the AWS_* environment variables).
    #[arg(long, default_value = "data", value_name = "DIR|URL")]
    data: String,
    /// Run this SQL (one or more statements, or a backslash command such as `\d packets`) and exit.
    /// Repeatable; runs before any `--file`.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    commands: Vec<String>,
    /// Run the statements of this file and exit. Repeatable.
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    files: Vec<PathBuf>,
    /// How results are written.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write results to this file instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Tables show at most this many rows (0: all); CSV, JSON lines and Parquet get every row.
    #[arg(long, default_value_t = 1000, value_name = "ROWS")]
    max_rows: usize,
    /// Print how long each statement took, and its row count, to standard error.
    #[arg(long)]
    timing: bool,
    /// Country database for geo_country() (MaxMind format). Default: the bundled one.
    #[arg(long, value_name = "FILE.mmdb")]
    country_db: Option<PathBuf>,
    /// ASN database for geo_asn() and geo_as_name() (MaxMind format). Default: the bundled one.
    #[arg(long, value_name = "FILE.mmdb")]
    asn_db: Option<PathBuf>,
    /// Read the table as it was at this version (a number) or time (RFC 3339, e.g.
    /// 2026-11-30T12:00:00Z) instead of its latest commit.
    #[arg(long, value_name = "VERSION|TIME")]
    as_of: Option<nightjar_query::AsOf>,
    /// The most memory one query may use, e.g. 512MiB or 8GiB; beyond it the query stops with an error.
    #[arg(long, default_value = "4GiB", value_parser = parse_bytes, value_name = "SIZE")]
    memory_limit: usize,
    /// The longest one query may run, e.g. 30s or 10m.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    time_limit: Duration,
    /// Run the queries on a Nightjar cluster (`nightjar cluster scheduler`): the scheduler's
    /// address. Its executors read the dataset with their own AWS_* settings.
    #[arg(long, value_name = "df://HOST:PORT")]
    cluster: Option<String>,
}

/// A size such as `4GiB`, `1.5 GiB`, `512MiB` or a plain number of bytes ([`nightjar_ops::parse_size`]).
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let bytes = nightjar_ops::parse_size(text).map_err(|error| error.to_string())?;
    usize::try_from(bytes).map_err(|_| format!("`{text}` is too large"))
}

/// Run `nightjar sql`.
pub fn run(args: SqlArgs) -> Result<()> {
    let runtime = nightjar_ops::runtime("nj-sql", None)?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: SqlArgs) -> Result<()> {
    let config = QueryConfig {
        country_db: args.country_db.clone(),
        asn_db: args.asn_db.clone(),
        limits: QueryLimits { memory_bytes: args.memory_limit, time: args.time_limit },
        as_of: args.as_of.clone().unwrap_or_default(),
        upgrade: crate::dataset::cluster_upgrade(args.cluster.as_deref(), &args.data)?,
        ..QueryConfig::new(args.data.clone())
    };
    crate::dataset::check_location(&args.data)?;
    let engine = QueryEngine::open(config).await?;
    let mut session = Session {
        engine,
        sink: ResultSink::new(args.format, args.output.clone(), args.max_rows)?,
        timing: args.timing,
    };
    if !args.commands.is_empty() || !args.files.is_empty() {
        for command in &args.commands {
            session.run_script(command).await?;
        }
        for file in &args.files {
            let script = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            session.run_script(&script).await.with_context(|| format!("in {}", file.display()))?;
        }
        return Ok(());
    }
    if std::io::stdin().is_terminal() {
        return shell::interactive(&mut session).await;
    }
    let mut script = String::new();
    std::io::stdin().read_to_string(&mut script).context("cannot read SQL from standard input")?;
    session.run_script(&script).await
}

/// An open dataset and where results go.
pub struct Session {
    engine: QueryEngine,
    sink: ResultSink,
    timing: bool,
}

impl Session {
    /// Runs every statement of `script` (or one backslash command) in order; stops at the first
    /// error, which is printed with the place in the script it points at.
    pub async fn run_script(&mut self, script: &str) -> Result<()> {
        let trimmed = script.trim();
        if trimmed.starts_with('\\') {
            let mut out = std::io::stdout().lock();
            return match meta::run(&self.engine, trimmed, &mut out).await? {
                meta::MetaOutcome::ToggleTiming => {
                    self.timing = !self.timing;
                    Ok(())
                }
                _ => Ok(()),
            };
        }
        let statements = self.engine.parse(script).map_err(|error| located(error, script))?;
        for statement in statements {
            let started = Instant::now();
            let stream = self.engine.stream(statement).await.map_err(|error| located(error, script))?;
            let rows = match self.sink.write(&self.engine, stream).await {
                Ok(rows) => rows,
                Err(error) => match error.downcast::<QueryError>() {
                    Ok(error) => return Err(located(error, script)),
                    Err(other) => return Err(other),
                },
            };
            if self.timing {
                let noun = if rows == 1 { "row" } else { "rows" };
                eprintln!("Time: {:.3} s, {rows} {noun}", started.elapsed().as_secs_f64());
            }
        }
        std::io::stdout().flush()?;
        Ok(())
    }
}

/// The error, with the line of SQL it points at and a caret under the place.
fn located(error: QueryError, script: &str) -> anyhow::Error {
    let Some(at) = error_location(&error) else { return anyhow!(error) };
    let Some(line) = script.lines().nth(at.line.saturating_sub(1) as usize) else { return anyhow!(error) };
    let caret = " ".repeat(at.column.saturating_sub(1) as usize);
    anyhow!("{error}\n  at line {}, column {}:\n  {line}\n  {caret}^", at.line, at.column)
}
