//! Sorted runs spilled to disk and merged back in order: how a file larger
//! than one sort buffer is still sorted from its first row to its last.
//!
//! A day of traffic is written in sort buffers of a row group each. Sorted
//! only within each buffer, one source's packets would be split over every
//! row group of the day; merged, they lie together, which is where the
//! dataset's compression comes from (each source's times, ports and fields
//! in one run). Runs go to an LZ4-compressed Arrow IPC file next to the
//! file being written, under `_inprogress/`, and are deleted after the
//! merge (or when the writer is dropped).

use std::fs::{self, File};
use std::io::BufWriter;
use std::ops::Range;
use std::path::PathBuf;

use arrow::array::ArrayRef;
use arrow::compute::interleave;
use arrow::ipc::CompressionType;
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::{FileWriter, IpcWriteOptions};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};
use nightjar_record::packet_schema;

use crate::error::DatasetError;
use crate::sort::SORT_KEY;

/// Rows per batch in the spill file, and per merged batch handed on (small
/// in tests, so that runs span several batches).
const SPILL_BATCH_ROWS: usize = if cfg!(test) { 100 } else { 65_536 };

/// Sorted runs in one spill file.
pub(crate) struct SpilledRuns {
    path: PathBuf,
    writer: Option<FileWriter<BufWriter<File>>>,
    /// Each run's batches, as indexes into the spill file.
    runs: Vec<Range<usize>>,
    batches: usize,
}

impl SpilledRuns {
    /// An empty spill file at `path`.
    pub(crate) fn create(path: PathBuf) -> Result<Self, DatasetError> {
        let file = File::create(&path).map_err(DatasetError::io("creating", &path))?;
        let options = IpcWriteOptions::default().try_with_compression(Some(CompressionType::LZ4_FRAME))?;
        let writer = FileWriter::try_new_with_options(BufWriter::new(file), &packet_schema(), options)?;
        Ok(SpilledRuns { path, writer: Some(writer), runs: Vec::new(), batches: 0 })
    }

    /// Append one run; its rows must already be in order.
    pub(crate) fn push(&mut self, sorted: &RecordBatch) -> Result<(), DatasetError> {
        let writer = self.writer.as_mut().ok_or_else(|| DatasetError::Schema("spill file already merged".into()))?;
        let first = self.batches;
        let mut offset = 0;
        while offset < sorted.num_rows() {
            let length = SPILL_BATCH_ROWS.min(sorted.num_rows() - offset);
            writer.write(&sorted.slice(offset, length))?;
            self.batches += 1;
            offset += length;
        }
        if self.batches > first {
            self.runs.push(first..self.batches);
        }
        Ok(())
    }

    /// Hand every row of every spilled run, and of `last` (a sorted run
    /// still in memory, which need not go to disk and back), to `sink` in
    /// sort order (rows equal in the sort key in run order, `last` last), in
    /// batches of at most [`SPILL_BATCH_ROWS`] rows.
    pub(crate) fn merge(
        mut self,
        last: Option<RecordBatch>,
        mut sink: impl FnMut(&RecordBatch) -> Result<(), DatasetError>,
    ) -> Result<(), DatasetError> {
        if let Some(writer) = self.writer.take() {
            writer.into_inner()?;
        }
        let converter = sort_key_converter()?;
        let mut sources: Vec<RunBatches> = Vec::with_capacity(self.runs.len() + 1);
        for run in &self.runs {
            let file = File::open(&self.path).map_err(DatasetError::io("opening", &self.path))?;
            let mut reader = FileReader::try_new_buffered(file, None)?;
            reader.set_index(run.start)?;
            sources.push(Box::new(reader.take(run.len())));
        }
        if let Some(last) = last {
            let rows = last.num_rows();
            sources.push(Box::new(
                (0..rows).step_by(SPILL_BATCH_ROWS).map(move |at| Ok(last.slice(at, SPILL_BATCH_ROWS.min(rows - at)))),
            ));
        }
        let mut cursors = Vec::with_capacity(sources.len());
        for (run, batches) in sources.into_iter().enumerate() {
            if let Some(cursor) = RunCursor::open(batches, run, &converter)? {
                cursors.push(cursor);
            }
        }
        // Runs that still have rows, ordered so that the smallest current
        // row is last: popping it is O(1), putting a cursor back a binary
        // search among a handful.
        let mut order: Vec<usize> = (0..cursors.len()).collect();
        order.sort_by(|a, b| compare(&cursors, *b, *a));
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(SPILL_BATCH_ROWS);
        while let Some(smallest) = order.pop() {
            picks.push((smallest, cursors[smallest].position));
            cursors[smallest].position += 1;
            let run_out = cursors[smallest].position == cursors[smallest].batch.num_rows();
            if run_out || picks.len() == SPILL_BATCH_ROWS {
                // The picks point into the cursors' current batches: emit
                // them before any cursor moves on to its next batch.
                sink(&interleave_rows(&cursors, &picks)?)?;
                picks.clear();
            }
            if run_out && !cursors[smallest].next_batch(&converter)? {
                continue;
            }
            let at = order.partition_point(|other| compare(&cursors, *other, smallest).is_gt());
            order.insert(at, smallest);
        }
        if !picks.is_empty() {
            sink(&interleave_rows(&cursors, &picks)?)?;
        }
        Ok(())
    }
}

impl Drop for SpilledRuns {
    fn drop(&mut self) {
        drop(self.writer.take());
        let _ = fs::remove_file(&self.path);
    }
}

/// The sort key of dataset rows (see [`crate::sort`]) in Arrow's row format,
/// which compares alike across batches converted by the same converter.
fn sort_key_converter() -> Result<RowConverter, DatasetError> {
    let schema = packet_schema();
    let fields = SORT_KEY
        .iter()
        .map(|name| Ok(SortField::new(schema.field_with_name(name)?.data_type().clone())))
        .collect::<Result<Vec<_>, arrow::error::ArrowError>>()?;
    Ok(RowConverter::new(fields)?)
}

/// One run's batches, in order.
type RunBatches = Box<dyn Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>>>;

/// Where one run is read.
struct RunCursor {
    batches: RunBatches,
    batch: RecordBatch,
    keys: Rows,
    position: usize,
    /// The run's place among the runs, which orders equal keys.
    run: usize,
}

impl RunCursor {
    /// A cursor at the first row of `batches`; none for an empty run.
    fn open(mut batches: RunBatches, run: usize, converter: &RowConverter) -> Result<Option<Self>, DatasetError> {
        let Some(batch) = batches.next().transpose()? else { return Ok(None) };
        let keys = keys_of(&batch, converter)?;
        Ok(Some(RunCursor { batches, batch, keys, position: 0, run }))
    }

    /// Move to the run's next batch; false when the run is done.
    fn next_batch(&mut self, converter: &RowConverter) -> Result<bool, DatasetError> {
        let Some(batch) = self.batches.next().transpose()? else { return Ok(false) };
        self.keys = keys_of(&batch, converter)?;
        self.batch = batch;
        self.position = 0;
        Ok(true)
    }
}

fn keys_of(batch: &RecordBatch, converter: &RowConverter) -> Result<Rows, DatasetError> {
    let columns = SORT_KEY
        .iter()
        .map(|name| {
            batch.column_by_name(name).cloned().ok_or_else(|| DatasetError::Schema(format!("no `{name}` column")))
        })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    Ok(converter.convert_columns(&columns)?)
}

/// Order of two cursors' current rows; equal keys by run, earlier first.
fn compare(cursors: &[RunCursor], a: usize, b: usize) -> std::cmp::Ordering {
    let (a, b) = (&cursors[a], &cursors[b]);
    a.keys.row(a.position).cmp(&b.keys.row(b.position)).then(a.run.cmp(&b.run))
}

/// One batch of the picked (cursor, row) pairs, in pick order.
fn interleave_rows(cursors: &[RunCursor], picks: &[(usize, usize)]) -> Result<RecordBatch, DatasetError> {
    let schema = packet_schema();
    let columns = (0..schema.fields().len())
        .map(|column| {
            let arrays: Vec<&dyn arrow::array::Array> =
                cursors.iter().map(|cursor| cursor.batch.column(column).as_ref()).collect();
            interleave(&arrays, picks)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}
