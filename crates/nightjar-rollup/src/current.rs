//! Whether indicators over a range of days may be counted from the rollups.

use chrono::NaiveDate;
use nightjar_dataset::{AsOf, DatasetError, PacketTable, TableLocation};
use nightjar_query::QueryEngine;

use crate::RollupError;
use crate::refresh::rolled_up_packets;

/// Whether every day from `from` to `to` has current rollups, so that indicators over those
/// days are the same counted from `source_days` as from the packets: every day is complete
/// (before `today`), every day holding packets has `source_days` rows that stand for all of
/// them, and at least one day of the range has rollups. A day whose packets were removed by the
/// retention counts through its rollups. `engine` reads the dataset at `dataset` (its latest
/// version: a dataset that is a plain folder, or an engine pinned with `--as-of`, counts from the
/// packets).
pub async fn rollups_current(
    engine: &QueryEngine,
    dataset: &str,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Result<bool, RollupError> {
    if to >= today || !engine.context().table_exist("source_days").unwrap_or(false) {
        return Ok(false);
    }
    let location = TableLocation::parse(dataset)?;
    let table = match PacketTable::open(&location, &AsOf::Latest).await {
        Ok(table) => table,
        Err(DatasetError::NotATable { .. }) => return Ok(false),
        Err(error) => return Err(error.into()),
    };
    let packets = table.rows_by_day().await?;
    let rolled = rolled_up_packets(engine).await?;
    if packets.range(from..=to).any(|(day, count)| rolled.get(day) != Some(count)) {
        return Ok(false);
    }
    Ok(rolled.range(from..=to).next().is_some())
}
