//! The sensor's counters: every event an operator would ask about, in
//! periodic log lines, in the heartbeat, and on an optional Prometheus
//! endpoint.
//!
//! Each counter and gauge components bump is declared once, in the
//! `sensor_series!` list below: a prometheus-client metric in
//! [`Metrics`], a field of [`MetricsSnapshot`], a series under the
//! `nightjar_sensor_` prefix and a heartbeat counter. The capture thread owns
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
    /// Reads from the interface or capture files that failed.
    capture_errors: Counter("capture_errors") = "Failed reads from the interface or capture files";
    /// Frames the kernel dropped because the sensor did not keep up (live ring capture).
    kernel_dropped: Counter("kernel_dropped_frames") = "Frames the kernel dropped because the sensor did not keep up";
    /// Batches closed by the capture thread (by size, age or shutdown).
    batches_closed: Counter("closed_batches") = "Batches closed by size, age or shutdown";
    /// Batches written to the spool.
    spooled_batches: Counter("spooled_batches") = "Batches written to the spool";
    /// Rows written to the spool.
    spooled_rows: Counter("spooled_rows") = "Rows written to the spool";
    /// Bytes written to the spool (batch files, headers included).
    spooled_bytes: Counter("spooled", Bytes) = "Bytes written to the spool";
    /// Batches the spool could not write (disk full, I/O error); their rows are lost.
    spool_write_errors: Counter("spool_write_errors") = "Batches the spool could not write (rows lost)";
    /// Rows lost because the spool could not write them.
    spool_write_lost_rows: Counter("spool_write_lost_rows") = "Rows lost to spool write errors";
    /// Batches dropped, oldest first, to keep the spool within `spool.max_bytes`.
    dropped_spool_full_batches: Counter("dropped_spool_full_batches") =
        "Oldest batches dropped to keep the spool within its bound";
    /// Rows in those batches.
    dropped_spool_full_rows: Counter("dropped_spool_full_rows") = "Rows in batches dropped because the spool was full";
    /// Spool files found corrupt (bad checksum, wrong length, another sensor's)
    /// and moved to `quarantine/`.
    quarantined_batches: Counter("quarantined_batches") = "Corrupt spool files moved to quarantine/";
    /// Half-written temporary files found and removed at start (a crash during a write).
    torn_temp_files: Counter("torn_temp_files") = "Half-written spool files removed at start";
    /// Batches the collector acknowledged as stored.
    uploaded_batches: Counter("uploaded_batches") = "Batches the collector stored";
    /// Rows in those batches.
    uploaded_rows: Counter("uploaded_rows") = "Rows in batches the collector stored";
    /// Batches the collector acknowledged as duplicates (stored before).
    duplicate_batches: Counter("duplicate_batches") = "Batches the collector acknowledged as already stored";
    /// Upload attempts that failed and will be retried.
    upload_retries: Counter("upload_retries") = "Upload attempts that failed and are retried";
    /// Upload attempts that got no answer (connection refused or reset, TLS
    /// failure, timeout); part of `upload_retries`.
    upload_send_errors: Counter("upload_send_errors") =
        "Upload attempts that got no answer (connection refused or reset, TLS failure, timeout)";
    /// Times the uplink moved on to the next configured collector after an
    /// upload failed (only with several `uplink.url`s).
    collector_failovers: Counter("collector_failovers") =
        "Times batches moved on to the next configured collector after a failed upload";
    /// Uploads answered 409: the collector holds a different batch under the
    /// same (sensor, batch_seq); the uplink stops.
    upload_conflicts: Counter("upload_conflicts") =
        "Uploads answered 409: the collector holds a different batch under the same sequence number";
    /// 1 once the uplink stopped after a conflict (until restart).
    uplink_stopped: Gauge("uplink_stopped") =
        "1 when uploading stopped after a conflict (the operator must act), else 0";
    /// Batches the collector rejected for good, moved to `rejected/`.
    rejected_batches: Counter("rejected_batches") = "Batches the collector rejected for good (moved to rejected/)";
    /// Rows in those batches.
    rejected_rows: Counter("rejected_rows") = "Rows in rejected batches";
    /// Batches split in two after the collector answered 413.
    split_batches: Counter("split_batches") = "Batches split after a 413 answer";
    /// Heartbeats the collector accepted.
    heartbeats_sent: Counter("heartbeats_sent") = "Heartbeats the collector accepted";
    /// Heartbeats that failed.
    heartbeat_failures: Counter("heartbeat_failures") = "Heartbeats that failed";
    /// Batches in the spool.
    spool_batches: Gauge("spool_batches") = "Batches waiting in the spool";
    /// Bytes in the spool.
    spool_bytes: Gauge("spool", Bytes) = "Bytes waiting in the spool";
    /// The next batch sequence number.
    next_batch_seq: Gauge("next_batch_seq") = "The next batch sequence number";
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
