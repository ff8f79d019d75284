//! Retention of chosen days: the days whose derived data (rollups) was checked to be current
//! leave the table by one commit, and only while they hold what was checked.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use deltalake_core::kernel::Action;
use deltalake_core::kernel::transaction::CommitProperties;
use deltalake_core::protocol::DeltaOperation;

use super::{DELTA_WRITER, Expired, PacketTable, delta_error};
use crate::error::DatasetError;
use crate::layout::DAY_PARTITION_KEY;

impl PacketTable {
    /// Removes, in one commit, the files of every day of `days` that still holds exactly the
    /// number of packets given for it: a day that got a batch since it was checked (or a day not
    /// listed) stays for a later run.
    pub async fn expire_days(&mut self, days: &BTreeMap<NaiveDate, u64>) -> Result<Expired, DatasetError> {
        self.refresh().await?;
        let held = self.rows_by_day().await?;
        let chosen: BTreeSet<String> = days
            .iter()
            .filter(|(day, count)| held.get(*day) == Some(*count))
            .map(|(day, _)| day.format("%Y-%m-%d").to_string())
            .collect();
        let state =
            self.table.snapshot().map_err(|source| delta_error("reading the snapshot of", &self.location, source))?;
        let actions: Vec<Action> = state
            .log_data()
            .iter()
            .filter(|file| {
                file.partition_values_map()
                    .get(DAY_PARTITION_KEY)
                    .cloned()
                    .flatten()
                    .is_some_and(|d| chosen.contains(&d))
            })
            .map(|file| Action::Remove(file.remove_action(true)))
            .collect();
        if actions.is_empty() {
            return Ok(Expired::default());
        }
        let files = actions.len();
        let mut info = serde_json::Map::new();
        info.insert("nightjar.operation".into(), "retention".into());
        info.insert("nightjar.writer".into(), DELTA_WRITER.into());
        let listed: Vec<String> = chosen.iter().map(|day| format!("'{day}'")).collect();
        let operation =
            DeltaOperation::Delete { predicate: Some(format!("{DAY_PARTITION_KEY} IN ({})", listed.join(", "))) };
        let version = self.commit_actions(actions, CommitProperties::default().with_metadata(info), operation).await?;
        tracing::info!(days = chosen.len(), files, version, "expired days whose rollups are current");
        Ok(Expired { days: chosen.into_iter().collect(), files, version: Some(version) })
    }
}
