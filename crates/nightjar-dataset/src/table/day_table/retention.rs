//! Retention of a derived table: its days before a cutoff leave it by one commit, and a vacuum
//! deletes the files no snapshot younger than a grace period names (as for the packet table).

use chrono::{Duration, NaiveDate};
use deltalake_core::kernel::Action;
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake_core::operations::vacuum::VacuumMode;
use deltalake_core::protocol::DeltaOperation;

use super::DayTable;
use crate::error::DatasetError;
use crate::layout::DAY_PARTITION_KEY;
use crate::table::{DELTA_WRITER, delta_error};

impl DayTable {
    /// Removes every day before `cutoff` in one commit; returns the days removed, oldest first.
    pub async fn expire_before(&mut self, cutoff: NaiveDate) -> Result<Vec<String>, DatasetError> {
        self.refresh().await?;
        let cutoff_text = cutoff.format("%Y-%m-%d").to_string();
        let state =
            self.table.snapshot().map_err(|source| delta_error("reading the snapshot of", &self.location, source))?;
        let mut days = std::collections::BTreeSet::new();
        let mut actions = Vec::new();
        for file in state.log_data().iter() {
            let day = file.partition_values_map().get(DAY_PARTITION_KEY).cloned().flatten().unwrap_or_default();
            // ISO dates order as text.
            if day < cutoff_text {
                days.insert(day);
                actions.push(Action::Remove(file.remove_action(true)));
            }
        }
        if actions.is_empty() {
            return Ok(Vec::new());
        }
        let mut info = serde_json::Map::new();
        info.insert("nightjar.operation".into(), "retention".into());
        info.insert("nightjar.writer".into(), DELTA_WRITER.into());
        let operation = DeltaOperation::Delete { predicate: Some(format!("{DAY_PARTITION_KEY} < '{cutoff_text}'")) };
        let committed = CommitBuilder::from(CommitProperties::default().with_metadata(info))
            .with_actions(actions)
            .build(Some(state), self.table.log_store(), operation)
            .await
            .map_err(|source| delta_error("committing to", &self.location, source))?;
        self.table.state = Some(committed.snapshot());
        tracing::info!(table = %self.location.given, before = %cutoff_text, days = days.len(), "expired old rollup days");
        Ok(days.into_iter().collect())
    }

    /// Deletes the files the newest snapshot does not name and that left the table more than
    /// `grace` ago. Returns how many files it deleted.
    pub async fn vacuum(&mut self, grace: Duration) -> Result<usize, DatasetError> {
        self.refresh().await?;
        let vacuumed = self
            .table
            .clone()
            .vacuum()
            .with_mode(VacuumMode::Full)
            .with_retention_period(grace.max(Duration::zero()))
            .with_enforce_retention_duration(false)
            .await;
        let (table, metrics) = vacuumed.map_err(|source| delta_error("vacuuming", &self.location, source))?;
        self.table = table;
        Ok(metrics.files_deleted.len())
    }
}
