//! Writing record batches into day partitions, one Parquet file per day per
//! writer, committed by rename.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use arrow::array::{Array, BooleanArray, TimestampMicrosecondArray};
use arrow::compute::{concat_batches, filter_record_batch};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use nightjar_record::{col, packet_schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::DatasetError;
use crate::layout::{IN_PROGRESS_DIR, day_of_micros, partition_dir, sync_dir};
use crate::runs::SpilledRuns;
use crate::sort::sort_for_queries;

/// How the dataset's Parquet files are written.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// A file is committed and a new one started after this many rows.
    pub max_rows_per_file: usize,
    /// Rows per row group: the unit a reader skips by statistics, and how
    /// many rows are sorted in memory at a time (larger files are sorted
    /// by merging such runs).
    pub row_group_rows: usize,
    /// zstd level (1–22); 3 is zstd's own default balance.
    pub zstd_level: i32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions { max_rows_per_file: 16 * 1024 * 1024, row_group_rows: 1024 * 1024, zstd_level: 3 }
    }
}

/// A Parquet file made visible in the dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its partition.
    pub day: NaiveDate,
    /// Rows in it.
    pub rows: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

struct OpenFile {
    day: NaiveDate,
    temp_path: PathBuf,
    final_path: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
    /// Rows waiting to be sorted together (at most a row group's worth).
    unsorted: Vec<RecordBatch>,
    unsorted_rows: usize,
    /// Where sorted runs go once the file outgrows one sort buffer.
    spill_path: PathBuf,
    runs: Option<SpilledRuns>,
}

impl OpenFile {
    /// The waiting rows, sorted; none waits afterwards.
    fn take_sorted(&mut self) -> Result<Option<RecordBatch>, DatasetError> {
        if self.unsorted.is_empty() {
            return Ok(None);
        }
        let batches = std::mem::take(&mut self.unsorted);
        self.unsorted_rows = 0;
        Ok(Some(sort_for_queries(&concat_batches(&packet_schema(), &batches)?)?))
    }

    /// Sort what waits and spill it as one run.
    fn spill_run(&mut self) -> Result<(), DatasetError> {
        let Some(sorted) = self.take_sorted()? else { return Ok(()) };
        let runs = match &mut self.runs {
            Some(runs) => runs,
            None => self.runs.insert(SpilledRuns::create(self.spill_path.clone())?),
        };
        runs.push(&sorted)
    }

    /// Hand every row to the Parquet encoder in sort order: straight from
    /// the sort buffer when the file fits in it, else merged from the runs.
    fn write_in_order(&mut self) -> Result<(), DatasetError> {
        let path = self.temp_path.clone();
        let parquet = |source| DatasetError::Parquet { path: path.clone(), source };
        if self.runs.is_none() {
            return match self.take_sorted()? {
                Some(sorted) => self.writer.write(&sorted).map_err(parquet),
                None => Ok(()),
            };
        }
        let last = self.take_sorted()?;
        let writer = &mut self.writer;
        match self.runs.take() {
            Some(runs) => runs.merge(last, |batch| writer.write(batch).map_err(parquet)),
            None => Ok(()),
        }
    }
}

/// Writes packet record batches into the dataset at `root`, one open file per
/// day, until [`commit`](Self::commit). Files are named after `writer_id`,
/// which must be unique among writers of the same dataset (the collector uses
/// the sensor and batch sequence; import uses a run id).
pub struct PartitionedWriter {
    root: PathBuf,
    writer_id: String,
    options: WriterOptions,
    properties: WriterProperties,
    open: BTreeMap<NaiveDate, OpenFile>,
    next_file: u64,
    committed: Vec<CommittedFile>,
}

impl PartitionedWriter {
    /// A writer into the dataset folder `root` (created if missing).
    pub fn new(root: impl AsRef<Path>, writer_id: &str, options: WriterOptions) -> Result<Self, DatasetError> {
        let root = root.as_ref().to_path_buf();
        let in_progress = root.join(IN_PROGRESS_DIR);
        fs::create_dir_all(&in_progress).map_err(DatasetError::io("creating", &in_progress))?;
        let properties =
            file_properties(&options).map_err(|source| DatasetError::Parquet { path: root.clone(), source })?;
        Ok(PartitionedWriter {
            root,
            writer_id: writer_id.to_string(),
            options,
            properties,
            open: BTreeMap::new(),
            next_file: 0,
            committed: Vec::new(),
        })
    }

    /// Append a batch of packet records, split by day.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), DatasetError> {
        if batch.schema().fields() != packet_schema().fields() {
            return Err(DatasetError::Schema(format!("got columns {:?}", batch.schema().fields())));
        }
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let row_group_rows = self.options.row_group_rows;
        for (day, part) in split_by_day(batch)? {
            let file = self.open_file(day)?;
            // Rows are sorted a row group's worth at a time into runs, which
            // finishing the file merges: the whole file is one sorted run, so
            // statistics prune and each source's columns compress together.
            file.rows += part.num_rows() as u64;
            file.unsorted_rows += part.num_rows();
            file.unsorted.push(part);
            if file.unsorted_rows >= row_group_rows {
                file.spill_run()?;
            }
            if file.rows >= self.options.max_rows_per_file as u64 {
                self.commit_day(day)?;
            }
        }
        Ok(())
    }

    /// Rows written but not yet committed.
    pub fn pending_rows(&self) -> u64 {
        self.open.values().map(|f| f.rows).sum()
    }

    /// Commit every open file. Returns all files this writer committed.
    pub fn commit(mut self) -> Result<Vec<CommittedFile>, DatasetError> {
        let days: Vec<NaiveDate> = self.open.keys().copied().collect();
        for day in days {
            self.commit_day(day)?;
        }
        Ok(std::mem::take(&mut self.committed))
    }

    /// Finish every open file and make it durable under `_inprogress/`,
    /// without publishing it: the first half of a two-phase commit, for a
    /// caller that must record the files (in a ledger) before they become
    /// visible. Files this writer already rolled over and committed are
    /// refused: use one writer per prepared unit.
    pub fn prepare(self) -> Result<Vec<PreparedFile>, DatasetError> {
        self.prepare_with_progress(|_| {})
    }

    /// [`PartitionedWriter::prepare`], calling `on_file` with each file's rows as soon as that
    /// file is written (sorting and encoding a day's rows is most of the work), for a progress bar.
    pub fn prepare_with_progress(mut self, mut on_file: impl FnMut(u64)) -> Result<Vec<PreparedFile>, DatasetError> {
        if !self.committed.is_empty() {
            return Err(DatasetError::Schema(
                "a writer that rolled files over cannot prepare; raise max_rows_per_file".into(),
            ));
        }
        let days: Vec<NaiveDate> = self.open.keys().copied().collect();
        let mut prepared = Vec::with_capacity(days.len());
        for day in days {
            if let Some(open) = self.open.remove(&day) {
                let file = finish_file(open)?;
                on_file(file.rows);
                prepared.push(file);
            }
        }
        Ok(prepared)
    }

    fn open_file(&mut self, day: NaiveDate) -> Result<&mut OpenFile, DatasetError> {
        if !self.open.contains_key(&day) {
            let number = self.next_file;
            self.next_file += 1;
            let stem = format!("{}-{number}", self.writer_id);
            let temp_path = self.root.join(IN_PROGRESS_DIR).join(format!("{stem}.{}.parquet", day.format("%Y-%m-%d")));
            let final_path = partition_dir(&self.root, day).join(format!("part-{stem}.parquet"));
            let spill_path =
                self.root.join(IN_PROGRESS_DIR).join(format!("{stem}.{}.runs.arrow", day.format("%Y-%m-%d")));
            let file = File::create(&temp_path).map_err(DatasetError::io("creating", &temp_path))?;
            let writer = ArrowWriter::try_new(file, packet_schema(), Some(self.properties.clone()))
                .map_err(|source| DatasetError::Parquet { path: temp_path.clone(), source })?;
            self.open.insert(
                day,
                OpenFile {
                    day,
                    temp_path,
                    final_path,
                    writer,
                    rows: 0,
                    unsorted: Vec::new(),
                    unsorted_rows: 0,
                    spill_path,
                    runs: None,
                },
            );
        }
        Ok(self.open.get_mut(&day).expect("the file for this day was inserted just above"))
    }

    fn commit_day(&mut self, day: NaiveDate) -> Result<(), DatasetError> {
        let Some(open) = self.open.remove(&day) else { return Ok(()) };
        let committed = finish_file(open)?.publish()?;
        self.committed.push(committed);
        Ok(())
    }
}

/// A finished, durable file under `_inprogress/`, not yet visible to readers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedFile {
    /// Where it is now.
    pub temp_path: PathBuf,
    /// Where [`publish`](Self::publish) puts it.
    pub final_path: PathBuf,
    /// Its partition.
    pub day: NaiveDate,
    /// Rows in it.
    pub rows: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

impl PreparedFile {
    /// Make the file visible: rename it into its partition folder and fsync
    /// the folders. Publishing again after a crash is harmless: a file
    /// already in place is left as it is.
    pub fn publish(self) -> Result<CommittedFile, DatasetError> {
        publish(&self.temp_path, &self.final_path)?;
        Ok(CommittedFile { path: self.final_path, day: self.day, rows: self.rows, bytes: self.bytes })
    }
}

/// Rename `temp_path` to `final_path` durably; a no-op when the rename
/// already happened (recovery after a crash between rename and reply).
pub fn publish(temp_path: &Path, final_path: &Path) -> Result<(), DatasetError> {
    let dir = final_path.parent().map(Path::to_path_buf).unwrap_or_default();
    if !temp_path.exists() && final_path.exists() {
        return Ok(());
    }
    fs::create_dir_all(&dir).map_err(DatasetError::io("creating", &dir))?;
    fs::rename(temp_path, final_path).map_err(DatasetError::io("committing", final_path))?;
    sync_dir(&dir)?;
    if let Some(root) = dir.parent() {
        sync_dir(root)?;
    }
    tracing::debug!(path = %final_path.display(), "published parquet file");
    Ok(())
}

fn finish_file(mut open: OpenFile) -> Result<PreparedFile, DatasetError> {
    open.write_in_order()?;
    let OpenFile { day, temp_path, final_path, writer, rows, .. } = open;
    let file = writer.into_inner().map_err(|source| DatasetError::Parquet { path: temp_path.clone(), source })?;
    file.sync_all().map_err(DatasetError::io("syncing", &temp_path))?;
    let bytes = file.metadata().map_err(DatasetError::io("reading size of", &temp_path))?.len();
    drop(file);
    if let Some(dir) = temp_path.parent() {
        sync_dir(dir)?;
    }
    Ok(PreparedFile { temp_path, final_path, day, rows, bytes })
}

/// The Parquet properties of every dataset file: encodings per column, zstd
/// at `options.zstd_level`, page statistics, row groups of
/// `options.row_group_rows`.
pub fn file_properties(options: &WriterOptions) -> Result<WriterProperties, parquet::errors::ParquetError> {
    let level = ZstdLevel::try_new(options.zstd_level)?;
    // Per-column choices measured on generated traffic (see BENCHMARKS.md):
    // times grow within a source, so deltas beat a dictionary; sequence
    // numbers, acks and quoted addresses are mostly unique, so a dictionary
    // only costs a fallback; IP ids, ports, TTLs and lengths vary within a
    // source, and zstd compresses their bytes best apart (byte stream
    // split); ASNs and windows repeat in runs per source, which zstd finds
    // in plain values more cheaply than a dictionary page per row group.
    let plain = [col::TCP_SEQ, col::TCP_ACK, col::ASN, col::TCP_WINDOW, col::INNER_SRC_IP, col::INNER_DST_IP];
    let byte_split = [
        col::IP_ID,
        col::SRC_PORT,
        col::IP_TTL,
        col::IP_LEN,
        col::PAYLOAD_LEN,
        col::INNER_SRC_PORT,
        col::INNER_DST_PORT,
    ];
    let mut builder = WriterProperties::builder()
        .set_column_dictionary_enabled(ColumnPath::from(col::TIME), false)
        .set_column_encoding(ColumnPath::from(col::TIME), Encoding::DELTA_BINARY_PACKED);
    for name in plain {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(name), false);
    }
    for name in byte_split {
        builder = builder
            .set_column_dictionary_enabled(ColumnPath::from(name), false)
            .set_column_encoding(ColumnPath::from(name), Encoding::BYTE_STREAM_SPLIT);
    }
    Ok(builder
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
        .set_created_by(format!("nightjar {}", env!("CARGO_PKG_VERSION")))
        .build())
}

/// Split a batch into one batch per UTC day of its `time` column.
fn split_by_day(batch: &RecordBatch) -> Result<Vec<(NaiveDate, RecordBatch)>, DatasetError> {
    let times = batch
        .column_by_name(col::TIME)
        .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
        .ok_or_else(|| DatasetError::Schema("no microsecond `time` column".into()))?;
    let days: Vec<NaiveDate> = times.values().iter().map(|t| day_of_micros(*t)).collect();
    let first = days[0];
    if days.iter().all(|d| *d == first) {
        return Ok(vec![(first, batch.clone())]);
    }
    let mut distinct = days.clone();
    distinct.sort_unstable();
    distinct.dedup();
    distinct
        .into_iter()
        .map(|day| {
            let mask = BooleanArray::from_iter(days.iter().map(|d| Some(*d == day)));
            Ok((day, filter_record_batch(batch, &mask)?))
        })
        .collect()
}

#[cfg(test)]
mod tests;
