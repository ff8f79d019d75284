//! Storing batches into a Delta table: the table's log, not the collector's ledger, decides what
//! was stored, so several collectors can share one table and a sensor can fail over between them.
//!
//! A batch's files are written and moved into their day folders first (no table reader sees a
//! file its log does not name), then one commit adds them and sets the sensor's transaction id
//! (`nightjar-sensor:<id>`) to the batch's sequence number. Two commits that set one sensor's id at
//! once conflict; the loser reads the log again, finds its batch stored, removes its own files and
//! answers `duplicate`. A crash between the files and the commit leaves files no snapshot names;
//! the sensor's retry stores the batch again under new names.

use std::path::{Path, PathBuf};

use nightjar_dataset::{CommitNote, CommittedFile, DatasetError, NewFile, PacketTable};
use tokio::runtime::Handle;
use tokio::sync::Mutex;

/// What a commit attempt became.
pub(crate) enum Committed {
    /// The batch is in the table at this version.
    Stored(u64),
    /// Another writer stored this (sensor, sequence number) first; nothing of ours is visible.
    AlreadyStored,
}

/// The collector's handle on its table.
pub struct TableSink {
    table: Mutex<PacketTable>,
    runtime: Handle,
    root: PathBuf,
}

impl TableSink {
    /// A sink committing to `table` (a local table at `root`), on `runtime`.
    pub fn new(table: PacketTable, root: PathBuf, runtime: Handle) -> TableSink {
        TableSink { table: Mutex::new(table), runtime, root }
    }

    /// The highest sequence number of `sensor` the table holds, read from its newest commit.
    /// Call from a blocking thread.
    pub(crate) fn stored_seq(&self, sensor: &str) -> Result<Option<u64>, DatasetError> {
        self.runtime.block_on(async {
            let mut table = self.table.lock().await;
            table.refresh().await?;
            table.stored_seq(sensor).await
        })
    }

    /// Commits `files` (published into the table's folder) as `sensor`'s batch `seq`; on a
    /// conflict, reads the log again and retries unless the batch is stored by then, in which
    /// case the files are removed. Call from a blocking thread.
    pub(crate) fn commit(
        &self,
        sensor: &str,
        seq: u64,
        rows: u64,
        files: &[CommittedFile],
    ) -> Result<Committed, DatasetError> {
        let new_files =
            files.iter().map(|file| NewFile::from_committed(&self.root, file)).collect::<Result<Vec<_>, _>>()?;
        let mut info = serde_json::Map::new();
        info.insert("nightjar.operation".into(), "collect".into());
        info.insert("nightjar.writer".into(), nightjar_dataset::table::DELTA_WRITER.into());
        info.insert("nightjar.rows".into(), rows.into());
        let note = CommitNote { batches: vec![(sensor.to_owned(), seq)], info };
        self.runtime.block_on(async {
            let mut table = self.table.lock().await;
            loop {
                match table.append(&new_files, note.clone()).await {
                    Ok(version) => return Ok(Committed::Stored(version)),
                    Err(DatasetError::Conflict { .. }) => {
                        table.refresh().await?;
                        if table.stored_seq(sensor).await?.is_some_and(|stored| stored >= seq) {
                            remove_files(files);
                            return Ok(Committed::AlreadyStored);
                        }
                    }
                    Err(error) => return Err(error),
                }
            }
        })
    }

    /// The table's upkeep: compacts every day with at least `min_files` small files (each by
    /// one commit), removes the days before `retention_days` ago, and vacuums files that left
    /// the table more than `vacuum_grace_s` ago. Call from a blocking thread.
    pub(crate) fn upkeep(
        &self,
        min_files: usize,
        retention_days: Option<u32>,
        vacuum_grace_s: u64,
    ) -> Result<(), DatasetError> {
        let options = nightjar_dataset::CompactOptions { min_files, ..Default::default() };
        self.runtime.block_on(async {
            if let Some(days) = retention_days {
                let cutoff = chrono::Utc::now().date_naive() - chrono::Days::new(u64::from(days));
                self.table.lock().await.expire_before(cutoff).await?;
            }
            for day in nightjar_dataset::partitions(&self.root)? {
                let mut table = self.table.lock().await;
                table.compact_day(day, &options).await?;
            }
            let grace = chrono::Duration::seconds(i64::try_from(vacuum_grace_s).unwrap_or(i64::MAX / 1000));
            self.table.lock().await.vacuum(grace).await?;
            Ok(())
        })
    }

    /// Where the table is.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Files of ours that no commit will name.
pub(crate) fn remove_files(files: &[CommittedFile]) {
    for file in files {
        let _ = std::fs::remove_file(&file.path);
    }
}
