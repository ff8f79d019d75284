//! The dataset as a Delta Lake table (dataset layout v2).
//!
//! The Parquet files are the same as in a plain folder dataset (same schema, order, encodings and
//! `day=YYYY-MM-DD/` folders); what is new is the log in `_delta_log/`: each commit is one JSON
//! file `NNNNNNNNNNNNNNNNNNNN.json` naming the files it adds and removes, created only if absent
//! (a conditional write), so concurrent writers never overwrite each other's commits and a reader
//! sees whole commits or none. A file is part of the table only once a commit names it: files a
//! crashed writer left behind are never read, and a query reads one snapshot from start to end,
//! whatever commits land meanwhile.
//!
//! Exactly-once delivery from sensors is kept by the log too: a commit that stores a batch of
//! sensor `S` carries the transaction id `nightjar-sensor:S` with the batch's sequence number
//! (Delta's `txn` action). Every writer reads that number before storing, and two commits that
//! set the same id concurrently conflict, so only one of them lands.

mod compact;
mod convert;
mod day_rows;
mod day_table;
mod expire_days;
mod location;
mod remote;
mod retention;
mod schema;
mod snapshot_store;

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake_core::kernel::{Action, Add, Transaction};
use deltalake_core::logstore::{LogStoreRef, StorageConfig, default_logstore};
use deltalake_core::operations::create::CreateBuilder;
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaTable, DeltaTableError};
use object_store::ObjectStore;

pub use self::convert::{Converted, convert};
pub use self::day_table::{DAY_TXN_PREFIX, DayTable, ROLLUP_TABLES, ROLLUPS_DIR, RollupTable, derived_location};
pub use self::location::{TableLocation, s3_store};
pub use self::remote::FilePlacer;
pub use self::retention::Expired;
pub use self::schema::{declared_arrow_schema, declared_schema};
pub use self::snapshot_store::{SnapshotFiles, SnapshotStore};
use crate::error::DatasetError;
use crate::layout::DAY_PARTITION_KEY;
use crate::writer::CommittedFile;

/// The folder of the Delta log inside the table.
pub const LOG_DIR: &str = "_delta_log";

/// How Nightjar names itself in the commits it writes.
pub const DELTA_WRITER: &str = concat!("nightjar ", env!("CARGO_PKG_VERSION"));

/// The prefix of the transaction id that records an imported capture file, by content.
pub const IMPORT_TXN_PREFIX: &str = "nightjar-import:";

/// The prefix of the transaction id that records a sensor's highest stored batch.
pub const SENSOR_TXN_PREFIX: &str = "nightjar-sensor:";

/// Which snapshot of the table to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AsOf {
    /// The newest commit, read anew by each query.
    #[default]
    Latest,
    /// The table as committed in this version.
    Version(u64),
    /// The newest version committed at or before this time.
    Time(DateTime<Utc>),
}

impl FromStr for AsOf {
    type Err = String;

    /// `42` (a version) or an RFC 3339 time such as `2026-11-30T12:00:00Z`.
    fn from_str(text: &str) -> Result<AsOf, String> {
        if let Ok(version) = text.parse::<u64>() {
            return Ok(AsOf::Version(version));
        }
        DateTime::parse_from_rfc3339(text)
            .map(|time| AsOf::Time(time.with_timezone(&Utc)))
            .map_err(|_| format!("`{text}` is neither a table version (a number) nor an RFC 3339 time"))
    }
}

/// A file written into the table's folder, to be added by a commit.
#[derive(Clone, Debug)]
pub struct NewFile {
    /// Path relative to the table's root, `day=YYYY-MM-DD/name.parquet`.
    pub path: String,
    /// Its day partition, `YYYY-MM-DD`.
    pub day: String,
    /// Rows in it.
    pub rows: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

impl NewFile {
    /// The commit entry of a file the dataset writer published under the local table `root`.
    pub fn from_committed(root: &FsPath, file: &CommittedFile) -> Result<NewFile, DatasetError> {
        let relative = file.path.strip_prefix(root).map_err(|_| DatasetError::Location {
            location: root.display().to_string(),
            reason: format!("{} is not inside the table", file.path.display()),
        })?;
        let path = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        Ok(NewFile { path, day: file.day.format("%Y-%m-%d").to_string(), rows: file.rows, bytes: file.bytes })
    }

    /// The `add` of this file; `data_change` is false when it holds rows the table had already
    /// (a compaction's merged file).
    fn add_action(&self, now_ms: i64, data_change: bool) -> Action {
        let stats = serde_json::json!({ "numRecords": self.rows }).to_string();
        Action::Add(Add {
            path: encode_path(&self.path),
            partition_values: HashMap::from([(DAY_PARTITION_KEY.to_owned(), Some(self.day.clone()))]),
            size: i64::try_from(self.bytes).unwrap_or(i64::MAX),
            modification_time: now_ms,
            data_change,
            stats: Some(stats),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        })
    }
}

/// A log path is a URI: characters outside the unreserved set and `/`, `=`, `+` are
/// percent-encoded.
fn encode_path(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/=+".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// What a commit stores besides its files.
#[derive(Clone, Debug, Default)]
pub struct CommitNote {
    /// `(sensor, batch_seq)` of every sensor batch in the commit: each sets the sensor's
    /// transaction id.
    pub batches: Vec<(String, u64)>,
    /// Free-form facts kept in the commit's `commitInfo` (who wrote it, from what).
    pub info: serde_json::Map<String, serde_json::Value>,
    /// SHA-256 (hex) of every capture file the commit imports: each sets the transaction id
    /// `nightjar-import:<sha256>`, so the log itself says which captures the table holds.
    pub imports: Vec<String>,
}

/// The packet table: the Delta log over the dataset's Parquet files.
pub struct PacketTable {
    location: TableLocation,
    table: DeltaTable,
    store: Arc<dyn ObjectStore>,
    /// Where files are written before they are copied into a table in object storage.
    staging: Option<std::path::PathBuf>,
}

impl PacketTable {
    /// Opens the table at `location` as of `as_of`. A location without a log is refused, naming
    /// `nightjar convert` when it holds a dataset folder of layout version 1; a table of another
    /// schema is refused naming the first difference.
    pub async fn open(location: &TableLocation, as_of: &AsOf) -> Result<PacketTable, DatasetError> {
        let (log_store, store) = log_store(location)?;
        let mut table = DeltaTable::new(log_store);
        let loaded = match as_of {
            AsOf::Latest => table.load().await,
            AsOf::Version(version) => table.load_version(*version).await,
            AsOf::Time(time) => table.load_with_datetime(*time).await,
        };
        match loaded {
            Ok(()) => {}
            Err(DeltaTableError::NotATable(_)) => return Err(not_a_table(location)),
            Err(source) => return Err(delta_error("reading the log of", location, source)),
        }
        let opened = PacketTable { location: location.clone(), table, store, staging: None };
        opened.check_schema()?;
        Ok(opened)
    }

    /// Opens the table at `location`, creating an empty one first when there is none. A folder
    /// with data files but no log is refused (convert it first).
    pub async fn open_or_create(location: &TableLocation) -> Result<PacketTable, DatasetError> {
        match Self::open(location, &AsOf::Latest).await {
            Err(DatasetError::NotATable { has_data: false, .. }) => {}
            other => return other,
        }
        Self::create(location).await
    }

    /// Creates an empty table at `location`, or opens the one another writer created first.
    pub(crate) async fn create(location: &TableLocation) -> Result<PacketTable, DatasetError> {
        let (log_store, _) = log_store(location)?;
        let schema = declared_schema()?;
        let created = CreateBuilder::new()
            .with_log_store(log_store)
            .with_table_name("packets")
            .with_comment("Packets seen by Nightjar's darknet sensors (packet record schema v1)")
            .with_columns(schema.fields().cloned())
            .with_partition_columns([DAY_PARTITION_KEY])
            .with_save_mode(SaveMode::ErrorIfExists)
            .await;
        match created {
            Ok(_) => {}
            // Another writer created it first: open theirs.
            Err(error) if Self::open(location, &AsOf::Latest).await.is_err() => {
                return Err(delta_error("creating", location, error));
            }
            Err(_) => {}
        }
        Self::open(location, &AsOf::Latest).await
    }

    /// Where the table is.
    pub fn location(&self) -> &TableLocation {
        &self.location
    }

    /// The version of the snapshot read.
    pub fn version(&self) -> u64 {
        self.table.version().unwrap_or_default()
    }

    /// When the snapshot's version was committed.
    pub fn version_time(&self) -> Option<DateTime<Utc>> {
        let state = self.table.snapshot().ok()?;
        DateTime::from_timestamp_millis(state.version_timestamp(state.version())?)
    }

    /// The store rooted at the table, for reading its files.
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.store)
    }

    /// Reads the commits made since this snapshot.
    pub async fn refresh(&mut self) -> Result<(), DatasetError> {
        self.table.update_state().await.map_err(|source| delta_error("reading the log of", &self.location, source))
    }

    /// The snapshot's data files.
    pub fn files(&self) -> Result<SnapshotFiles, DatasetError> {
        let state =
            self.table.snapshot().map_err(|source| delta_error("reading the snapshot of", &self.location, source))?;
        let log_data = state.log_data();
        let files: Vec<_> = log_data
            .iter()
            .map(|file| (file.object_store_path(), u64::try_from(file.size()).unwrap_or(0), file.modification_time()))
            .collect();
        Ok(SnapshotFiles::new(state.version(), files))
    }

    /// The highest batch sequence number of `sensor` the table has stored, if any.
    pub async fn stored_seq(&self, sensor: &str) -> Result<Option<u64>, DatasetError> {
        let version = self.transaction_version(format!("{SENSOR_TXN_PREFIX}{sensor}")).await?;
        Ok(version.and_then(|v| u64::try_from(v).ok()))
    }

    /// Whether a commit of the snapshot imported the capture file whose contents hash to `sha256`.
    pub async fn holds_import(&self, sha256: &str) -> Result<bool, DatasetError> {
        Ok(self.transaction_version(format!("{IMPORT_TXN_PREFIX}{sha256}")).await?.is_some())
    }

    async fn transaction_version(&self, app_id: String) -> Result<Option<i64>, DatasetError> {
        let state =
            self.table.snapshot().map_err(|source| delta_error("reading the snapshot of", &self.location, source))?;
        state
            .transaction_version(self.table.log_store().as_ref(), app_id)
            .await
            .map_err(|source| delta_error("reading the transaction ids of", &self.location, source))
    }

    /// Commits `files` (already in the table's folder) as one new version, with the transaction
    /// ids of `note.batches`. Returns the new version. A commit that races with other writers'
    /// appends is retried by the log; one whose sensor batch is already stored, in the snapshot
    /// it is read from or by a commit that raced it, fails with [`DatasetError::Conflict`], and
    /// the caller reads the table again.
    pub async fn append(&mut self, files: &[NewFile], note: CommitNote) -> Result<u64, DatasetError> {
        // A commit of the same sensor's batch that is already in the snapshot this commit is read
        // from is not a conflict to the log (it only checks commits made after that snapshot),
        // so it is checked here: together they cover every earlier commit.
        for (sensor, seq) in &note.batches {
            if self.stored_seq(sensor).await?.is_some_and(|stored| stored >= *seq) {
                return Err(DatasetError::Conflict { location: self.location.given.clone() });
            }
        }
        let now_ms = Utc::now().timestamp_millis();
        let actions: Vec<Action> = files.iter().map(|file| file.add_action(now_ms, true)).collect();
        let mut properties = CommitProperties::default().with_metadata(note.info);
        for (sensor, seq) in &note.batches {
            let version = i64::try_from(*seq).map_err(|_| DatasetError::Location {
                location: self.location.given.clone(),
                reason: format!("batch sequence number {seq} of {sensor} is beyond what the log can hold"),
            })?;
            properties = properties.with_application_transaction(Transaction::new_with_last_update(
                format!("{SENSOR_TXN_PREFIX}{sensor}"),
                version,
                Some(now_ms),
            ));
        }
        for sha256 in &note.imports {
            properties = properties.with_application_transaction(Transaction::new_with_last_update(
                format!("{IMPORT_TXN_PREFIX}{sha256}"),
                1,
                Some(now_ms),
            ));
        }
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: Some(vec![DAY_PARTITION_KEY.to_owned()]),
            predicate: None,
        };
        self.commit_actions(actions, properties, operation).await
    }

    /// Commits `actions` with `properties` as `operation`; the new version on success.
    pub(crate) async fn commit_actions(
        &mut self,
        actions: Vec<Action>,
        properties: CommitProperties,
        operation: DeltaOperation,
    ) -> Result<u64, DatasetError> {
        let state =
            self.table.snapshot().map_err(|source| delta_error("reading the snapshot of", &self.location, source))?;
        let committed = CommitBuilder::from(properties)
            .with_actions(actions)
            .build(Some(state), self.table.log_store(), operation)
            .await;
        match committed {
            Ok(finalized) => {
                let version = finalized.version();
                self.table.state = Some(finalized.snapshot());
                Ok(version)
            }
            Err(DeltaTableError::Transaction { source }) if is_conflict(&source) => {
                Err(DatasetError::Conflict { location: self.location.given.clone() })
            }
            Err(source) => Err(delta_error("committing to", &self.location, source)),
        }
    }

    fn check_schema(&self) -> Result<(), DatasetError> {
        let state =
            self.table.snapshot().map_err(|source| delta_error("reading the snapshot of", &self.location, source))?;
        let foreign = |reason: String| DatasetError::ForeignTable { location: self.location.given.clone(), reason };
        let partitions = state.metadata().partition_columns();
        if partitions.iter().map(String::as_str).ne([DAY_PARTITION_KEY]) {
            return Err(foreign(format!("it is partitioned by {partitions:?}, not by `{DAY_PARTITION_KEY}`")));
        }
        if let Some(reason) = schema::schema_difference(&state.schema(), &declared_schema()?) {
            return Err(foreign(reason));
        }
        Ok(())
    }
}

/// Whether a commit lost a race the log could not settle by retrying: another writer set the
/// same transaction id, or removed a file this commit removes.
fn is_conflict(error: &deltalake_core::kernel::transaction::TransactionError) -> bool {
    use deltalake_core::kernel::transaction::TransactionError;
    matches!(error, TransactionError::CommitConflict(_))
}

fn log_store(location: &TableLocation) -> Result<(LogStoreRef, Arc<dyn ObjectStore>), DatasetError> {
    let (root, prefixed) = location.stores()?;
    let log_store = default_logstore(Arc::clone(&prefixed), root, &location.url, &StorageConfig::default());
    Ok((log_store, prefixed))
}

fn not_a_table(location: &TableLocation) -> DatasetError {
    let has_data = location.local_dir.as_deref().is_some_and(crate::layout::has_partitions);
    DatasetError::NotATable { location: location.given.clone(), has_data }
}

fn delta_error(action: &'static str, location: &TableLocation, source: DeltaTableError) -> DatasetError {
    DatasetError::Delta { action, location: location.given.clone(), source: Box::new(source) }
}

#[cfg(test)]
mod tests;
