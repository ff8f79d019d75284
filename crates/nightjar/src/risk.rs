//! `nightjar risk`: per-country (or per-ASN) risk indicators over the dataset.

use std::io::Write as _;
use std::path::PathBuf;

use crate::dataset::{DatasetArgs, check_location};
use crate::progress;
use crate::summary::plural;
use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use nightjar_geo::GeoDb;
use nightjar_query::{QueryConfig, QueryEngine};
use nightjar_risk::{
    AddressSpace, CountSource, Exclusions, Grouping, IndicatorQuery, IndicatorReport, PeriodKind, Taxonomy,
    observed_days,
};

/// The period length `risk` and `publish` count over when `--period` is not given.
pub const DEFAULT_PERIOD: &str = "month";

/// Arguments of `nightjar risk`.
#[derive(Args, Debug)]
pub struct RiskArgs {
    #[command(flatten)]
    pub dataset: DatasetArgs,
    /// The period each count is distinct over: day, week (ISO), month, quarter or year.
    #[arg(long, default_value = DEFAULT_PERIOD, value_name = "PERIOD")]
    pub period: PeriodKind,
    /// First day (UTC, YYYY-MM-DD); default: the dataset's first day.
    #[arg(long, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Last day (UTC, YYYY-MM-DD), inclusive; default: the dataset's last day.
    #[arg(long, value_name = "DATE")]
    pub to: Option<NaiveDate>,
    /// Per country or per autonomous system.
    #[arg(long, value_enum, default_value_t = By::Country)]
    pub by: By,
    /// Only this risk (a slug of schemas/risks.csv, e.g. mirai, ssh, ddos-victim, any); default: all.
    #[arg(long = "risk", value_name = "SLUG")]
    pub risk: Option<String>,
    /// Count sources in the research-scanner list too (left out by default).
    #[arg(long)]
    pub include_research: bool,
    /// Count packets classed as likely spoofed too (left out by default).
    #[arg(long)]
    pub include_spoofed: bool,
    /// With --by asn: leave out rows with fewer than K sources (the output says how many); 0 or 1 keeps all.
    #[arg(long, default_value_t = 3, value_name = "K")]
    pub k: u64,
    /// Output format: `table`, `csv`, `json` (one document: period, exclusions, coverage, rows)
    /// or `jsonl` (one JSON object per row). Every row and coverage line gives its period's
    /// first_day and last_day and whether it is partial (fewer days than the calendar period,
    /// or a last day still incomplete).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print the indicator and coverage SQL instead of running them.
    #[arg(long)]
    pub show_sql: bool,
    /// No progress spinner.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Per what the table is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum By {
    /// ISO 3166-1 alpha-2 country.
    Country,
    /// Autonomous system number.
    Asn,
}

impl From<By> for Grouping {
    fn from(by: By) -> Grouping {
        match by {
            By::Country => Grouping::Country,
            By::Asn => Grouping::Asn,
        }
    }
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for a terminal, headed by what was counted and the coverage.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON document: period, exclusions, coverage, rows.
    Json,
    /// One JSON object per row (the `rows` of `json`), for line-oriented tools.
    Jsonl,
}

/// Open the dataset with the query layer (tables, views, functions).
pub async fn open_engine(data: &str, country_db: Option<&PathBuf>) -> Result<QueryEngine> {
    check_location(data)?;
    let mut config = QueryConfig::new(data);
    config.country_db = country_db.cloned();
    QueryEngine::open(config).await.with_context(|| format!("opening the dataset {data}"))
}

/// The address space per country from the chosen database.
pub fn address_space(country_db: Option<&PathBuf>) -> Result<AddressSpace> {
    let db = GeoDb::country_or_embedded(country_db.map(PathBuf::as_path))?;
    Ok(AddressSpace::from_geo(&db)?)
}

/// The days asked for, defaulting to the dataset's.
pub async fn resolve_days(
    engine: &QueryEngine,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(NaiveDate, NaiveDate)> {
    if let (Some(from), Some(to)) = (from, to) {
        return Ok((from, to));
    }
    let Some((first, last)) = observed_days(engine.context()).await? else {
        bail!("the dataset holds no packets: give --from and --to");
    };
    Ok((from.unwrap_or(first), to.unwrap_or(last)))
}

/// Where indicators over `from..=to` are counted from: the `source_days` rollup when every day's
/// rollups are current (the same counts from far fewer rows), else the packets. A table read
/// `--as-of` an older version counts from its packets.
pub async fn count_source(
    engine: &QueryEngine,
    dataset: &DatasetArgs,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<CountSource> {
    if dataset.as_of.is_some() {
        return Ok(CountSource::Packets);
    }
    let today = chrono::Utc::now().date_naive();
    let current = nightjar_rollup::rollups_current(engine, &dataset.data, from, to, today)
        .await
        .with_context(|| format!("checking the rollups of {}", dataset.data))?;
    Ok(if current { CountSource::Rollups } else { CountSource::Packets })
}

pub fn run(args: RiskArgs) -> Result<()> {
    let runtime = nightjar_ops::runtime("nj-risk", None).context("starting tokio")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: RiskArgs) -> Result<()> {
    let taxonomy = Taxonomy::embedded();
    let risks = match &args.risk {
        Some(slug) => vec![taxonomy.get(slug)?.clone()],
        None => taxonomy.risks().to_vec(),
    };
    let engine = args.dataset.open().await?;
    let (from, to) = resolve_days(&engine, args.from, args.to).await?;
    let query = IndicatorQuery {
        kind: args.period,
        from,
        to,
        by: args.by.into(),
        risks,
        exclusions: Exclusions { research: !args.include_research, spoofed: !args.include_spoofed },
    };
    let source = count_source(&engine, &args.dataset, from, to).await?;
    let mut out = std::io::stdout().lock();
    if args.show_sql {
        writeln!(out, "-- {}", source.describe())?;
        match source {
            CountSource::Packets => writeln!(out, "{};\n\n{};", query.sql(taxonomy.risks()), query.coverage_sql())?,
            CountSource::Rollups => writeln!(
                out,
                "{};\n\n{};\n\n{};",
                query.rollup_sql(),
                query.rollup_coverage_sql(),
                query.coverage_sql()
            )?,
        }
        return Ok(());
    }
    let space = match args.by {
        By::Country => address_space(args.dataset.country_db.as_ref())?,
        By::Asn => AddressSpace::default(),
    };
    let days = (to - from).num_days() + 1;
    let spinner = progress::spinner(
        &format!("counting risky sources over {days} {}", plural(days.unsigned_abs(), "day", "days")),
        args.quiet,
    );
    let report = IndicatorReport::compute_from(engine.context(), &query, &taxonomy, &space, source).await;
    spinner.finish_and_clear();
    let mut report = report?;
    if args.by == By::Asn && args.k > 1 {
        report.suppress(args.k);
    }
    match args.format {
        Format::Table => write!(out, "{}", report.to_text())?,
        Format::Csv => write!(out, "{}", report.to_csv()?)?,
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report.to_json())?)?,
        Format::Jsonl => {
            for row in report.row_values() {
                writeln!(out, "{}", serde_json::to_string(&row)?)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
