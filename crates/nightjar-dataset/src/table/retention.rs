//! Retention and vacuum: old days leave the table by a commit, and their files leave the disk
//! once no snapshot younger than a grace period names them.
//!
//! Retention is a `remove` of every file of the days before a cutoff, in one commit: readers of
//! the new snapshot no longer see those days, readers of older snapshots (and `--as-of`) still
//! do. A vacuum then deletes the files that the newest snapshot does not name and that were
//! removed (or, for files no commit ever named, written) longer ago than the grace period, so a
//! query that started within the grace period finishes with every file it listed.

use chrono::{Duration, NaiveDate, Utc};
use deltalake_core::kernel::Action;
use deltalake_core::kernel::transaction::CommitProperties;
use deltalake_core::operations::vacuum::VacuumMode;
use deltalake_core::protocol::DeltaOperation;

use super::{DELTA_WRITER, PacketTable, delta_error};
use crate::error::DatasetError;
use crate::layout::DAY_PARTITION_KEY;

/// What a retention commit removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expired {
    /// The days that left the table, oldest first.
    pub days: Vec<String>,
    /// Their files.
    pub files: usize,
    /// The version of the commit, when there was anything to remove.
    pub version: Option<u64>,
}

impl PacketTable {
    /// Removes every day before `cutoff` from the table in one commit.
    pub async fn expire_before(&mut self, cutoff: NaiveDate) -> Result<Expired, DatasetError> {
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
            return Ok(Expired::default());
        }
        let files = actions.len();
        let mut info = serde_json::Map::new();
        info.insert("nightjar.operation".into(), "retention".into());
        info.insert("nightjar.writer".into(), DELTA_WRITER.into());
        let operation = DeltaOperation::Delete { predicate: Some(format!("{DAY_PARTITION_KEY} < '{cutoff_text}'")) };
        let version = self.commit_actions(actions, CommitProperties::default().with_metadata(info), operation).await?;
        tracing::info!(before = %cutoff_text, days = days.len(), files, version, "expired old days");
        Ok(Expired { days: days.into_iter().collect(), files, version: Some(version) })
    }

    /// Deletes the files the newest snapshot does not name and that left the table (or were
    /// written and never committed) more than `grace` ago. Returns how many files it deleted.
    pub async fn vacuum(&mut self, grace: Duration) -> Result<usize, DatasetError> {
        self.refresh().await?;
        let grace = grace.max(Duration::zero());
        let vacuumed = self
            .table
            .clone()
            .vacuum()
            .with_mode(VacuumMode::Full)
            .with_retention_period(grace)
            // The table's own default (7 days) is the floor otherwise; the collector's
            // configuration says how long a query may run on an old snapshot.
            .with_enforce_retention_duration(false)
            .await;
        let (table, metrics) = vacuumed.map_err(|source| delta_error("vacuuming", &self.location, source))?;
        self.table = table;
        let deleted = metrics.files_deleted.len();
        if deleted > 0 {
            tracing::info!(files = deleted, grace_s = grace.num_seconds(), at = %Utc::now(), "vacuumed");
        }
        Ok(deleted)
    }
}
