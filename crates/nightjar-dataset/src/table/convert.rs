//! Turning a dataset folder of layout version 1 into a table, without rewriting its files.

use std::collections::BTreeMap;
use std::fs::{self, File};

use arrow::array::{Array, StringArray, UInt64Array};
use nightjar_record::col;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{CommitNote, DELTA_WRITER, NewFile, PacketTable, TableLocation};
use crate::compact::partitions;
use crate::error::DatasetError;
use crate::layout::{clean_in_progress, partition_dir};

/// What a conversion found and committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// Files added by the first commit.
    pub files: usize,
    /// Rows in them.
    pub rows: u64,
    /// Sensors whose highest batch sequence number the log now records.
    pub sensors: usize,
    /// The table version the commit made.
    pub version: u64,
}

/// Creates a table over the folder `location` of layout version 1: one commit adds every
/// `day=*/*.parquet` file as it is and records each sensor's highest batch sequence number, so
/// writers that go on storing batches keep exactly-once. Work folders (`_inprogress/`,
/// `_compact/`) are cleared first: run it while no writer uses the folder.
pub async fn convert(location: &TableLocation) -> Result<Converted, DatasetError> {
    let root = location.local_dir.clone().ok_or_else(|| DatasetError::Location {
        location: location.given.clone(),
        reason: "only a local folder can be converted; convert it before copying it to object storage".into(),
    })?;
    if root.join(super::LOG_DIR).exists() {
        return Err(DatasetError::Location {
            location: location.given.clone(),
            reason: "it is a table already".into(),
        });
    }
    clean_in_progress(&root)?;
    let mut files = Vec::new();
    let mut highest: BTreeMap<String, u64> = BTreeMap::new();
    let mut rows = 0u64;
    for day in partitions(&root)? {
        let dir = partition_dir(&root, day);
        let mut names: Vec<_> = fs::read_dir(&dir)
            .map_err(DatasetError::io("listing", &dir))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "parquet"))
            .collect();
        names.sort();
        for path in names {
            let (file_rows, sensors) = batches_in(&path)?;
            for (sensor, seq) in sensors {
                let entry = highest.entry(sensor).or_insert(seq);
                *entry = (*entry).max(seq);
            }
            let bytes = fs::metadata(&path).map_err(DatasetError::io("reading size of", &path))?.len();
            let committed = crate::CommittedFile { path, day, rows: file_rows, bytes };
            files.push(NewFile::from_committed(&root, &committed)?);
            rows += file_rows;
        }
    }
    let mut table = PacketTable::create(location).await?;
    let mut info = serde_json::Map::new();
    info.insert("nightjar.operation".into(), "convert".into());
    info.insert("nightjar.writer".into(), DELTA_WRITER.into());
    let sensors = highest.len();
    let note = CommitNote { batches: highest.into_iter().collect(), info, imports: Vec::new() };
    let version = table.append(&files, note).await?;
    Ok(Converted { files: files.len(), rows, sensors, version })
}

/// The rows of a file and the highest batch sequence number of each sensor in it.
fn batches_in(path: &std::path::Path) -> Result<(u64, BTreeMap<String, u64>), DatasetError> {
    let parquet_error = |source| DatasetError::Parquet { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(DatasetError::io("opening", path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?;
    let schema = builder.parquet_schema();
    let wanted: Vec<usize> = (0..schema.num_columns())
        .filter(|&i| matches!(schema.column(i).name(), col::SENSOR | col::BATCH_SEQ))
        .collect();
    let mask = ProjectionMask::leaves(schema, wanted);
    let reader = builder.with_projection(mask).build().map_err(parquet_error)?;
    let mut rows = 0u64;
    let mut highest = BTreeMap::new();
    for batch in reader {
        let batch =
            batch.map_err(|source| parquet_error(parquet::errors::ParquetError::ArrowError(source.to_string())))?;
        rows += batch.num_rows() as u64;
        let sensors = batch.column_by_name(col::SENSOR).and_then(|c| c.as_any().downcast_ref::<StringArray>());
        let seqs = batch.column_by_name(col::BATCH_SEQ).and_then(|c| c.as_any().downcast_ref::<UInt64Array>());
        let (Some(sensors), Some(seqs)) = (sensors, seqs) else {
            return Err(DatasetError::Schema(format!("{} lacks the sensor or batch_seq column", path.display())));
        };
        for row in 0..batch.num_rows() {
            if sensors.is_null(row) {
                continue;
            }
            let entry = highest.entry(sensors.value(row).to_owned()).or_insert(seqs.value(row));
            *entry = (*entry).max(seqs.value(row));
        }
    }
    Ok((rows, highest))
}
