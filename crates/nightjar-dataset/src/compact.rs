//! Compaction: the many small files of a day partition (one per uploaded
//! batch) merged into few large, fully sorted ones.
//!
//! # Protocol
//!
//! 1. List the partition; pick its small files (under
//!    [`CompactOptions::small_file_bytes`]).
//! 2. Read them, sort all rows by country, source and time, and write the
//!    merged files into a fresh folder `ROOT/_compact/<id>/day=…`.
//! 3. Under the publish lock (publishers hold it shared while renaming a file
//!    into a partition): list the partition again, hard-link every file that
//!    was not merged (large ones, and any published since step 1) into the
//!    fresh folder, then swap the fresh folder and the partition in one
//!    `renameat2(RENAME_EXCHANGE)`.
//! 4. Delete the old partition, now at `ROOT/_compact/<id>/day=…`.
//!
//! A reader that lists the partition sees either the old set of files or the
//! new one, never both and never neither: no duplicates, no gaps. A query
//! that listed the old set and opens one of its merged files after the swap
//! gets "file not found" and must be run again. A crash at any step leaves
//! only `ROOT/_compact/`, which [`crate::clean_in_progress`] removes: before
//! the swap it holds the unpublished merge, after it the replaced files.
//!
//! The swap needs Linux's `renameat2`; elsewhere compaction reports itself
//! unsupported and the small files stay as they are.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow::compute::concat_batches;
use chrono::NaiveDate;
use nightjar_record::packet_schema;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::DatasetError;
use crate::layout::{DAY_PARTITION_KEY, partition_dir, sync_dir};
use crate::sort::sort_for_queries;
use crate::writer::{WriterOptions, file_properties};

/// The folder holding compaction work; readers skip `_` folders.
pub const COMPACT_DIR: &str = "_compact";

/// When and how to compact.
#[derive(Clone, Debug)]
pub struct CompactOptions {
    /// Files smaller than this are merged.
    pub small_file_bytes: u64,
    /// Compact a partition only when it has at least this many small files.
    pub min_files: usize,
    /// Merge at most this many rows in one run (bounds memory: all of them
    /// are sorted together).
    pub max_rows: u64,
    /// How the merged files are written.
    pub writer: WriterOptions,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            small_file_bytes: 32 * 1024 * 1024,
            min_files: 16,
            max_rows: 8 * 1024 * 1024,
            writer: WriterOptions::default(),
        }
    }
}

/// What a compaction did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactionReport {
    /// The partition.
    pub day: NaiveDate,
    /// Small files merged.
    pub merged_files: usize,
    /// Rows in them (and in the new files).
    pub rows: u64,
    /// Files written.
    pub new_files: usize,
    /// Bytes of the merged files.
    pub bytes_before: u64,
    /// Bytes of the new files.
    pub bytes_after: u64,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError {
    DatasetError::io(action, path)
}

/// The day partitions present under `root`.
pub fn partitions(root: &Path) -> Result<Vec<NaiveDate>, DatasetError> {
    let mut days = Vec::new();
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(days),
        Err(e) => return Err(io("listing", root)(e)),
    };
    for entry in entries {
        let name = entry.map_err(io("listing", root))?.file_name();
        let day = name
            .to_str()
            .and_then(|n| n.strip_prefix(&format!("{DAY_PARTITION_KEY}=")))
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        days.extend(day);
    }
    days.sort_unstable();
    Ok(days)
}

/// Parquet files of a partition with their sizes, by name.
fn list_files(dir: &Path) -> Result<Vec<(String, u64)>, DatasetError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io("listing", dir))? {
        let entry = entry.map_err(io("listing", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".parquet") {
            files.push((name, entry.metadata().map_err(io("reading size of", &entry.path()))?.len()));
        }
    }
    files.sort();
    Ok(files)
}

pub(crate) fn rows_of(path: &Path) -> Result<u64, DatasetError> {
    let file = File::open(path).map_err(io("opening", path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|source| DatasetError::Parquet { path: path.into(), source })?;
    Ok(u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0))
}

/// Compact one day partition if it has enough small files. `publish_lock`
/// is the lock publishers of this dataset hold shared while publishing.
pub fn compact_day(
    root: &Path,
    day: NaiveDate,
    options: &CompactOptions,
    publish_lock: &RwLock<()>,
) -> Result<Option<CompactionReport>, DatasetError> {
    if !cfg!(target_os = "linux") {
        return Ok(None);
    }
    let partition = partition_dir(root, day);
    let mut chosen: Vec<(String, u64)> = Vec::new();
    let mut rows_chosen = 0u64;
    for (name, bytes) in list_files(&partition)?.into_iter().filter(|(_, bytes)| *bytes < options.small_file_bytes) {
        let rows = rows_of(&partition.join(&name))?;
        if rows_chosen + rows > options.max_rows && !chosen.is_empty() {
            break;
        }
        rows_chosen += rows;
        chosen.push((name, bytes));
    }
    if chosen.len() < options.min_files.max(2) {
        return Ok(None);
    }

    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let work = root.join(COMPACT_DIR).join(format!("{}-{stamp}", day.format("%Y-%m-%d")));
    let fresh = work.join(partition.file_name().unwrap_or_default());
    fs::create_dir_all(&fresh).map_err(io("creating", &fresh))?;

    let mut batches = Vec::new();
    for (name, _) in &chosen {
        let path = partition.join(name);
        let file = File::open(&path).map_err(io("opening", &path))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|source| DatasetError::Parquet { path: path.clone(), source })?;
        for batch in reader {
            batches.push(batch?);
        }
    }
    let merged = sort_for_queries(&concat_batches(&packet_schema(), &batches)?)?;
    drop(batches);
    let written = write_merged(&fresh, &merged, stamp, &options.writer)?;
    let bytes_after = written.iter().map(|(_, bytes)| bytes).sum();

    {
        let _exclusive = publish_lock.write().unwrap_or_else(|p| p.into_inner());
        let merged_names: HashSet<&str> = chosen.iter().map(|(n, _)| n.as_str()).collect();
        for (name, _) in list_files(&partition)? {
            if !merged_names.contains(name.as_str()) {
                fs::hard_link(partition.join(&name), fresh.join(&name)).map_err(io("linking", &fresh.join(&name)))?;
            }
        }
        sync_dir(&fresh)?;
        exchange(&fresh, &partition)?;
        sync_dir(root)?;
        sync_dir(&work)?;
    }
    // `fresh` now names the replaced partition.
    fs::remove_dir_all(&work).map_err(io("removing", &work))?;
    let report = CompactionReport {
        day,
        merged_files: chosen.len(),
        rows: merged.num_rows() as u64,
        new_files: written.len(),
        bytes_before: chosen.iter().map(|(_, b)| b).sum(),
        bytes_after,
    };
    tracing::info!(%day, merged = report.merged_files, rows = report.rows, new_files = report.new_files, "compacted");
    Ok(Some(report))
}

/// Write sorted rows as files of at most `max_rows_per_file` rows into `dir`.
pub(crate) fn write_merged(
    dir: &Path,
    merged: &arrow::record_batch::RecordBatch,
    stamp: u128,
    options: &WriterOptions,
) -> Result<Vec<(PathBuf, u64)>, DatasetError> {
    let properties = file_properties(options).map_err(|source| DatasetError::Parquet { path: dir.into(), source })?;
    let per_file = options.max_rows_per_file.max(1);
    let mut written = Vec::new();
    let mut offset = 0;
    while offset < merged.num_rows() {
        let length = per_file.min(merged.num_rows() - offset);
        let path = dir.join(format!("part-compact-{stamp}-{}.parquet", written.len()));
        let file = File::create(&path).map_err(io("creating", &path))?;
        let mut writer = ArrowWriter::try_new(file, packet_schema(), Some(properties.clone()))
            .map_err(|source| DatasetError::Parquet { path: path.clone(), source })?;
        writer
            .write(&merged.slice(offset, length))
            .map_err(|source| DatasetError::Parquet { path: path.clone(), source })?;
        let file = writer.into_inner().map_err(|source| DatasetError::Parquet { path: path.clone(), source })?;
        file.sync_all().map_err(io("syncing", &path))?;
        let bytes = file.metadata().map_err(io("reading size of", &path))?.len();
        written.push((path, bytes));
        offset += length;
    }
    Ok(written)
}

/// Swap two folders atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> Result<(), DatasetError> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE)
        .map_err(|errno| io("swapping in the compacted partition", b)(std::io::Error::from(errno)))
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, b: &Path) -> Result<(), DatasetError> {
    Err(io("swapping in the compacted partition", b)(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "compaction needs renameat2(RENAME_EXCHANGE), which only Linux has",
    )))
}

#[cfg(test)]
mod tests;
