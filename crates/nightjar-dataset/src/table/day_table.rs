//! Tables Nightjar derives from the packets (the rollups): Delta tables of any schema,
//! partitioned by `day`, kept inside the dataset's root under `_rollups/<name>/`, and rewritten a
//! whole day at a time.
//!
//! The `_` of `_rollups/` hides them from readers of the packet table and from its vacuum (Delta
//! treats a path that starts with `_` or `.` as not the table's own, and so does Nightjar's own
//! listing of a folder dataset). Each is a table of its own, with its own log, in the same storage
//! as the packets (a folder or `s3://…`).
//!
//! [`DayTable::replace_day`] writes a day's rows as one Parquet file and commits, in one version,
//! the removal of every file the day had and the addition of the new one: a reader sees the old
//! rows of the day or the new ones, never both or neither. Each such commit sets the transaction
//! id `nightjar-day:<day>`, so two writers rewriting the same day at once conflict and only one
//! lands (without it, two first writes of a day would both add their file).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{NaiveDate, Utc};
use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake_core::kernel::{Action, StructType, Transaction};
use deltalake_core::operations::create::CreateBuilder;
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaTable, DeltaTableError};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{DELTA_WRITER, NewFile, SnapshotFiles, TableLocation, delta_error, is_conflict, log_store};
use crate::error::DatasetError;
use crate::layout::DAY_PARTITION_KEY;

/// The folder inside a dataset's root that holds the tables derived from its packets.
pub const ROLLUPS_DIR: &str = "_rollups";

/// A table derived from the packets: its name (as the query layer registers it, and its folder
/// under [`ROLLUPS_DIR`]) and what a row of it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollupTable {
    /// `source_days`, `country_hours` or `port_days`.
    pub name: &'static str,
    /// What one row holds, for `\d` and the table's comment.
    pub description: &'static str,
}

/// The rollup tables (`schemas/rollups-v1.md`).
pub const ROLLUP_TABLES: &[RollupTable] = &[
    RollupTable {
        name: "source_days",
        description: "rollup: one row per day and source (and its attribution): packets, ports, destinations, sensors, risk flags",
    },
    RollupTable {
        name: "country_hours",
        description: "rollup: one row per hour, country and risk: distinct sources and packets (research and likely-spoofed left out)",
    },
    RollupTable {
        name: "port_days",
        description: "rollup: one row per day, protocol and destination port: packets, distinct sources, scan sources",
    },
];

/// The prefix of the transaction id each rewrite of a day of a derived table sets.
pub const DAY_TXN_PREFIX: &str = "nightjar-day:";

/// A derived table: a Delta table partitioned by `day`, rewritten a day at a time.
pub struct DayTable {
    location: TableLocation,
    table: DeltaTable,
    store: Arc<dyn ObjectStore>,
}

/// Where the derived table `name` of the dataset at `dataset` lives: `<dataset>/_rollups/<name>/`.
pub fn derived_location(dataset: &TableLocation, name: &str) -> Result<TableLocation, DatasetError> {
    match &dataset.local_dir {
        Some(dir) => TableLocation::parse(&dir.join(ROLLUPS_DIR).join(name).display().to_string()),
        None => TableLocation::parse(&format!("{}{ROLLUPS_DIR}/{name}", dataset.url)),
    }
}

/// The Delta type declared for a column of type `data_type` (lists by their item's type).
fn declared_field(field: &Field) -> Field {
    let data_type = match field.data_type() {
        DataType::List(item) => DataType::List(Arc::new(declared_field(item))),
        other => super::schema::declared_type(other),
    };
    Field::new(field.name(), data_type, field.is_nullable())
}

impl DayTable {
    /// Opens the derived table at `location`, or `None` when nothing was written there yet.
    pub async fn open(location: &TableLocation) -> Result<Option<DayTable>, DatasetError> {
        if let Some(dir) = &location.local_dir
            && !dir.join(super::LOG_DIR).is_dir()
        {
            return Ok(None);
        }
        let (log_store, store) = log_store(location)?;
        let mut table = DeltaTable::new(log_store);
        match table.load().await {
            Ok(()) => Ok(Some(DayTable { location: location.clone(), table, store })),
            Err(DeltaTableError::NotATable(_)) => Ok(None),
            Err(source) => Err(delta_error("reading the log of", location, source)),
        }
    }

    /// Opens the derived table at `location`, creating it named `name` with the columns of
    /// `schema` (without `day`, which it adds as the partition column) when there is none.
    pub async fn open_or_create(
        location: &TableLocation,
        name: &str,
        comment: &str,
        schema: &Schema,
    ) -> Result<DayTable, DatasetError> {
        if let Some(opened) = Self::open(location).await? {
            return Ok(opened);
        }
        let mut fields: Vec<Field> = schema.fields().iter().map(|field| declared_field(field)).collect();
        fields.push(Field::new(DAY_PARTITION_KEY, DataType::Date32, false));
        let declared: StructType = (&Schema::new(fields))
            .try_into_kernel()
            .map_err(|source| DatasetError::Declared(format!("{name}: {source}")))?;
        let (log_store, _) = log_store(location)?;
        let created = CreateBuilder::new()
            .with_log_store(log_store)
            .with_table_name(name)
            .with_comment(comment)
            .with_columns(declared.fields().cloned())
            .with_partition_columns([DAY_PARTITION_KEY])
            .with_save_mode(SaveMode::ErrorIfExists)
            .await;
        if let Err(error) = created {
            // Another writer may have created it first: open theirs.
            if let Some(opened) = Self::open(location).await? {
                return Ok(opened);
            }
            return Err(delta_error("creating", location, error));
        }
        Self::open(location).await?.ok_or_else(|| DatasetError::Location {
            location: location.given.clone(),
            reason: "the table just created has no log".into(),
        })
    }

    /// Where the table is.
    pub fn location(&self) -> &TableLocation {
        &self.location
    }

    /// The version of the snapshot read.
    pub fn version(&self) -> u64 {
        self.table.version().unwrap_or_default()
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

    /// The columns the log declares, without the partition column `day` (Delta's types: the
    /// files may hold narrower ones).
    pub fn declared_columns(&self) -> Result<SchemaRef, DatasetError> {
        use deltalake_core::kernel::engine::arrow_conversion::TryIntoArrow as _;
        let state =
            self.table.snapshot().map_err(|source| delta_error("reading the snapshot of", &self.location, source))?;
        let schema: Schema = state
            .schema()
            .as_ref()
            .try_into_arrow()
            .map_err(|source| DatasetError::Declared(format!("{}: {source}", self.location.given)))?;
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .filter(|field| field.name() != DAY_PARTITION_KEY)
            .map(|field| field.as_ref().clone())
            .collect();
        Ok(Arc::new(Schema::new(fields)))
    }

    /// Replaces every row of `day` with `rows` (columns without `day`) in one commit; returns
    /// the new version, or `None` when the day had no rows and gets none. Fails with
    /// [`DatasetError::Conflict`] when another writer rewrote the day meanwhile.
    pub async fn replace_day(
        &mut self,
        day: NaiveDate,
        rows: &RecordBatch,
        mut info: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<u64>, DatasetError> {
        self.refresh().await?;
        let day_text = day.format("%Y-%m-%d").to_string();
        let state =
            self.table.snapshot().map_err(|source| delta_error("reading the snapshot of", &self.location, source))?;
        let mut actions: Vec<Action> = state
            .log_data()
            .iter()
            .filter(|file| {
                file.partition_values_map().get(DAY_PARTITION_KEY).is_some_and(|v| v.as_deref() == Some(&day_text))
            })
            .map(|file| Action::Remove(file.remove_action(true)))
            .collect();
        if actions.is_empty() && rows.num_rows() == 0 {
            return Ok(None);
        }
        let now_ms = Utc::now().timestamp_millis();
        let mut written = None;
        if rows.num_rows() > 0 {
            let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            let path = format!("{DAY_PARTITION_KEY}={day_text}/part-{stamp:x}-{}.parquet", std::process::id());
            let bytes = self.write_file(&path, rows).await?;
            let file = NewFile { path, day: day_text.clone(), rows: rows.num_rows() as u64, bytes };
            actions.push(file.add_action(now_ms, true));
            written = Some(file);
        }
        info.insert("nightjar.writer".into(), DELTA_WRITER.into());
        let read_version = i64::try_from(self.version()).unwrap_or(i64::MAX);
        let properties = CommitProperties::default().with_metadata(info).with_application_transaction(
            Transaction::new_with_last_update(format!("{DAY_TXN_PREFIX}{day_text}"), read_version, Some(now_ms)),
        );
        let operation = DeltaOperation::Write {
            mode: SaveMode::Overwrite,
            partition_by: Some(vec![DAY_PARTITION_KEY.to_owned()]),
            predicate: Some(format!("{DAY_PARTITION_KEY} = '{day_text}'")),
        };
        let committed = CommitBuilder::from(properties)
            .with_actions(actions)
            .build(Some(state), self.table.log_store(), operation)
            .await;
        match committed {
            Ok(finalized) => {
                let version = finalized.version();
                self.table.state = Some(finalized.snapshot());
                Ok(Some(version))
            }
            Err(error) => {
                if let Some(file) = written {
                    // Named by no commit: no reader sees it; removed now rather than by a vacuum.
                    let _ = self.store.delete(&StorePath::from(file.path.as_str())).await;
                }
                match error {
                    DeltaTableError::Transaction { source } if is_conflict(&source) => {
                        Err(DatasetError::Conflict { location: self.location.given.clone() })
                    }
                    source => Err(delta_error("committing to", &self.location, source)),
                }
            }
        }
    }

    /// Writes `rows` as one zstd Parquet file at `path` (relative to the table); its size.
    async fn write_file(&self, path: &str, rows: &RecordBatch) -> Result<u64, DatasetError> {
        let parquet_error = |source| DatasetError::Parquet { path: path.into(), source };
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).map_err(parquet_error)?))
            .build();
        let mut writer = ArrowWriter::try_new(Vec::new(), rows.schema(), Some(properties)).map_err(parquet_error)?;
        writer.write(rows).map_err(parquet_error)?;
        let bytes = writer.into_inner().map_err(parquet_error)?;
        let size = bytes.len() as u64;
        // A local store writes a temporary file and renames it: a reader sees all of it or nothing.
        self.store.put(&StorePath::from(path), PutPayload::from(bytes)).await.map_err(|source| {
            DatasetError::Store { action: "writing a file into", location: self.location.given.clone(), source }
        })?;
        Ok(size)
    }
}

impl std::fmt::Debug for DayTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DayTable").field("location", &self.location.given).field("version", &self.version()).finish()
    }
}

mod retention;

#[cfg(test)]
mod tests;
