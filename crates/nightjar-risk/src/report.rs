//! Running the indicator SQL and turning its counts into a report:
//! score, rank, rate, excess, coverage, and k-suppression of small rows.

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Int64Type};
use arrow::record_batch::RecordBatch;
use chrono::{Days, NaiveDate, NaiveTime};
use datafusion::prelude::SessionContext;

use crate::error::RiskError;
use crate::period::{Period, PeriodKind};
use crate::rollup_sql::CountSource;
use crate::sql::{Exclusions, Grouping, IndicatorQuery};
use crate::stats;
use crate::taxonomy::Taxonomy;

/// The fewest IPv4 addresses a country needs for a rate per million addresses: one million.
///
/// A rate per million addresses of a country with fewer addresses extrapolates beyond the
/// country itself, and a handful of sources in a territory of a few thousand addresses would top
/// every per-million ranking (a /22 with 15 sources is 14,648 per million). Such countries get
/// no rate, so they are left out of per-million rankings and maps; their counts, scores and
/// ranks are published as for any country.
pub const MIN_ADDRESSES_FOR_RATE: u64 = 1_000_000;

/// How long before the end of its day the last packet of a report's last day may be for that
/// day to count as complete: a later gap means data is still arriving (or the capture stopped).
const COMPLETE_DAY_SLACK_SECONDS: i64 = 3600;

/// IPv4 addresses per country (ISO alpha-2), the denominator of rates and excess.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressSpace(BTreeMap<String, u64>);

impl AddressSpace {
    /// The space each country holds in `db` (normally the database that attributed the sources).
    pub fn from_geo(db: &nightjar_geo::GeoDb) -> Result<AddressSpace, RiskError> {
        Ok(AddressSpace(db.ipv4_addresses_by_country()?.into_iter().map(|(c, n)| (c.to_string(), n)).collect()))
    }

    /// A space given country by country (tests, other sources).
    pub fn from_counts<'a>(counts: impl IntoIterator<Item = (&'a str, u64)>) -> AddressSpace {
        AddressSpace(counts.into_iter().map(|(c, n)| (c.to_string(), n)).collect())
    }

    /// The addresses of `country`, if the database assigns it any.
    pub fn addresses(&self, country: &str) -> Option<u64> {
        self.0.get(country).copied().filter(|n| *n > 0)
    }
}

/// One row of an indicator table: one risk, one period, one country or ASN.
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorRow {
    /// The period's label (`2026-11`, `2026-W48`, …).
    pub period: String,
    /// First day counted.
    pub first_day: NaiveDate,
    /// Last day counted.
    pub last_day: NaiveDate,
    /// Whether the period is partial (see [`Period::partial`]).
    pub partial: bool,
    /// Country code, or AS number as text.
    pub area: String,
    /// The AS's organisation name (ASN tables only).
    pub as_name: Option<String>,
    /// Risk slug.
    pub risk: String,
    /// Distinct source addresses over the period.
    pub sources: u64,
    /// 100 × ln(sources) / ln(max) over the rows of the same risk and period.
    pub score: f64,
    /// Competition rank among those rows (1 = most sources).
    pub rank: u64,
    /// Sources per million IPv4 addresses of the country (country tables only, and only for a
    /// country of at least [`MIN_ADDRESSES_FOR_RATE`] addresses).
    pub rate_per_million: Option<f64>,
    /// Standard score of the residual of ln(sources) against ln(addresses) (country tables only).
    pub excess: Option<f64>,
}

/// What a period's numbers rest on: how much of the darknet saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// The period's label.
    pub period: String,
    /// First day counted.
    pub first_day: NaiveDate,
    /// Last day counted.
    pub last_day: NaiveDate,
    /// Whether the period is partial (see [`Period::partial`]).
    pub partial: bool,
    /// Sensors that stored at least one packet in the period.
    pub sensors: u64,
    /// Distinct destination addresses of those packets, as stored: a sensor
    /// that truncates or offsets `dst_ip` for privacy makes this an
    /// undercount of the dark addresses it watches.
    pub dark_addresses: u64,
}

/// An indicator table with everything needed to read it.
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorReport {
    /// Period length the counts are distinct over.
    pub period_kind: PeriodKind,
    /// First day asked for.
    pub from: NaiveDate,
    /// Last day asked for.
    pub to: NaiveDate,
    /// Per country or per ASN.
    pub by: Grouping,
    /// What was left out of the counts.
    pub exclusions: Exclusions,
    /// Every period of the range, with its coverage (periods without packets included, at 0).
    pub coverage: Vec<Coverage>,
    /// The rows, by period, risk (taxonomy order) and rank. Rows with 0 sources are left out.
    pub rows: Vec<IndicatorRow>,
    /// The k of k-suppression, when applied: rows with fewer sources were removed.
    pub suppression_k: Option<u64>,
    /// How many rows k-suppression removed.
    pub suppressed_rows: u64,
    /// Whether the last day asked for is incomplete: its last packet came more than an hour
    /// before the day's end (data still arriving, or the capture stopped). Its periods are partial.
    pub last_day_incomplete: bool,
    /// Whether the counts come from the packets or from the `source_days` rollup.
    pub counted_from: CountSource,
}

impl IndicatorReport {
    /// Run `query` on `ctx` (a table `packets` must be registered) and compute the report.
    /// `space` gives the rates and excess of country tables.
    pub async fn compute(
        ctx: &SessionContext,
        query: &IndicatorQuery,
        taxonomy: &Taxonomy,
        space: &AddressSpace,
    ) -> Result<IndicatorReport, RiskError> {
        Self::compute_from(ctx, query, taxonomy, space, CountSource::Packets).await
    }

    /// Like [`IndicatorReport::compute`], counting from `source`: with
    /// [`CountSource::Rollups`] (a table `source_days` must be registered, current for every
    /// day of the range) the counts and the sensors of the coverage come from `source_days`;
    /// the dark addresses of the coverage from the packets still held.
    pub async fn compute_from(
        ctx: &SessionContext,
        query: &IndicatorQuery,
        taxonomy: &Taxonomy,
        space: &AddressSpace,
        source: CountSource,
    ) -> Result<IndicatorReport, RiskError> {
        let mut periods = query.kind.periods(query.from, query.to)?;
        let last_day_incomplete = day_is_incomplete(ctx, query.to).await?;
        if let Some(last) = periods.last_mut().filter(|_| last_day_incomplete) {
            last.partial = true;
        }
        let indicator_sql = match source {
            CountSource::Packets => query.sql(taxonomy.risks()),
            CountSource::Rollups => query.rollup_sql(),
        };
        let batches = ctx.sql(&indicator_sql).await?.collect().await?;
        let coverage_batches = ctx.sql(&query.coverage_sql()).await?.collect().await?;
        let counts = read_counts(&batches, query)?;
        let mut coverage = read_coverage(&coverage_batches, &periods)?;
        if source == CountSource::Rollups {
            let sensor_batches = ctx.sql(&query.rollup_coverage_sql()).await?.collect().await?;
            let sensors = read_sensors(&sensor_batches)?;
            for (period, row) in periods.iter().zip(coverage.iter_mut()) {
                row.sensors = row.sensors.max(sensors.get(&period.start).copied().unwrap_or(0));
            }
        }
        let rows = score_rows(counts, query, &periods, space);
        Ok(IndicatorReport {
            period_kind: query.kind,
            from: query.from,
            to: query.to,
            by: query.by,
            exclusions: query.exclusions,
            coverage,
            rows,
            suppression_k: None,
            suppressed_rows: 0,
            last_day_incomplete,
            counted_from: source,
        })
    }

    /// The latest period that has packets and is not partial; else the latest with packets;
    /// else the last period.
    pub fn latest_complete_period(&self) -> Option<&Coverage> {
        let with_data = || self.coverage.iter().rev().filter(|c| c.sensors > 0);
        with_data().find(|c| !c.partial).or_else(|| with_data().next()).or(self.coverage.last())
    }

    /// Remove rows with fewer than `k` sources (ASN tables are published
    /// this way: a small AS's row could point at a handful of hosts). Score
    /// and rank were computed over every row; removing the smallest rows
    /// changes neither the maximum nor the rank of any row kept.
    pub fn suppress(&mut self, k: u64) {
        let before = self.rows.len();
        self.rows.retain(|row| row.sources >= k);
        self.suppressed_rows += (before - self.rows.len()) as u64;
        self.suppression_k = Some(k);
    }
}

/// Counts per (period start, area, as_name) and risk slug.
struct Counts {
    rows: Vec<(NaiveDate, String, Option<String>, Vec<u64>)>,
    slugs: Vec<String>,
}

pub(crate) fn column_as(batch: &RecordBatch, name: &str, to: &DataType) -> Result<arrow::array::ArrayRef, RiskError> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| RiskError::Shape { column: name.to_string(), why: "missing from the result".to_string() })?;
    cast(column, to).map_err(|e| RiskError::Shape { column: name.to_string(), why: e.to_string() })
}

pub(crate) fn dates(batch: &RecordBatch) -> Result<Vec<Option<NaiveDate>>, RiskError> {
    let column = column_as(batch, "period_start", &DataType::Date32)?;
    let days = column.as_primitive::<Date32Type>();
    Ok((0..days.len())
        .map(|i| days.is_valid(i).then(|| Date32Type::to_naive_date_opt(days.value(i))).flatten())
        .collect())
}

pub(crate) fn integers(batch: &RecordBatch, name: &str) -> Result<Vec<u64>, RiskError> {
    let column = column_as(batch, name, &DataType::Int64)?;
    let values = column.as_primitive::<Int64Type>();
    Ok((0..values.len()).map(|i| if values.is_valid(i) { values.value(i).max(0) as u64 } else { 0 }).collect())
}

pub(crate) fn texts(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>, RiskError> {
    let column = column_as(batch, name, &DataType::Utf8)?;
    let values = column.as_string::<i32>();
    Ok((0..values.len()).map(|i| values.is_valid(i).then(|| values.value(i).to_string())).collect())
}

fn read_counts(batches: &[RecordBatch], query: &IndicatorQuery) -> Result<Counts, RiskError> {
    let slugs: Vec<String> = query.risks.iter().map(|r| r.slug.clone()).collect();
    let mut rows = Vec::new();
    for batch in batches {
        let starts = dates(batch)?;
        let areas = texts(batch, query.by.name())?;
        let names = match query.by {
            Grouping::Country => vec![None; batch.num_rows()],
            Grouping::Asn => texts(batch, "as_name")?,
        };
        let per_risk: Vec<Vec<u64>> = slugs.iter().map(|s| integers(batch, s)).collect::<Result<_, _>>()?;
        for i in 0..batch.num_rows() {
            let (Some(start), Some(area)) = (starts[i], areas[i].clone()) else { continue };
            rows.push((start, area, names[i].clone(), per_risk.iter().map(|c| c[i]).collect()));
        }
    }
    Ok(Counts { rows, slugs })
}

fn read_coverage(batches: &[RecordBatch], periods: &[Period]) -> Result<Vec<Coverage>, RiskError> {
    let mut seen: HashMap<NaiveDate, (u64, u64)> = HashMap::new();
    for batch in batches {
        let starts = dates(batch)?;
        let sensors = integers(batch, "sensors")?;
        let dark = integers(batch, "dark_addresses")?;
        for i in 0..batch.num_rows() {
            if let Some(start) = starts[i] {
                seen.insert(start, (sensors[i], dark[i]));
            }
        }
    }
    Ok(periods
        .iter()
        .map(|p| {
            let (sensors, dark_addresses) = seen.get(&p.start).copied().unwrap_or((0, 0));
            Coverage {
                period: p.label(),
                first_day: p.first_day,
                last_day: p.last_day,
                partial: p.partial,
                sensors,
                dark_addresses,
            }
        })
        .collect())
}

/// Sensors per period start, from the rollup coverage SQL.
fn read_sensors(batches: &[RecordBatch]) -> Result<HashMap<NaiveDate, u64>, RiskError> {
    let mut seen = HashMap::new();
    for batch in batches {
        let starts = dates(batch)?;
        let sensors = integers(batch, "sensors")?;
        for i in 0..batch.num_rows() {
            if let Some(start) = starts[i] {
                seen.insert(start, sensors[i]);
            }
        }
    }
    Ok(seen)
}

fn score_rows(counts: Counts, query: &IndicatorQuery, periods: &[Period], space: &AddressSpace) -> Vec<IndicatorRow> {
    let mut out = Vec::new();
    for period in periods {
        for (r, slug) in counts.slugs.iter().enumerate() {
            let group: Vec<(&String, &Option<String>, u64)> = counts
                .rows
                .iter()
                .filter(|(start, _, _, c)| *start == period.start && c[r] > 0)
                .map(|(_, area, name, c)| (area, name, c[r]))
                .collect();
            let sources: Vec<u64> = group.iter().map(|g| g.2).collect();
            let max = sources.iter().copied().max().unwrap_or(0);
            let ranks = stats::ranks(&sources);
            let addresses: Vec<Option<u64>> = group
                .iter()
                .map(|(area, _, _)| match query.by {
                    Grouping::Country => space.addresses(area),
                    Grouping::Asn => None,
                })
                .collect();
            let rate_denominators: Vec<Option<u64>> =
                addresses.iter().map(|n| n.filter(|n| *n >= MIN_ADDRESSES_FOR_RATE)).collect();
            let fit_input: Vec<(u64, Option<u64>)> = sources.iter().copied().zip(addresses.iter().copied()).collect();
            let excess = stats::excess(&fit_input);
            let mut rows: Vec<IndicatorRow> = group
                .iter()
                .enumerate()
                .map(|(i, (area, name, count))| IndicatorRow {
                    period: period.label(),
                    first_day: period.first_day,
                    last_day: period.last_day,
                    partial: period.partial,
                    area: (*area).clone(),
                    as_name: (*name).clone(),
                    risk: slug.clone(),
                    sources: *count,
                    score: stats::score(*count, max),
                    rank: ranks[i],
                    rate_per_million: rate_denominators[i].map(|n| *count as f64 * 1e6 / n as f64),
                    excess: excess[i],
                })
                .collect();
            rows.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.area.cmp(&b.area)));
            out.extend(rows);
        }
    }
    out
}

/// The first and last day holding packets in the `packets` table (`None` for an empty dataset):
/// the default range of `nightjar risk` and `nightjar publish`.
pub async fn observed_days(ctx: &SessionContext) -> Result<Option<(NaiveDate, NaiveDate)>, RiskError> {
    let batches =
        ctx.sql("SELECT min(day) AS period_start, max(day) AS last_day FROM packets").await?.collect().await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else { return Ok(None) };
    let first = dates(batch)?.first().copied().flatten();
    let last_column = column_as(batch, "last_day", &DataType::Date32)?;
    let last = last_column.as_primitive::<Date32Type>();
    let last = (!last.is_empty() && last.is_valid(0)).then(|| Date32Type::to_naive_date_opt(last.value(0))).flatten();
    Ok(first.zip(last))
}

/// Whether `day`'s last packet came more than [`COMPLETE_DAY_SLACK_SECONDS`] before the day's end
/// (false when the day has no packet: nothing is arriving).
async fn day_is_incomplete(ctx: &SessionContext, day: NaiveDate) -> Result<bool, RiskError> {
    let sql = format!("SELECT max(time) AS last_packet FROM packets WHERE day = DATE '{}'", day.format("%Y-%m-%d"));
    let batches = ctx.sql(&sql).await?.collect().await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else { return Ok(false) };
    let column = column_as(batch, "last_packet", &DataType::Int64)?;
    let micros = column.as_primitive::<Int64Type>();
    if micros.is_empty() || !micros.is_valid(0) {
        return Ok(false);
    }
    let Some(next_day) = day.checked_add_days(Days::new(1)) else { return Ok(false) };
    let day_end_micros = next_day.and_time(NaiveTime::MIN).and_utc().timestamp_micros();
    Ok(micros.value(0) < day_end_micros - COMPLETE_DAY_SLACK_SECONDS * 1_000_000)
}
