//! The sensor's counters: every event an operator would ask about, in
//! periodic log lines, in the heartbeat, and on an optional Prometheus
//! endpoint.
//!
//! Each counter and gauge components bump is declared once, in the
//! `sensor_series!` list below: a prometheus-client metric in
//! [`Metrics`], a field of [`MetricsSnapshot`], a series under the
//! `nightjar_sensor_` prefix (its doc comment's first paragraph is the
//! series' help) and a heartbeat counter. The capture thread owns
//! the per-frame counters and publishes a copy of them at least every read
//! timeout, so the frame path pays no atomic operation per packet; `ingest`
//! reads that copy into snapshots and scrapes.
//!
//! Names follow Prometheus conventions: base units in the name (`_bytes`,
//! `_seconds`, with an OpenMetrics `UNIT`), and `_total` on every counter.

mod config;
mod declare;
mod ingest;
pub(crate) mod server;
mod snapshot;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use nightjar_record::IngestCounters;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};

use crate::uplink::Refusal;
use declare::sensor_series;
use ingest::IngestShared;

pub use config::MetricsConfig;

/// A count that only goes up (`inc`, `inc_by`).
pub type Counter = prometheus_client::metrics::counter::Counter;

/// A value that is set (`set`).
pub type Gauge = prometheus_client::metrics::gauge::Gauge<u64, AtomicU64>;

/// Every series is named `nightjar_sensor_…`.
const PREFIX: &str = "nightjar_sensor";

/// The labels of a collector refusal: request (`batch`, `heartbeat`) and reason.
type RefusalLabels = [(&'static str, &'static str); 2];

/// Every refusal series, in [`MetricsSnapshot`]'s field order.
const REFUSAL_LABELS: [RefusalLabels; 4] = [
    [("request", "batch"), ("reason", "unauthorized")],
    [("request", "batch"), ("reason", "forbidden")],
    [("request", "heartbeat"), ("reason", "unauthorized")],
    [("request", "heartbeat"), ("reason", "forbidden")],
];

sensor_series! {
    /// Failed reads from the interface or capture files.
    capture_errors: Counter("capture_errors");
    /// Frames the kernel dropped because the sensor did not keep up.
    ///
    /// Counted by live ring capture.
    kernel_dropped: Counter("kernel_dropped_frames");
    /// Batches closed by size, age or shutdown.
    ///
    /// Closed by the capture thread.
    batches_closed: Counter("closed_batches");
    /// Batches written to the spool.
    spooled_batches: Counter("spooled_batches");
    /// Rows written to the spool.
    spooled_rows: Counter("spooled_rows");
    /// Bytes written to the spool.
    ///
    /// Batch files, headers included.
    spooled_bytes: Counter("spooled", Bytes);
    /// Batches the spool could not write (rows lost).
    ///
    /// A disk full or an I/O error; their rows are lost.
    spool_write_errors: Counter("spool_write_errors");
    /// Rows lost to spool write errors.
    spool_write_lost_rows: Counter("spool_write_lost_rows");
    /// Oldest batches dropped to keep the spool within its bound.
    ///
    /// The bound is `spool.max_bytes`.
    dropped_spool_full_batches: Counter("dropped_spool_full_batches");
    /// Rows in batches dropped because the spool was full.
    dropped_spool_full_rows: Counter("dropped_spool_full_rows");
    /// Corrupt spool files moved to quarantine/.
    ///
    /// A bad checksum, a wrong length or another sensor's batch.
    quarantined_batches: Counter("quarantined_batches");
    /// Half-written spool files removed at start.
    ///
    /// Temporary files left by a crash during a write.
    torn_temp_files: Counter("torn_temp_files");
    /// Batches the collector stored.
    uploaded_batches: Counter("uploaded_batches");
    /// Rows in batches the collector stored.
    uploaded_rows: Counter("uploaded_rows");
    /// Batches the collector acknowledged as already stored.
    duplicate_batches: Counter("duplicate_batches");
    /// Upload attempts that failed and are retried.
    upload_retries: Counter("upload_retries");
    /// Upload attempts that got no answer (connection refused or reset, TLS failure, timeout).
    ///
    /// Part of `upload_retries`.
    upload_send_errors: Counter("upload_send_errors");
    /// Times batches moved on to the next configured collector after a failed upload.
    ///
    /// Only with several `uplink.url`s.
    collector_failovers: Counter("collector_failovers");
    /// Uploads answered 409: the collector holds a different batch under the same sequence number.
    ///
    /// The uplink stops.
    upload_conflicts: Counter("upload_conflicts");
    /// 1 when uploading stopped after a conflict (the operator must act), else 0.
    ///
    /// Until the sensor restarts.
    uplink_stopped: Gauge("uplink_stopped");
    /// Batches the collector rejected for good (moved to rejected/).
    rejected_batches: Counter("rejected_batches");
    /// Rows in rejected batches.
    rejected_rows: Counter("rejected_rows");
    /// Batches split after a 413 answer.
    ///
    /// Each in two.
    split_batches: Counter("split_batches");
    /// Heartbeats the collector accepted.
    heartbeats_sent: Counter("heartbeats_sent");
    /// Heartbeats that failed.
    heartbeat_failures: Counter("heartbeat_failures");
    /// Batches waiting in the spool.
    spool_batches: Gauge("spool_batches");
    /// Bytes waiting in the spool.
    spool_bytes: Gauge("spool", Bytes);
    /// The next batch sequence number.
    next_batch_seq: Gauge("next_batch_seq");
}

impl Metrics {
    /// Publish the capture thread's per-frame counters.
    pub(crate) fn publish_ingest(&self, counters: &IngestCounters) {
        self.ingest.publish(counters);
    }

    /// Count a capture-file record skipped for `reason`.
    pub(crate) fn capture_skip(&self, reason: &'static str) {
        self.ingest.capture_skip(reason);
    }

    /// Count an upload the collector refused.
    pub(crate) fn batch_refused(&self, refusal: Refusal) {
        self.refusals.get_or_create(&[("request", "batch"), ("reason", refusal.name())]).inc();
    }

    /// Count a heartbeat the collector refused.
    pub(crate) fn heartbeat_refused(&self, refusal: Refusal) {
        self.refusals.get_or_create(&[("request", "heartbeat"), ("reason", refusal.name())]).inc();
    }

    /// Every series in the OpenMetrics text format, names prefixed `nightjar_sensor_`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The name Prometheus shows for a sample of series `name`: the unit after
/// it, and `_total` after a counter's.
fn sample_name(name: &str, unit: Option<Unit>, kind: MetricType) -> String {
    let mut sample = name.to_string();
    if let Some(unit) = unit {
        sample = format!("{sample}_{}", unit.as_str());
    }
    if matches!(kind, MetricType::Counter) {
        sample.push_str("_total");
    }
    sample
}

#[cfg(test)]
mod tests;
