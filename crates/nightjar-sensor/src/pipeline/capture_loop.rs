//! The capture thread: source → per-frame path → closed batches.

use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use nightjar_record::Ingest;

use super::{BatchConfig, Stop, StopMode};
use crate::capture::{FrameSource, Polled};
use crate::metrics::Metrics;

/// Frames between two looks at the clock while traffic flows.
const CLOCK_EVERY: u32 = 256;
/// Longest gap between two publications of the per-frame counters.
const PUBLISH_EVERY: Duration = Duration::from_millis(200);
/// Shortest gap between two log lines about read errors.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(10);

/// How the capture thread ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CaptureEnd {
    /// The source has no more frames (replay finished).
    SourceEnded,
    /// A stop was requested.
    Stopped,
}

/// The capture thread's state.
pub(crate) struct CaptureLoop {
    pub(crate) source: Box<dyn FrameSource>,
    pub(crate) ingest: Ingest,
    pub(crate) batch: BatchConfig,
    pub(crate) sensor: String,
    pub(crate) closed: SyncSender<RecordBatch>,
    pub(crate) stop: Stop,
    pub(crate) metrics: Arc<Metrics>,
}

impl CaptureLoop {
    /// Run until the source ends or a stop is requested.
    pub(crate) fn run(mut self) -> CaptureEnd {
        tracing::info!(source = %self.source.describe(), "capturing");
        let mut opened_at: Option<Instant> = None;
        let mut since_clock = 0u32;
        let mut published = Instant::now();
        let mut last_error_log: Option<Instant> = None;
        let mut errors_unlogged = 0u64;
        let end = loop {
            match self.stop.mode() {
                StopMode::Running => {}
                StopMode::Graceful => break CaptureEnd::Stopped,
                StopMode::Abort => {
                    self.metrics.publish_ingest(self.ingest.counters());
                    return CaptureEnd::Stopped;
                }
            }
            let mut look_at_clock = false;
            match self.source.poll() {
                Polled::Frame { timestamp_ns, link, data } => {
                    self.ingest.push(timestamp_ns, link, data);
                    since_clock += 1;
                    if since_clock >= CLOCK_EVERY {
                        look_at_clock = true;
                    }
                }
                Polled::Skipped(reason) => self.metrics.capture_skip(reason),
                Polled::Idle => look_at_clock = true,
                Polled::Error(message) => {
                    self.metrics.capture_errors.inc();
                    errors_unlogged += 1;
                    if last_error_log.is_none_or(|t| t.elapsed() >= ERROR_LOG_EVERY) {
                        tracing::error!(errors = errors_unlogged, error = %message, "capture read failed; going on");
                        last_error_log = Some(Instant::now());
                        errors_unlogged = 0;
                    }
                    look_at_clock = true;
                }
                Polled::End => break CaptureEnd::SourceEnded,
            }
            let pending = self.ingest.pending();
            if pending > 0 && opened_at.is_none() {
                opened_at = Some(Instant::now());
            }
            if pending >= self.batch.max_rows {
                if !self.close_batch() {
                    return CaptureEnd::Stopped;
                }
                opened_at = None;
            }
            if look_at_clock {
                since_clock = 0;
                if opened_at.is_some_and(|t| t.elapsed() >= self.batch.max_age) {
                    if !self.close_batch() {
                        return CaptureEnd::Stopped;
                    }
                    opened_at = None;
                }
                if published.elapsed() >= PUBLISH_EVERY {
                    self.publish_kernel_drops();
                    self.metrics.publish_ingest(self.ingest.counters());
                    published = Instant::now();
                }
            }
        };
        self.close_batch();
        self.publish_kernel_drops();
        self.metrics.publish_ingest(self.ingest.counters());
        tracing::info!(source = %self.source.describe(), ?end, "capture stopped");
        end
    }

    /// Adds what the kernel dropped since the last look to the counters.
    fn publish_kernel_drops(&mut self) {
        if let Some(dropped) = self.source.kernel_drops() {
            self.metrics.kernel_dropped.inc_by(dropped);
        }
    }

    /// Hand the open batch to the spooler; false when the spooler is gone.
    fn close_batch(&mut self) -> bool {
        if self.ingest.pending() == 0 {
            return true;
        }
        // The spooler gives the batch its sequence number.
        let batch = self.ingest.finish_batch(&self.sensor, 0);
        self.metrics.batches_closed.inc();
        self.metrics.publish_ingest(self.ingest.counters());
        if self.closed.send(batch).is_err() {
            tracing::error!("the spooler thread is gone; stopping capture");
            return false;
        }
        true
    }
}
