//! Storing batches into a Delta table: the table's log, not the collector's ledger, decides what
//! was stored, so several collectors can share one table and a sensor can fail over between them.
//!
//! A batch's files are written and moved into their day folders first (no table reader sees a
//! file its log does not name) — for a table in object storage, written in a local staging
//! folder and copied into the store at the same path — then one commit adds them and sets the sensor's transaction id
//! (`nightjar-sensor:<id>`) to the batch's sequence number. Two commits that set one sensor's id at
//! once conflict; the loser reads the log again, finds its batch stored, removes its own files and
//! answers `duplicate`. A crash between the files and the commit leaves files no snapshot names;
//! the sensor's retry stores the batch again under new names.

use std::path::Path;
use std::sync::Arc;

use nightjar_dataset::table::FilePlacer;
use nightjar_dataset::{CommitNote, CommittedFile, DatasetError, NewFile, PacketTable};
use tokio::runtime::Handle;
use tokio::sync::{Mutex, oneshot};

/// What a commit attempt became.
pub(crate) enum Committed {
    /// The batch is in the table at this version.
    Stored(u64),
    /// Another writer stored this (sensor, sequence number) first; nothing of ours is visible.
    AlreadyStored,
}

/// A batch waiting for a commit.
struct Waiting {
    sensor: String,
    seq: u64,
    rows: u64,
    files: Vec<NewFile>,
    answer: oneshot::Sender<Result<Committed, DatasetError>>,
}

/// The collector's handle on its table.
///
/// Commits are grouped: uploads that finish writing while a commit is being made wait for it to
/// end, and the first of them then commits all of them at once (one log entry, one transaction
/// id per sensor). Each upload is answered only after the commit that holds its batch.
pub struct TableSink {
    table: Mutex<PacketTable>,
    waiting: std::sync::Mutex<Vec<Waiting>>,
    runtime: Handle,
    placer: FilePlacer,
}

impl TableSink {
    /// A sink committing to `table` on `runtime`; batches are written under
    /// [`TableSink::write_root`].
    pub fn new(table: PacketTable, runtime: Handle) -> Result<TableSink, DatasetError> {
        let placer = table.placer()?;
        Ok(TableSink { table: Mutex::new(table), waiting: std::sync::Mutex::new(Vec::new()), runtime, placer })
    }

    /// The local folder batches are written in: the table's folder, or the staging folder of a
    /// table in object storage.
    pub fn write_root(&self) -> &Path {
        self.placer.root()
    }

    /// Commits `files` (published under [`TableSink::write_root`]) as `sensor`'s batch `seq`,
    /// together with the batches of other uploads waiting at the same time; a batch stored
    /// meanwhile by another writer is answered [`Committed::AlreadyStored`]. Whatever the answer
    /// but `Stored`, the batch's files are removed again. Call from a blocking thread.
    pub(crate) fn commit(
        &self,
        sensor: &str,
        seq: u64,
        rows: u64,
        files: &[CommittedFile],
    ) -> Result<Committed, DatasetError> {
        let new_files = match self.runtime.block_on(self.place(files)) {
            Ok(placed) => placed,
            Err(error) => {
                remove_files(files);
                return Err(error);
            }
        };
        let (answer, mut answered) = oneshot::channel();
        let waiting = Waiting { sensor: sensor.to_owned(), seq, rows, files: new_files.clone(), answer };
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).push(waiting);
        let result = self.runtime.block_on(async {
            let mut table = self.table.lock().await;
            // A commit made while this upload waited for the table may hold its batch already.
            if let Ok(result) = answered.try_recv() {
                return result;
            }
            let group = std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|p| p.into_inner()));
            commit_group(&mut table, group).await;
            answered.await.unwrap_or_else(|_| {
                Err(DatasetError::Location {
                    location: self.write_root().display().to_string(),
                    reason: "a commit ended without an answer".into(),
                })
            })
        });
        if !matches!(result, Ok(Committed::Stored(_))) {
            self.runtime.block_on(self.placer.discard(&new_files));
        }
        result
    }

    /// Moves a batch's files into the table's storage; on a failure the ones moved are removed.
    async fn place(&self, files: &[CommittedFile]) -> Result<Vec<NewFile>, DatasetError> {
        let mut placed = Vec::with_capacity(files.len());
        for file in files {
            match self.placer.place(file).await {
                Ok(entry) => placed.push(entry),
                Err(error) => {
                    self.placer.discard(&placed).await;
                    return Err(error);
                }
            }
        }
        Ok(placed)
    }

    /// The table's upkeep: compacts every day with at least `min_files` small files (each by one
    /// commit), rolls up every complete day whose rollups are not current, removes the days
    /// before `retention_days` ago (never one whose rollups are not current), vacuums, and removes the
    /// rollup days before `rollup_retention_days` ago; vacuums files that left the tables more than
    /// `vacuum_grace_s` ago. Call from a blocking thread.
    pub(crate) fn upkeep(
        &self,
        min_files: usize,
        retention_days: Option<u32>,
        rollup_retention_days: Option<u32>,
        vacuum_grace_s: u64,
    ) -> Result<(), crate::rollup_upkeep::UpkeepError> {
        use crate::rollup_upkeep::{expirable_days, expire_rollups, roll_up};
        let options = nightjar_dataset::CompactOptions { min_files, ..Default::default() };
        self.runtime.block_on(async {
            let dataset = self.table.lock().await.location().given.clone();
            let today = chrono::Utc::now().date_naive();
            // Compaction first: it changes no day's count, so no rollup, and a collector that
            // stops (or is stopped) soon after starting still gets its days compacted.
            // A failed compaction holds back nothing else: its error is returned at the end.
            let compacted: Result<(), DatasetError> = async {
                let days = self.table.lock().await.days()?;
                for day in days {
                    self.table.lock().await.compact_day(day, &options).await?;
                }
                Ok(())
            }
            .await;
            // A failed rollup holds back the packet retention only.
            let rolled = roll_up(&dataset, today).await;
            if let (Some(days), Ok(_)) = (retention_days, &rolled) {
                let expirable = expirable_days(&dataset, today - chrono::Days::new(u64::from(days))).await?;
                self.table.lock().await.expire_days(&expirable).await?;
            }
            let grace = chrono::Duration::seconds(i64::try_from(vacuum_grace_s).unwrap_or(i64::MAX / 1000));
            self.table.lock().await.vacuum(grace).await?;
            if let Some(days) = rollup_retention_days {
                expire_rollups(&dataset, today, days, grace).await?;
            }
            compacted?;
            rolled?;
            Ok(())
        })
    }
}

/// Commits the batches of `group` in as few commits as it takes (one, unless a sensor appears
/// twice or another writer's commit races this one) and answers each.
async fn commit_group(table: &mut PacketTable, group: Vec<Waiting>) {
    let mut pending = group;
    // `append` refuses a group holding a stored batch; only then is each batch looked up, to
    // find which ones were.
    let mut look_up = false;
    while !pending.is_empty() {
        let mut round = Vec::new();
        let mut later = Vec::new();
        for waiting in pending {
            let stored = if look_up {
                match table.stored_seq(&waiting.sensor).await {
                    Ok(stored) => stored,
                    Err(error) => {
                        let _ = waiting.answer.send(Err(error));
                        continue;
                    }
                }
            } else {
                None
            };
            if stored.is_some_and(|stored| stored >= waiting.seq) {
                let _ = waiting.answer.send(Ok(Committed::AlreadyStored));
            } else if round.iter().any(|w: &Waiting| w.sensor == waiting.sensor) {
                // One transaction id per sensor and commit.
                later.push(waiting);
            } else {
                round.push(waiting);
            }
        }
        if round.is_empty() {
            pending = later;
            continue;
        }
        let files: Vec<NewFile> = round.iter().flat_map(|w| w.files.iter().cloned()).collect();
        let mut info = serde_json::Map::new();
        info.insert("nightjar.operation".into(), "collect".into());
        info.insert("nightjar.writer".into(), nightjar_dataset::table::DELTA_WRITER.into());
        info.insert("nightjar.batches".into(), round.len().into());
        info.insert("nightjar.rows".into(), round.iter().map(|w| w.rows).sum::<u64>().into());
        let note = CommitNote {
            batches: round.iter().map(|w| (w.sensor.clone(), w.seq)).collect(),
            info,
            imports: Vec::new(),
        };
        match table.append(&files, note).await {
            Ok(version) => {
                for waiting in round {
                    let _ = waiting.answer.send(Ok(Committed::Stored(version)));
                }
                pending = later;
            }
            // Another writer stored one of these batches at the same time: read its commit and
            // go round again (the stored ones are answered `AlreadyStored` above).
            Err(DatasetError::Conflict { .. }) => {
                if let Err(error) = table.refresh().await {
                    let shared = Arc::new(error);
                    for waiting in round.into_iter().chain(later) {
                        let _ = waiting.answer.send(Err(DatasetError::Shared(Arc::clone(&shared))));
                    }
                    return;
                }
                round.extend(later);
                pending = round;
                look_up = true;
            }
            Err(error) => {
                let shared = Arc::new(error);
                for waiting in round {
                    let _ = waiting.answer.send(Err(DatasetError::Shared(Arc::clone(&shared))));
                }
                pending = later;
            }
        }
    }
}

/// Files of ours that no commit will name.
pub(crate) fn remove_files(files: &[CommittedFile]) {
    for file in files {
        let _ = std::fs::remove_file(&file.path);
    }
}
