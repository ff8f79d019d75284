//! Which days need their rollups (re)written, and writing them.
//!
//! A day is rolled up once it is complete: every day before today (UTC). Whether a day's rollup
//! is current is decided by content, with no state of its own: it is when the packets its
//! `source_days` rows stand for (their `sum(packets)`) are as many as the packet table holds for
//! the day (the `numRecords` of the log's `add` actions, without reading a file). A late batch
//! raises the table's count, so the day is rolled up again; a compaction leaves the count as it
//! was, so nothing is redone; a day whose packets the retention removed (none left, or fewer
//! than its rollups stand for) keeps its rollups.
//!
//! Stale days are rolled up by one query per table over up to a month of days, and each day of
//! each table is rewritten in one commit that replaces all the day's rows (`port_days`,
//! `country_hours`, then `source_days`, whose sum marks the day current).

use std::collections::BTreeMap;
use std::fmt;

use arrow::array::{Array, AsArray};
use arrow::compute::concat_batches;
use arrow::datatypes::{Date32Type, Int64Type};
use chrono::NaiveDate;
use nightjar_dataset::table::{DayTable, ROLLUP_TABLES, derived_location};
use nightjar_dataset::{AsOf, PacketTable, TableLocation};
use nightjar_query::{QueryConfig, QueryEngine};
use nightjar_risk::Taxonomy;

use crate::RollupError;
use crate::sql;

/// Which days to look at, and when today is.
#[derive(Clone, Debug)]
pub struct RefreshOptions {
    /// Only these days (`None`: every day the packet table holds).
    pub days: Option<Vec<NaiveDate>>,
    /// Today (UTC): this day and later ones are not complete and are not rolled up.
    pub today: NaiveDate,
}

/// What became of one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DayState {
    /// Its rollups were (re)written: rows per table.
    Written {
        /// Rows written to `source_days`.
        source_days: usize,
        /// Rows written to `country_hours`.
        country_hours: usize,
        /// Rows written to `port_days`.
        port_days: usize,
        /// The packets its `source_days` rows stood for before (0 when it had none).
        previously: u64,
    },
    /// Its rollups already stood for every packet of the day.
    Current,
    /// Today or later: not complete yet.
    Incomplete,
    /// The packet table holds none of its packets (never had, or the retention removed them);
    /// whatever rollups it has are kept.
    NoPackets,
    /// The packet table holds fewer packets than its rollups stand for: some left the table
    /// (a retention, then a late batch for the day), so the rollups, which know more, are kept.
    FewerPackets {
        /// The packets its `source_days` rows stand for.
        rolled_up: u64,
    },
}

/// One day's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayOutcome {
    /// The day.
    pub day: NaiveDate,
    /// Its packets in the packet table.
    pub packets: u64,
    /// What was done.
    pub state: DayState,
}

impl fmt::Display for DayOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            DayState::Written { source_days, country_hours, port_days, previously } => {
                let why = if *previously == 0 { "new".to_owned() } else { format!("stood for {previously} packets") };
                write!(
                    f,
                    "{}: rolled up {} packets ({why}): {source_days} source_days, {country_hours} country_hours, {port_days} port_days rows",
                    self.day, self.packets
                )
            }
            DayState::Current => write!(f, "{}: current ({} packets)", self.day, self.packets),
            DayState::Incomplete => write!(f, "{}: not complete yet (UTC), left for later", self.day),
            DayState::NoPackets => write!(f, "{}: no packets in the table; rollups kept as they are", self.day),
            DayState::FewerPackets { rolled_up } => write!(
                f,
                "{}: {} packets in the table, fewer than the {rolled_up} its rollups stand for; rollups kept",
                self.day, self.packets
            ),
        }
    }
}

/// The packets each day's `source_days` rows stand for, read through `engine`.
pub async fn rolled_up_packets(engine: &QueryEngine) -> Result<BTreeMap<NaiveDate, u64>, RollupError> {
    let mut rolled = BTreeMap::new();
    if engine.context().table_exist("source_days").unwrap_or(false) {
        for batch in engine.query(sql::ROLLED_UP_PACKETS).await? {
            let days = batch.column(0).as_primitive::<Date32Type>();
            let packets = batch.column(1).as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                let (Some(day), false) = (days.value_as_date(row), packets.is_null(row)) else { continue };
                rolled.insert(day, u64::try_from(packets.value(row)).unwrap_or(0));
            }
        }
    }
    Ok(rolled)
}

/// Whether each day of the packet table has current rollups: day → (packets, rolled up).
pub async fn day_status(dataset: &str) -> Result<(BTreeMap<NaiveDate, u64>, BTreeMap<NaiveDate, u64>), RollupError> {
    let location = TableLocation::parse(dataset)?;
    let table = PacketTable::open(&location, &AsOf::Latest).await?;
    let packets = table.rows_by_day().await?;
    let engine = QueryEngine::open(QueryConfig::new(dataset)).await?;
    Ok((packets, rolled_up_packets(&engine).await?))
}

/// Writes the rollups of every complete day of the dataset at `dataset` (a folder or `s3://…`
/// Delta table) that are not current; returns what became of each day looked at.
pub async fn refresh(dataset: &str, options: &RefreshOptions) -> Result<Vec<DayOutcome>, RollupError> {
    let location = TableLocation::parse(dataset)?;
    let table = PacketTable::open(&location, &AsOf::Latest).await?;
    let packets = table.rows_by_day().await?;
    let engine = QueryEngine::open(QueryConfig::new(dataset)).await?;
    let rolled = rolled_up_packets(&engine).await?;
    let taxonomy = Taxonomy::embedded();
    let days: Vec<NaiveDate> = match &options.days {
        Some(days) => days.clone(),
        None => packets.keys().copied().collect(),
    };
    let mut outcomes = Vec::with_capacity(days.len());
    let mut stale = Vec::new();
    for day in days {
        let count = packets.get(&day).copied().unwrap_or(0);
        let previously = rolled.get(&day).copied().unwrap_or(0);
        let state = if day >= options.today {
            DayState::Incomplete
        } else if count == 0 {
            DayState::NoPackets
        } else if previously == count {
            DayState::Current
        } else if previously > count {
            DayState::FewerPackets { rolled_up: previously }
        } else {
            stale.push(day);
            DayState::Written { source_days: 0, country_hours: 0, port_days: 0, previously }
        };
        outcomes.push(DayOutcome { day, packets: count, state });
    }
    // One query per table for a month of days at a time, each table opened once.
    let mut written: BTreeMap<NaiveDate, [usize; 3]> = BTreeMap::new();
    let mut tables: [Option<DayTable>; 3] = [None, None, None];
    for chunk in stale.chunks(DAYS_PER_QUERY) {
        // source_days last: its sum is what says a day is current.
        for (index, name) in [(2, "port_days"), (1, "country_hours"), (0, "source_days")] {
            let statement = match name {
                "source_days" => sql::source_days(chunk, &taxonomy),
                "country_hours" => sql::country_hours(chunk, &taxonomy),
                _ => sql::port_days(chunk),
            };
            let output = engine.query_output(&statement).await?;
            let first = chunk[0];
            let with_days = concat_batches(&output.schema, &output.batches)
                .map_err(|source| RollupError::Arrow { day: first, source })?;
            let days_of_rows = day_ranges(&with_days);
            let columns: Vec<usize> = (1..with_days.num_columns()).collect();
            let rows = with_days.project(&columns).map_err(|source| RollupError::Arrow { day: first, source })?;
            if tables[index].is_none() {
                let description = ROLLUP_TABLES.iter().find(|t| t.name == name).map(|t| t.description).unwrap_or(name);
                let location = derived_location(&location, name)?;
                tables[index] = Some(DayTable::open_or_create(&location, name, description, &rows.schema()).await?);
            }
            let Some(rollup) = tables[index].as_mut() else { continue };
            for day in chunk {
                let (offset, length) = days_of_rows.get(day).copied().unwrap_or((0, 0));
                let mut info = serde_json::Map::new();
                info.insert("nightjar.operation".into(), "rollup".into());
                info.insert("nightjar.day".into(), day.to_string().into());
                rollup.replace_day(*day, &rows.slice(offset, length), info).await?;
                written.entry(*day).or_insert([0; 3])[index] = length;
            }
        }
    }
    for outcome in &mut outcomes {
        if let (DayState::Written { source_days, country_hours, port_days, previously }, Some(rows)) =
            (&mut outcome.state, written.get(&outcome.day))
        {
            [*source_days, *country_hours, *port_days] = *rows;
            tracing::info!(day = %outcome.day, source_days, country_hours, port_days, previously, "rolled up");
        }
    }
    Ok(outcomes)
}

/// How many days one rollup query reads.
const DAYS_PER_QUERY: usize = 31;

/// Where each day's rows are in `rows`, whose first column is the `day`, in order: day →
/// (offset, length).
fn day_ranges(rows: &arrow::record_batch::RecordBatch) -> BTreeMap<NaiveDate, (usize, usize)> {
    let mut ranges: BTreeMap<NaiveDate, (usize, usize)> = BTreeMap::new();
    if rows.num_columns() == 0 {
        return ranges;
    }
    let days = rows.column(0).as_primitive::<Date32Type>();
    for row in 0..rows.num_rows() {
        let Some(day) = days.value_as_date(row) else { continue };
        ranges.entry(day).and_modify(|(_, length)| *length += 1).or_insert((row, 1));
    }
    ranges
}
