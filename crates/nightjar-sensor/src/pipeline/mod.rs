//! The pipeline between a packet source and the spool.
//!
//! The capture thread polls the source and runs every frame through
//! [`nightjar_record::Ingest`] (decode, keep dark destinations, drop dark and
//! own sources, classify, append). It closes the open batch when it holds
//! `batch.max_rows` packets or its first packet is `batch.max_age` old, and
//! hands it to the spooler thread, which numbers it (durably), applies the
//! privacy transform, encodes the upload body and writes it to the spool.
//! Encoding and fsync run off the capture thread, so a slow disk delays
//! batches, not packet reads.

mod capture_loop;
mod config;
mod privacy;
mod spooler;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use arrow::array::{ArrayRef, UInt64Array};
use arrow::record_batch::RecordBatch;
use nightjar_record::col;

pub(crate) use capture_loop::{CaptureEnd, CaptureLoop};
pub use config::{BatchConfig, DEFAULT_MAX_ROWS, FilterConfig};
pub use privacy::{DestinationPrivacy, MAX_PAYLOAD_PREFIX, PrivacyConfig, PrivacyTransform};
pub(crate) use spooler::Spooler;

/// How the worker threads are asked to stop.
#[derive(Debug, Default)]
pub(crate) struct StopSignal(AtomicU8);

/// What a stop request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopMode {
    /// Keep going.
    Running,
    /// Close the open batch, spool it, stop.
    Graceful,
    /// Stop now; rows in memory are lost (as in a crash).
    Abort,
}

impl StopSignal {
    pub(crate) fn request(&self, mode: StopMode) {
        let value = match mode {
            StopMode::Running => 0,
            StopMode::Graceful => 1,
            StopMode::Abort => 2,
        };
        self.0.fetch_max(value, Ordering::SeqCst);
    }

    pub(crate) fn mode(&self) -> StopMode {
        match self.0.load(Ordering::Relaxed) {
            0 => StopMode::Running,
            1 => StopMode::Graceful,
            _ => StopMode::Abort,
        }
    }

    pub(crate) fn stopping(&self) -> bool {
        self.mode() != StopMode::Running
    }
}

/// A shared stop signal.
pub(crate) type Stop = Arc<StopSignal>;

/// The batch with every row's `batch_seq` set to `seq`.
pub(crate) fn renumber(batch: &RecordBatch, seq: u64) -> RecordBatch {
    let schema = batch.schema();
    let index = schema.index_of(col::BATCH_SEQ).expect("the packet record schema has batch_seq");
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[index] = Arc::new(UInt64Array::from_value(seq, batch.num_rows()));
    RecordBatch::try_new(schema, columns).expect("batch_seq keeps its type and length")
}

#[cfg(test)]
mod tests;
