//! Compaction of a table's day: its small files merged into few sorted ones by one commit that
//! removes the small files and adds the merged ones.
//!
//! Nothing is swapped on disk: the merged files are written beside the small ones (no snapshot
//! names them until the commit), and the small files stay until a vacuum, so a query reading an
//! older snapshot finishes with the files it listed. Appends that land meanwhile do not conflict
//! with the compaction (it changes no data); two compactions of one day do (each sets the
//! transaction id `nightjar-compact:<day>`), and the later one removes what it wrote.

use std::time::{SystemTime, UNIX_EPOCH};

use arrow::compute::concat_batches;
use chrono::{NaiveDate, Utc};
use deltalake_core::kernel::transaction::CommitProperties;
use deltalake_core::kernel::{Action, Transaction};
use deltalake_core::protocol::DeltaOperation;
use nightjar_record::packet_schema;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{DELTA_WRITER, PacketTable};
use crate::compact::{CompactOptions, CompactionReport, write_merged};
use crate::error::DatasetError;
use crate::layout::{DAY_PARTITION_KEY, partition_dir};
use crate::sort::sort_for_queries;

/// The prefix of the transaction id each compaction of a day sets, so two of them conflict.
pub const COMPACT_TXN_PREFIX: &str = "nightjar-compact:";

impl PacketTable {
    /// Merges the small files of `day` if it has at least `options.min_files` of them; returns
    /// what it did, or `None` when there was nothing to do or another compaction won the race.
    pub async fn compact_day(
        &mut self,
        day: NaiveDate,
        options: &CompactOptions,
    ) -> Result<Option<CompactionReport>, DatasetError> {
        let root = self.write_root()?;
        self.refresh().await?;
        let day_text = day.format("%Y-%m-%d").to_string();
        let state = self
            .table
            .snapshot()
            .map_err(|source| super::delta_error("reading the snapshot of", &self.location, source))?;
        let log_data = state.log_data();
        let mut candidates: Vec<_> = log_data
            .iter()
            .filter(|file| {
                file.partition_values_map()
                    .get(DAY_PARTITION_KEY)
                    .is_some_and(|v| v.as_deref() == Some(day_text.as_str()))
                    && u64::try_from(file.size()).is_ok_and(|size| size < options.small_file_bytes)
            })
            .collect();
        candidates.sort_by_key(|file| file.path().into_owned());
        let mut chosen = Vec::new();
        let mut rows_chosen = 0u64;
        for file in candidates {
            let rows = file.num_records().map(|n| n as u64).unwrap_or(0);
            if rows_chosen + rows > options.max_rows && !chosen.is_empty() {
                break;
            }
            rows_chosen += rows;
            chosen.push(file);
        }
        if chosen.len() < options.min_files.max(2) {
            return Ok(None);
        }

        let chosen_paths: Vec<_> = chosen.iter().map(|file| file.object_store_path()).collect();
        let mut batches = Vec::new();
        for path in &chosen_paths {
            let parquet_error = |source| DatasetError::Parquet { path: path.as_ref().into(), source };
            let bytes = self.read_file(path).await?;
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(bytes).and_then(|b| b.build()).map_err(parquet_error)?;
            for batch in reader {
                batches.push(batch?);
            }
        }
        let merged = sort_for_queries(&concat_batches(&packet_schema(), &batches)?)?;
        drop(batches);
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let written = write_merged(&partition_dir(&root, day), &merged, stamp, &options.writer)?;

        let now_ms = Utc::now().timestamp_millis();
        let mut actions: Vec<Action> = chosen.iter().map(|file| Action::Remove(file.remove_action(false))).collect();
        let mut new_files = Vec::with_capacity(written.len());
        for (path, bytes) in &written {
            let rows_in = crate::compact::rows_of(path)?;
            let committed = crate::CommittedFile { path: path.clone(), day, rows: rows_in, bytes: *bytes };
            match self.place(&committed).await {
                Ok(placed) => new_files.push(placed),
                Err(error) => {
                    self.discard(&new_files).await;
                    for (path, _) in &written {
                        let _ = std::fs::remove_file(path);
                    }
                    return Err(error);
                }
            }
        }
        actions.extend(new_files.iter().map(|file| file.add_action(now_ms, false)));
        let mut info = serde_json::Map::new();
        info.insert("nightjar.operation".into(), "compact".into());
        info.insert("nightjar.writer".into(), DELTA_WRITER.into());
        let operation = DeltaOperation::Optimize {
            predicate: Some(format!("{DAY_PARTITION_KEY} = '{day_text}'")),
            target_size: i64::try_from(options.small_file_bytes).unwrap_or(i64::MAX),
        };
        let report = CompactionReport {
            day,
            merged_files: chosen.len(),
            rows: merged.num_rows() as u64,
            new_files: written.len(),
            bytes_before: chosen.iter().map(|file| u64::try_from(file.size()).unwrap_or(0)).sum(),
            bytes_after: written.iter().map(|(_, bytes)| bytes).sum(),
        };
        // Two compactions of one day must not both land: the log lets two removes of a file with
        // `dataChange=false` pass, so both merged copies would be added. Each compaction commit
        // sets the day's transaction id, and commits setting the same id conflict.
        let read_version = i64::try_from(self.version()).unwrap_or(i64::MAX);
        let properties = CommitProperties::default().with_metadata(info).with_application_transaction(
            Transaction::new_with_last_update(format!("{COMPACT_TXN_PREFIX}{day_text}"), read_version, Some(now_ms)),
        );
        match self.commit_actions(actions, properties, operation).await {
            Ok(version) => {
                tracing::info!(%day, merged = report.merged_files, rows = report.rows, version, "compacted");
                Ok(Some(report))
            }
            Err(error) => {
                self.discard(&new_files).await;
                match error {
                    DatasetError::Conflict { .. } => Ok(None),
                    other => Err(other),
                }
            }
        }
    }
}
