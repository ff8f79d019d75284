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
//! A day is rewritten table by table, each in one commit that replaces all the day's rows
//! (`port_days`, `country_hours`, then `source_days`, whose sum marks the day current).

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
            write_day(&engine, &location, day, &taxonomy, previously).await?
        };
        outcomes.push(DayOutcome { day, packets: count, state });
    }
    Ok(outcomes)
}

/// Rolls `day` up into the three tables.
async fn write_day(
    engine: &QueryEngine,
    dataset: &TableLocation,
    day: NaiveDate,
    taxonomy: &Taxonomy,
    previously: u64,
) -> Result<DayState, RollupError> {
    let mut rows = [0usize; 3];
    // source_days last: its sum is what says the day is current.
    for (index, name) in [(2, "port_days"), (1, "country_hours"), (0, "source_days")] {
        let statement = match name {
            "source_days" => sql::source_days(day, taxonomy),
            "country_hours" => sql::country_hours(day, taxonomy),
            _ => sql::port_days(day),
        };
        let output = engine.query_output(&statement).await?;
        let batch =
            concat_batches(&output.schema, &output.batches).map_err(|source| RollupError::Arrow { day, source })?;
        let description = ROLLUP_TABLES.iter().find(|t| t.name == name).map(|t| t.description).unwrap_or(name);
        let location = derived_location(dataset, name)?;
        let mut rollup = DayTable::open_or_create(&location, name, description, &output.schema).await?;
        let mut info = serde_json::Map::new();
        info.insert("nightjar.operation".into(), "rollup".into());
        info.insert("nightjar.day".into(), day.to_string().into());
        rollup.replace_day(day, &batch, info).await?;
        rows[index] = batch.num_rows();
    }
    tracing::info!(%day, source_days = rows[0], country_hours = rows[1], port_days = rows[2], previously, "rolled up");
    Ok(DayState::Written { source_days: rows[0], country_hours: rows[1], port_days: rows[2], previously })
}
