//! Storing one uploaded batch: decode, check, enrich, write, record, publish.
//!
//! This is the collector's exactly-once path (see [`crate::ledger`] for the
//! protocol). Everything here is blocking I/O; the server runs it on the
//! blocking thread pool, one batch per sensor at a time.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::ArcSwap;
use nightjar_dataset::{PartitionedWriter, WriterOptions};
use nightjar_geo::Enricher;
use nightjar_record::wire::{self, DecodeLimits, RowExpectations, WireError};

use crate::config::Limits;
use crate::ledger::{Accepted, BatchDigest, Ledger, LedgerError, WRITER_PREFIX};
use crate::table_sink::{Committed, TableSink, remove_files};

/// What became of an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Written and durable: this many rows.
    New {
        /// Rows stored.
        rows: u64,
    },
    /// Accepted before with the same content (or before digests were kept); nothing written.
    Duplicate,
}

/// Why an upload was not stored. Nothing of it is visible in the dataset.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The body could not be decoded or breaks a limit or the schema.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The dataset or ledger could not be written (disk full, permissions).
    #[error("cannot store now")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The enrichment databases failed on this batch.
    #[error("enrichment failed")]
    Enrich(#[from] nightjar_geo::EnrichError),
    /// Another body was accepted under this sequence number before.
    #[error("a different batch was stored under sequence number {batch_seq}")]
    Conflict {
        /// The sequence number.
        batch_seq: u64,
    },
}

impl From<LedgerError> for StoreError {
    fn from(error: LedgerError) -> Self {
        StoreError::Unavailable(Box::new(error))
    }
}

impl From<nightjar_dataset::DatasetError> for StoreError {
    fn from(error: nightjar_dataset::DatasetError) -> Self {
        StoreError::Unavailable(Box::new(error))
    }
}

/// One upload as it arrived.
pub struct Upload<'a> {
    /// The authenticated sensor.
    pub sensor: &'a str,
    /// `Nightjar-Batch-Seq`.
    pub batch_seq: u64,
    /// The body as sent.
    pub body: &'a [u8],
    /// Whether the body is zstd-compressed.
    pub zstd: bool,
    /// The collector's clock, µs since the epoch, for the skew check.
    pub now_us: i64,
}

/// The dataset writer side of the collector.
pub struct Store {
    dataset_dir: PathBuf,
    ledger: Mutex<Ledger>,
    enricher: Arc<ArcSwap<Enricher>>,
    limits: Limits,
    sensor_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Held shared while publishing, exclusively by compaction's swap.
    publish_lock: Arc<RwLock<()>>,
    /// The Delta table the batches are committed to, when the dataset is one.
    table: Option<TableSink>,
}

impl Store {
    /// A store writing into `dataset_dir`, recording in `ledger`.
    pub fn new(dataset_dir: PathBuf, ledger: Ledger, enricher: Arc<ArcSwap<Enricher>>, limits: Limits) -> Self {
        Store {
            dataset_dir,
            ledger: Mutex::new(ledger),
            enricher,
            limits,
            sensor_locks: Mutex::new(HashMap::new()),
            publish_lock: Arc::new(RwLock::new(())),
            table: None,
        }
    }

    /// Commits batches to `table` (the dataset folder's Delta table) instead of publishing
    /// files into a plain folder.
    pub fn with_table(mut self, table: TableSink) -> Self {
        self.table = Some(table);
        self
    }

    /// The Delta table the store commits to, if its dataset is one.
    pub fn table(&self) -> Option<&TableSink> {
        self.table.as_ref()
    }

    /// The lock compaction takes exclusively to swap a partition.
    pub fn publish_lock(&self) -> Arc<RwLock<()>> {
        Arc::clone(&self.publish_lock)
    }

    fn sensor_lock(&self, sensor: &str) -> Arc<Mutex<()>> {
        let mut locks = self.sensor_locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(sensor.to_string()).or_default())
    }

    fn accepted(&self, sensor: &str, seq: u64, digest: &BatchDigest) -> Accepted {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner()).stored(sensor, seq, digest)
    }

    /// Store an upload exactly once.
    pub fn store(&self, upload: &Upload<'_>) -> Result<Stored, StoreError> {
        // One batch per sensor at a time: a retry racing its original waits
        // here and then finds it in the ledger.
        let lock = self.sensor_lock(upload.sensor);
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let limits =
            DecodeLimits { max_decompressed_bytes: self.limits.max_decompressed_bytes, max_rows: self.limits.max_rows };
        let ipc = wire::inflate(upload.body, upload.zstd, limits)?;
        let digest = BatchDigest::of(&ipc);
        // With a table, a batch another collector stored is found at the commit (see `table_sink`).
        match self.accepted(upload.sensor, upload.batch_seq, &digest) {
            Accepted::No => {}
            Accepted::Same | Accepted::Unknown => return Ok(Stored::Duplicate),
            Accepted::Different => return Err(StoreError::Conflict { batch_seq: upload.batch_seq }),
        }
        let batches = wire::decode_ipc(ipc, limits)?;
        let earliest = upload.now_us.saturating_sub((self.limits.max_past_skew_s as i64).saturating_mul(1_000_000));
        let latest = upload.now_us.saturating_add((self.limits.max_future_skew_s as i64).saturating_mul(1_000_000));
        let expect = RowExpectations {
            sensor: upload.sensor,
            batch_seq: upload.batch_seq,
            earliest_us: earliest,
            latest_us: latest,
        };
        wire::check_rows(&batches, &expect)?;

        let enricher = self.enricher.load_full();
        // `+` cannot occur in a sensor id, so no two sensors' files can share a name.
        let mut writer_id = format!("{WRITER_PREFIX}{}+{}", upload.sensor, upload.batch_seq);
        if self.table.is_some() {
            // Collectors sharing a table may both write this batch: their files must not collide.
            let stamp =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            writer_id = format!("{writer_id}-{stamp:x}{:x}", std::process::id());
        }
        let options = WriterOptions { max_rows_per_file: usize::MAX, ..WriterOptions::default() };
        let mut writer = PartitionedWriter::new(&self.dataset_dir, &writer_id, options)?;
        let mut rows = 0u64;
        let result = (|| -> Result<_, StoreError> {
            for batch in &batches {
                rows += batch.num_rows() as u64;
                writer.write(&enricher.enrich(batch)?)?;
            }
            Ok(writer.prepare()?)
        })();
        let prepared = match result {
            Ok(prepared) => prepared,
            Err(error) => {
                remove_in_progress(&self.dataset_dir, &writer_id);
                return Err(error);
            }
        };
        if let Some(table) = &self.table {
            return self.commit_to_table(table, upload, rows, prepared, &digest);
        }
        let recorded = self.ledger.lock().unwrap_or_else(|p| p.into_inner()).record(
            upload.sensor,
            upload.batch_seq,
            rows,
            &prepared,
            &digest,
        );
        if let Err(error) = recorded {
            for file in &prepared {
                let _ = std::fs::remove_file(&file.temp_path);
            }
            return Err(error.into());
        }
        // Accepted. A failure to publish now is finished by recovery at the
        // next start; the sensor's retry meanwhile gets `duplicate`.
        let _shared = self.publish_lock.read().unwrap_or_else(|p| p.into_inner());
        for file in prepared {
            file.publish()?;
        }
        Ok(Stored::New { rows })
    }

    /// The table path of [`Store::store`]: the files go into their day folders, one commit adds
    /// them, then the ledger keeps the batch's digest for telling a resent batch from a
    /// renumbered one.
    fn commit_to_table(
        &self,
        table: &TableSink,
        upload: &Upload<'_>,
        rows: u64,
        prepared: Vec<nightjar_dataset::PreparedFile>,
        digest: &BatchDigest,
    ) -> Result<Stored, StoreError> {
        let mut published = Vec::with_capacity(prepared.len());
        for file in &prepared {
            match file.clone().publish() {
                Ok(committed) => published.push(committed),
                Err(error) => {
                    remove_files(&published);
                    for file in &prepared {
                        let _ = std::fs::remove_file(&file.temp_path);
                    }
                    return Err(error.into());
                }
            }
        }
        match table.commit(upload.sensor, upload.batch_seq, rows, &published) {
            Ok(Committed::Stored(version)) => {
                tracing::debug!(sensor = upload.sensor, batch_seq = upload.batch_seq, version, "committed");
            }
            Ok(Committed::AlreadyStored) => return Ok(Stored::Duplicate),
            Err(error) => return Err(error.into()),
        }
        let recorded = self.ledger.lock().unwrap_or_else(|p| p.into_inner()).record(
            upload.sensor,
            upload.batch_seq,
            rows,
            &prepared,
            digest,
        );
        if let Err(error) = recorded {
            // Stored all the same: the table says so. Only the digest for a later comparison is lost.
            tracing::warn!(sensor = upload.sensor, batch_seq = upload.batch_seq, error = %nightjar_ops::error_chain(&error), "batch stored, but its digest could not be kept");
        }
        Ok(Stored::New { rows })
    }
}

/// Remove what a failed write left under `_inprogress/` for `writer_id`.
fn remove_in_progress(dataset_dir: &std::path::Path, writer_id: &str) {
    let dir = dataset_dir.join(nightjar_dataset::IN_PROGRESS_DIR);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&format!("{writer_id}-")) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
