//! `nightjar publish`: the static statistics site and open data files.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Args;
use nightjar_risk::{
    Exclusions, PUBLISH_STEPS, PeriodKind, PublishOptions, SourceVersion, Taxonomy, publish_with_progress,
};

use crate::dataset::DatasetArgs;
use crate::progress;
use crate::risk::{DEFAULT_PERIOD, address_space, count_source, resolve_days};
use crate::summary::plural;

/// Arguments of `nightjar publish`.
#[derive(Args, Debug)]
pub struct PublishArgs {
    #[command(flatten)]
    pub dataset: DatasetArgs,
    /// The folder to write the site into (index.html, pages, data/); created if missing.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// First day (UTC, YYYY-MM-DD); default: the dataset's first day.
    #[arg(long, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Last day (UTC, YYYY-MM-DD), inclusive; default: the dataset's last day.
    #[arg(long, value_name = "DATE")]
    pub to: Option<NaiveDate>,
    /// ASN rows with fewer than K sources are suppressed; the site says how many.
    #[arg(long, default_value_t = 3, value_name = "K")]
    pub k: u64,
    /// The period length of the front page's map and ranking: its latest complete period with
    /// data (the latest partial one, labelled with its days, when none is complete).
    #[arg(long, default_value = DEFAULT_PERIOD, value_name = "PERIOD")]
    pub period: PeriodKind,
    /// The risk of the front page's map and ranking.
    #[arg(long = "risk", default_value = "any", value_name = "SLUG")]
    pub risk: String,
    /// Count sources in the research-scanner list too (left out by default).
    #[arg(long)]
    pub include_research: bool,
    /// Count packets classed as likely spoofed too (left out by default).
    #[arg(long)]
    pub include_spoofed: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `nightjar publish`.
pub fn run(args: PublishArgs) -> Result<()> {
    let runtime = nightjar_ops::runtime("nj-publish", None).context("starting tokio")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: PublishArgs) -> Result<()> {
    let taxonomy = Taxonomy::embedded();
    taxonomy.get(&args.risk)?;
    let engine = args.dataset.open().await?;
    let (from, to) = resolve_days(&engine, args.from, args.to).await?;
    let space = address_space(args.dataset.country_db.as_ref())?;
    let counted_from = count_source(&engine, &args.dataset, from, to).await?;
    let options = PublishOptions {
        from,
        to,
        headline_period: args.period,
        headline_risk: args.risk.clone(),
        k: args.k,
        exclusions: Exclusions { research: !args.include_research, spoofed: !args.include_spoofed },
        source: engine.snapshot().map(|snapshot| SourceVersion {
            version: snapshot.version,
            committed_at: snapshot
                .committed_ms
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        }),
        counted_from,
    };
    let bar = progress::steps("publishing", PUBLISH_STEPS, args.quiet);
    let mut steps_done = 0u64;
    let mut on_step = |step: &str| {
        bar.set_position(steps_done);
        bar.set_message(step.to_string());
        steps_done += 1;
    };
    let summary = publish_with_progress(engine.context(), &args.out, &options, &taxonomy, &space, &mut on_step).await;
    bar.finish_and_clear();
    let summary = summary.with_context(|| format!("publishing into {}", args.out.display()))?;
    println!("site written:      {}", args.out.join("index.html").display());
    println!("days:              {from} to {to}");
    println!("counts:            {}", counted_from.describe());
    if summary.headline_partial {
        println!("front page period: {} (no complete {} has data yet)", summary.headline, args.period);
    } else {
        println!("front page period: {}", summary.headline);
    }
    if let Some(source) = &options.source {
        println!("table version:     {} (publish --as-of {} recomputes it)", source.version, source.version);
    }
    println!("files:             {}", summary.files);
    println!("country pages:     {}", summary.countries);
    println!("ASN rows suppressed (fewer than {} sources): {}", args.k, summary.suppressed_asn_rows);
    if summary.redacted_as_names > 0 {
        println!(
            "AS names redacted: {} (the ASN database names {} like an IP address; shown as AS<number>)",
            summary.redacted_as_names,
            plural(summary.redacted_as_names as u64, "it", "them")
        );
    }
    Ok(())
}
