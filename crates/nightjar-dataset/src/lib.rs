//! The Nightjar dataset on disk: Parquet files of packet records in
//! hive-style day partitions, committed atomically.
//!
//! # Layout
//!
//! ```text
//! DATASET/
//!   day=2026-11-22/
//!     part-<writer>-<n>.parquet      committed files, never modified again
//!   _inprogress/
//!     <writer>-<n>.2026-11-22.parquet      files being written (readers skip `_` folders)
//!     <writer>-<n>.2026-11-22.runs.arrow   sorted runs of a file larger than one row group
//! ```
//!
//! A file is written under `_inprogress/`, flushed and fsynced, renamed into
//! its partition folder, and the folder is fsynced: a reader (DataFusion,
//! DuckDB, pyarrow, Spark) sees either the whole file or nothing. Files left in
//! `_inprogress/` by a crash are garbage: [`clean_in_progress`] removes them.
//! The partition key `day` is the UTC date of the record's `time`.
//!
//! Files are sorted by country, source and time from first row to last,
//! zstd-compressed with per-column encodings, with page-level statistics and
//! page indexes (so filters on time, addresses, ports and country skip
//! pages), and carry the schema version in their metadata.
//!
//! ```no_run
//! use nightjar_dataset::{PartitionedWriter, WriterOptions};
//! let batch = arrow::record_batch::RecordBatch::new_empty(nightjar_record::packet_schema());
//! let mut writer = PartitionedWriter::new("data", "import-1", WriterOptions::default())?;
//! writer.write(&batch)?;
//! let committed = writer.commit()?;
//! println!("{} files", committed.len());
//! # Ok::<(), nightjar_dataset::DatasetError>(())
//! ```

pub mod compact;
mod error;
mod layout;
mod runs;
mod sort;
pub mod table;
mod writer;

pub use compact::{COMPACT_DIR, CompactOptions, CompactionReport, compact_day, partitions};
pub use error::DatasetError;
pub use layout::{
    DAY_PARTITION_KEY, IN_PROGRESS_DIR, clean_compaction_leftovers, clean_in_progress, day_of_micros, has_partitions,
    partition_dir,
};
pub use table::{AsOf, CommitNote, NewFile, PacketTable, SnapshotFiles, SnapshotStore, TableLocation};
pub use writer::{CommittedFile, PartitionedWriter, PreparedFile, WriterOptions, file_properties, publish};
