//! `nightjar demo`: the whole pipeline on bundled defaults, in one folder, in about a minute.
//!
//! Generated darknet traffic → a sensor replaying it and uploading over loopback HTTP with a
//! freshly issued token → a collector writing the Parquet dataset → the per-country risk table →
//! the published site. Nothing is configured, downloaded or run as root.

mod pipeline;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use nightjar_risk::{Exclusions, Grouping, IndicatorQuery, IndicatorReport, PeriodKind, PublishOptions, Taxonomy};

use crate::risk::{address_space, open_engine, resolve_days};
use crate::summary::plural;
use pipeline::DemoPaths;

/// The file that marks a folder as the demo's own, so that a re-run may clear it.
const MARKER: &str = ".nightjar-demo";

/// Arguments of `nightjar demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// The folder the demo works in (created; cleared when it holds an earlier demo).
    #[arg(long, default_value = "nightjar-demo", value_name = "DIR")]
    dir: PathBuf,
    /// How many packets to generate.
    #[arg(long, default_value_t = 400_000, value_name = "N")]
    packets: u64,
    /// Over how many days before now the packets are spread (the collector accepts up to 7).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=6), value_name = "DAYS")]
    days: u64,
}

/// Run `nightjar demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let runtime = nightjar_ops::runtime("nj-demo", None).context("starting tokio")?;
    runtime.block_on(run_async(args))
}

/// A spinner on a terminal; plain lines in a log or a pipe.
fn step(number: usize, text: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        println!("[{number}/5] {text}");
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{prefix:.bold} {spinner} {wide_msg} {elapsed:.dim}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(format!("[{number}/5]"));
    bar.set_message(text.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn done(bar: ProgressBar, text: String) {
    if bar.is_hidden() {
        println!("      {text}");
    }
    bar.finish_with_message(text);
}

async fn run_async(args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    prepare_folder(&args.dir)?;
    let paths = DemoPaths::new(&absolute(&args.dir));

    let bar = step(
        1,
        &format!(
            "generating {} packets of darknet traffic over {} {}",
            args.packets,
            args.days,
            plural(args.days, "day", "days")
        ),
    );
    let sources = {
        let (capture, packets, days) = (paths.capture.clone(), args.packets, args.days);
        tokio::task::spawn_blocking(move || pipeline::generate_capture(&capture, packets, days)).await??
    };
    done(bar, format!("generated {} packets from {sources} sources: {}", args.packets, paths.capture.display()));

    let bar = step(2, "starting the collector on loopback");
    let (collector, token) = pipeline::start_collector(&paths.data, &paths.state).await?;
    done(bar, format!("collector on http://{}, token issued for sensor {}", collector.addr, pipeline::SENSOR_ID));

    let bar = step(3, "sensor replaying the capture and uploading");
    let sensor = pipeline::run_sensor(&paths.work, &paths.capture, collector.addr, &token, &bar).await;
    collector.shutdown(Duration::from_secs(10)).await.context("stopping the collector")?;
    let sensor = sensor?;
    done(
        bar,
        format!(
            "sensor kept {} packets, uploaded {} rows in {} {}; dataset in {}",
            sensor.kept,
            sensor.uploaded_rows,
            sensor.uploaded_batches,
            plural(sensor.uploaded_batches, "batch", "batches"),
            paths.data.display()
        ),
    );

    let bar = step(4, "computing the per-country risk indicators");
    let data = paths.data.to_string_lossy().into_owned();
    let engine = open_engine(&data, None).await?;
    let (first, last) = resolve_days(&engine, None, None).await?;
    let taxonomy = Taxonomy::embedded();
    let space = address_space(None)?;
    let any = taxonomy.get("any")?.clone();
    let query = |day| IndicatorQuery {
        kind: PeriodKind::Day,
        from: day,
        to: day,
        by: Grouping::Country,
        risks: vec![any.clone()],
        exclusions: Exclusions::default(),
    };
    let mut day = last;
    let mut report = IndicatorReport::compute(engine.context(), &query(day), &taxonomy, &space).await?;
    // Today is still receiving packets: show the latest complete day instead, when there is one.
    if let Some(before) = day.pred_opt().filter(|before| report.last_day_incomplete && *before >= first) {
        day = before;
        report = IndicatorReport::compute(engine.context(), &query(day), &taxonomy, &space).await?;
    }
    report.rows.retain(|row| row.rank <= 10);
    done(bar, format!("risk \"any\" on {day}, the ten highest-ranked countries:"));
    println!("\n{}", report.to_text());

    let bar = step(5, "publishing the statistics site");
    let options = PublishOptions {
        from: first,
        to: last,
        headline_period: PeriodKind::Day,
        headline_risk: "any".to_owned(),
        k: 3,
        exclusions: Exclusions::default(),
        source: None,
        counted_from: nightjar_risk::CountSource::Packets,
    };
    let summary = nightjar_risk::publish(engine.context(), &paths.site, &options, &taxonomy, &space).await?;
    let index = paths.site.join("index.html");
    done(bar, format!("site written: {} files, {} country pages", summary.files, summary.countries));

    println!("\nDone in {:.0} s. Open the site: {}", started.elapsed().as_secs_f64(), index.display());
    print_next_steps(&data, first, last);
    Ok(())
}

/// Creates the work folder, or clears the one an earlier demo left.
fn prepare_folder(work: &Path) -> Result<()> {
    if work.join(MARKER).exists() {
        std::fs::remove_dir_all(work).with_context(|| format!("clearing the earlier demo in {}", work.display()))?;
        println!("Starting clean: removed the earlier demo's files in {}.", work.display());
    } else if work.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        bail!("{} exists and is not an earlier demo's folder; give another one with --dir", work.display());
    } else {
        println!("Working in {}.", work.display());
    }
    std::fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    std::fs::write(work.join(MARKER), "nightjar demo folder: `nightjar demo` clears it on its next run\n")?;
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn print_next_steps(data: &str, first: chrono::NaiveDate, last: chrono::NaiveDate) {
    let nightjar = command_name();
    println!(
        r#"
Try next:
  {nightjar} sql --data {data}
  {nightjar} sql --data {data} -c "SELECT country, count(DISTINCT src_ip) AS sources FROM packets WHERE tool = 'mirai' GROUP BY country ORDER BY sources DESC LIMIT 10"
  {nightjar} sql --data {data} -c "SELECT * FROM port_activity ORDER BY scan_sources DESC LIMIT 10"
  {nightjar} risk --data {data} --period week --from {first} --to {last} --risk telnet
  {nightjar} risk --data {data} --period day --by asn --format csv
  {nightjar} publish --data {data} --out site"#
    );
}

/// How to run this binary again as printed: `nightjar` when that name on `PATH` is this very
/// binary (installed), else its absolute path (e.g. under `target/` after `cargo run`), quoted
/// for a POSIX shell when it needs to be.
fn command_name() -> String {
    let Ok(current) = std::env::current_exe().and_then(|exe| exe.canonicalize()) else {
        return "nightjar".to_string();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .filter_map(|dir| dir.join("nightjar").canonicalize().ok())
            .next()
            .is_some_and(|found| found == current)
    });
    if on_path {
        return "nightjar".to_string();
    }
    let text = current.display().to_string();
    if text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
