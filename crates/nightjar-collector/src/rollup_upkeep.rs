//! The rollups in the collector's upkeep, and the retention tiers.
//!
//! At each upkeep run the collector rolls up every complete day whose rollups are not current
//! (`schemas/rollups-v1.md`: a day that got late batches is rolled up again), before the
//! retention: the packet retention (`retention_days`) then never removes a day whose rollups are
//! not current (it removes the days checked to be current, and only while they hold what was
//! checked), and the rollup tables have their own
//! retention (`rollup_retention_days`, default: kept for ever).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use nightjar_dataset::table::{DayTable, ROLLUP_TABLES, derived_location};
use nightjar_dataset::{DatasetError, TableLocation};
use nightjar_rollup::{DayState, RefreshOptions, RollupError, day_status, refresh};

/// Why an upkeep run stopped.
#[derive(Debug, thiserror::Error)]
pub enum UpkeepError {
    /// Compaction, retention or vacuum of the packet table failed.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// Rolling up failed: the packet retention waits for the next run.
    #[error("rolling up completed days")]
    Rollup(#[from] RollupError),
}

/// Rolls up every complete day of the dataset at `dataset` whose rollups are not current.
pub(crate) async fn roll_up(dataset: &str, today: NaiveDate) -> Result<usize, RollupError> {
    let outcomes = refresh(dataset, &RefreshOptions { days: None, today }).await?;
    Ok(outcomes.iter().filter(|outcome| matches!(outcome.state, DayState::Written { .. })).count())
}

/// The days before `wanted` whose rollups are current, with their packets: what the packet
/// retention may remove (a day whose rollups are not current — a batch for it arrived since they
/// were written — stays until a later run has rolled it up).
pub(crate) async fn expirable_days(dataset: &str, wanted: NaiveDate) -> Result<BTreeMap<NaiveDate, u64>, RollupError> {
    let (packets, rolled) = day_status(dataset).await?;
    let mut expirable = BTreeMap::new();
    for (day, count) in packets.range(..wanted) {
        if rolled.get(day) == Some(count) {
            expirable.insert(*day, *count);
        } else {
            tracing::warn!(%day, "packets of a day whose rollups are not current are kept past the retention");
        }
    }
    Ok(expirable)
}

/// Removes the rollup days before `today - days` from every rollup table and vacuums them.
pub(crate) async fn expire_rollups(
    dataset: &str,
    today: NaiveDate,
    days: u32,
    grace: chrono::Duration,
) -> Result<(), DatasetError> {
    let location = TableLocation::parse(dataset)?;
    let cutoff = today - Days::new(u64::from(days));
    for rollup in ROLLUP_TABLES {
        let Some(mut table) = DayTable::open(&derived_location(&location, rollup.name)?).await? else { continue };
        table.expire_before(cutoff).await?;
        table.vacuum(grace).await?;
    }
    Ok(())
}
