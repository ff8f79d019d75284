//! The spooler thread: number, transform, encode, write.

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use arrow::record_batch::RecordBatch;
use nightjar_ops::error_chain;
use nightjar_record::wire;
use tokio::sync::Notify;

use super::{PrivacyTransform, Stop, StopMode, renumber};
use crate::metrics::Metrics;
use crate::spool::{Push, Spool};

/// Turns closed batches into spool files.
pub(crate) struct Spooler {
    pub(crate) closed: Receiver<RecordBatch>,
    pub(crate) spool: Arc<Spool>,
    pub(crate) privacy: PrivacyTransform,
    pub(crate) zstd_level: i32,
    pub(crate) metrics: Arc<Metrics>,
    /// Woken after every spooled batch.
    pub(crate) uplink: Arc<Notify>,
    pub(crate) stop: Stop,
}

impl Spooler {
    /// Run until the capture thread hangs up (or an abort).
    pub(crate) fn run(self) {
        for batch in self.closed.iter() {
            if self.stop.mode() == StopMode::Abort {
                return;
            }
            spool_batch(&self.spool, &self.privacy, self.zstd_level, &self.metrics, &batch);
            self.uplink.notify_one();
        }
    }
}

/// Number, transform, encode and write one batch. Failures are counted and
/// logged; the rows of a batch that cannot be written are lost, the sensor
/// goes on.
pub(crate) fn spool_batch(
    spool: &Spool,
    privacy: &PrivacyTransform,
    zstd_level: i32,
    metrics: &Metrics,
    batch: &RecordBatch,
) -> Option<u64> {
    let rows = batch.num_rows() as u64;
    let lost = |what: &str, error: &(dyn std::error::Error + 'static), disk_full: bool| {
        let error = error_chain(error);
        metrics.spool_write_errors.inc();
        metrics.spool_write_lost_rows.inc_by(rows);
        if disk_full {
            tracing::error!(rows, error = %error, "spool disk full: {what} failed, these rows are lost; the sensor goes on and retries with the next batch");
        } else {
            tracing::error!(rows, error = %error, "spool: {what} failed, these rows are lost; the sensor goes on");
        }
    };
    let seq = match spool.allocate_seq() {
        Ok(seq) => seq,
        Err(e) => {
            lost("numbering the batch", &e, e.is_disk_full());
            return None;
        }
    };
    let batch = privacy.apply(&renumber(batch, seq));
    let body = match wire::encode(&[batch], zstd_level) {
        Ok(body) => body,
        Err(e) => {
            lost("encoding the batch", &e, false);
            return None;
        }
    };
    match spool.push(seq, rows as u32, body) {
        Ok(Push::Spooled { bytes }) => {
            metrics.spooled_batches.inc();
            metrics.spooled_rows.inc_by(rows);
            metrics.spooled_bytes.inc_by(bytes);
            tracing::debug!(seq, rows, bytes, "batch spooled");
            Some(seq)
        }
        Ok(Push::Dropped) => None,
        Err(e) => {
            lost("writing the batch", &e, e.is_disk_full());
            None
        }
    }
}
