//! The sensor's counters: every event an operator would ask about, in
//! periodic log lines, in the heartbeat, and on an optional Prometheus
//! endpoint.
//!
//! Components bump [`Metrics`] (atomics, shared); readers take a
//! [`MetricsSnapshot`]. The capture thread owns the per-frame counters and
//! publishes a copy of them at least every read timeout, so the frame path
//! pays no atomic operation per packet.

mod config;
pub(crate) mod server;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use nightjar_packet::SkipReason;
use nightjar_record::IngestCounters;

use crate::uplink::Refusal;

pub use config::MetricsConfig;

/// A monotonically increasing count, or a gauge when [`set`](Counter::set).
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Add one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Add `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Set (gauges).
    pub fn set(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The shared counters of one running sensor.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    ingest: Mutex<IngestCounters>,
    capture_skips: Mutex<BTreeMap<&'static str, u64>>,
    /// Reads from the interface or capture files that failed.
    pub capture_errors: Counter,
    /// Frames the kernel dropped because the sensor did not keep up (live ring capture).
    pub kernel_dropped: Counter,
    /// Batches closed by the capture thread (by size, age or shutdown).
    pub batches_closed: Counter,
    /// Batches written to the spool.
    pub spooled_batches: Counter,
    /// Rows written to the spool.
    pub spooled_rows: Counter,
    /// Bytes written to the spool (batch files, headers included).
    pub spooled_bytes: Counter,
    /// Batches the spool could not write (disk full, I/O error); their rows are lost.
    pub spool_write_errors: Counter,
    /// Rows lost because the spool could not write them.
    pub spool_write_lost_rows: Counter,
    /// Batches dropped, oldest first, to keep the spool within `spool.max_bytes`.
    pub dropped_spool_full_batches: Counter,
    /// Rows in those batches.
    pub dropped_spool_full_rows: Counter,
    /// Spool files found corrupt (bad checksum, wrong length, another sensor's)
    /// and moved to `quarantine/`.
    pub quarantined_batches: Counter,
    /// Half-written temporary files found and removed at start (a crash during a write).
    pub torn_temp_files: Counter,
    /// Batches the collector acknowledged as stored.
    pub uploaded_batches: Counter,
    /// Rows in those batches.
    pub uploaded_rows: Counter,
    /// Batches the collector acknowledged as duplicates (stored before).
    pub duplicate_batches: Counter,
    /// Upload attempts that failed and will be retried.
    pub upload_retries: Counter,
    /// Upload attempts that got no answer (connection refused or reset, TLS
    /// failure, timeout); part of `upload_retries`.
    pub upload_send_errors: Counter,
    /// Uploads the collector refused with 401 (unknown or revoked token).
    pub refused_batches_unauthorized: Counter,
    /// Uploads the collector refused with 403 (the token belongs to another sensor id).
    pub refused_batches_forbidden: Counter,
    /// Heartbeats the collector refused with 401.
    pub refused_heartbeats_unauthorized: Counter,
    /// Heartbeats the collector refused with 403.
    pub refused_heartbeats_forbidden: Counter,
    /// Uploads answered 409: the collector holds a different batch under the
    /// same (sensor, batch_seq); the uplink stops.
    pub upload_conflicts: Counter,
    /// Gauge: 1 once the uplink stopped after a conflict (until restart).
    pub uplink_stopped: Counter,
    /// Batches the collector rejected for good, moved to `rejected/`.
    pub rejected_batches: Counter,
    /// Rows in those batches.
    pub rejected_rows: Counter,
    /// Batches split in two after the collector answered 413.
    pub split_batches: Counter,
    /// Heartbeats the collector accepted.
    pub heartbeats_sent: Counter,
    /// Heartbeats that failed.
    pub heartbeat_failures: Counter,
    /// Gauge: batches in the spool.
    pub spool_batches: Counter,
    /// Gauge: bytes in the spool.
    pub spool_bytes: Counter,
    /// Gauge: the next batch sequence number.
    pub next_batch_seq: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            ingest: Mutex::default(),
            capture_skips: Mutex::default(),
            capture_errors: Counter::default(),
            kernel_dropped: Counter::default(),
            batches_closed: Counter::default(),
            spooled_batches: Counter::default(),
            spooled_rows: Counter::default(),
            spooled_bytes: Counter::default(),
            spool_write_errors: Counter::default(),
            spool_write_lost_rows: Counter::default(),
            dropped_spool_full_batches: Counter::default(),
            dropped_spool_full_rows: Counter::default(),
            quarantined_batches: Counter::default(),
            torn_temp_files: Counter::default(),
            uploaded_batches: Counter::default(),
            uploaded_rows: Counter::default(),
            duplicate_batches: Counter::default(),
            upload_retries: Counter::default(),
            upload_send_errors: Counter::default(),
            refused_batches_unauthorized: Counter::default(),
            refused_batches_forbidden: Counter::default(),
            refused_heartbeats_unauthorized: Counter::default(),
            refused_heartbeats_forbidden: Counter::default(),
            upload_conflicts: Counter::default(),
            uplink_stopped: Counter::default(),
            rejected_batches: Counter::default(),
            rejected_rows: Counter::default(),
            split_batches: Counter::default(),
            heartbeats_sent: Counter::default(),
            heartbeat_failures: Counter::default(),
            spool_batches: Counter::default(),
            spool_bytes: Counter::default(),
            next_batch_seq: Counter::default(),
        }
    }
}

impl Metrics {
    /// Publish the capture thread's per-frame counters.
    pub(crate) fn publish_ingest(&self, counters: &IngestCounters) {
        if let Ok(mut shared) = self.ingest.lock() {
            shared.clone_from(counters);
        }
    }

    /// Count an upload the collector refused.
    pub(crate) fn batch_refused(&self, refusal: Refusal) {
        match refusal {
            Refusal::Unauthorized => self.refused_batches_unauthorized.inc(),
            Refusal::Forbidden => self.refused_batches_forbidden.inc(),
        }
    }

    /// Count a heartbeat the collector refused.
    pub(crate) fn heartbeat_refused(&self, refusal: Refusal) {
        match refusal {
            Refusal::Unauthorized => self.refused_heartbeats_unauthorized.inc(),
            Refusal::Forbidden => self.refused_heartbeats_forbidden.inc(),
        }
    }

    /// Count a capture-file record skipped for `reason`.
    pub(crate) fn capture_skip(&self, reason: &'static str) {
        if let Ok(mut skips) = self.capture_skips.lock() {
            *skips.entry(reason).or_default() += 1;
        }
    }

    /// A consistent-enough copy of every counter.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let ingest = self.ingest.lock().map(|c| c.clone()).unwrap_or_default();
        let mut skipped: BTreeMap<String, u64> =
            ingest.skipped.nonzero().map(|(reason, n)| (reason.name().to_string(), n)).collect();
        if let Ok(skips) = self.capture_skips.lock() {
            for (reason, n) in skips.iter() {
                *skipped.entry((*reason).to_string()).or_default() += n;
            }
        }
        let not_ip = ingest.skipped.get(SkipReason::NotIp);
        MetricsSnapshot {
            uptime_s: self.started.elapsed().as_secs(),
            captured: ingest.frames,
            kept: ingest.kept,
            filtered_outside_dark: ingest.filtered_outside_dark,
            filtered_source_dark: ingest.filtered_source_dark,
            filtered_own_address: ingest.filtered_own_address,
            not_ip,
            malformed: ingest.skipped.malformed(),
            skipped,
            capture_errors: self.capture_errors.get(),
            kernel_dropped: self.kernel_dropped.get(),
            batches_closed: self.batches_closed.get(),
            spooled_batches: self.spooled_batches.get(),
            spooled_rows: self.spooled_rows.get(),
            spooled_bytes: self.spooled_bytes.get(),
            spool_write_errors: self.spool_write_errors.get(),
            spool_write_lost_rows: self.spool_write_lost_rows.get(),
            dropped_spool_full_batches: self.dropped_spool_full_batches.get(),
            dropped_spool_full_rows: self.dropped_spool_full_rows.get(),
            quarantined_batches: self.quarantined_batches.get(),
            torn_temp_files: self.torn_temp_files.get(),
            uploaded_batches: self.uploaded_batches.get(),
            uploaded_rows: self.uploaded_rows.get(),
            duplicate_batches: self.duplicate_batches.get(),
            upload_retries: self.upload_retries.get(),
            upload_send_errors: self.upload_send_errors.get(),
            refused_batches_unauthorized: self.refused_batches_unauthorized.get(),
            refused_batches_forbidden: self.refused_batches_forbidden.get(),
            refused_heartbeats_unauthorized: self.refused_heartbeats_unauthorized.get(),
            refused_heartbeats_forbidden: self.refused_heartbeats_forbidden.get(),
            upload_conflicts: self.upload_conflicts.get(),
            uplink_stopped: self.uplink_stopped.get(),
            rejected_batches: self.rejected_batches.get(),
            rejected_rows: self.rejected_rows.get(),
            split_batches: self.split_batches.get(),
            heartbeats_sent: self.heartbeats_sent.get(),
            heartbeat_failures: self.heartbeat_failures.get(),
            spool_batches: self.spool_batches.get(),
            spool_bytes: self.spool_bytes.get(),
            next_batch_seq: self.next_batch_seq.get(),
        }
    }
}

/// Every counter at one moment. Field docs are those of [`Metrics`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct MetricsSnapshot {
    pub uptime_s: u64,
    /// Frames read from the interface or files.
    pub captured: u64,
    /// Records made (destination dark, source neither dark nor own).
    pub kept: u64,
    /// Decoded packets whose destination is outside the dark prefixes.
    pub filtered_outside_dark: u64,
    /// Decoded packets whose source is inside the dark prefixes.
    pub filtered_source_dark: u64,
    /// Decoded packets from the sensor's own addresses.
    pub filtered_own_address: u64,
    /// Well-formed frames that carry no IP (ARP, LLDP…).
    pub not_ip: u64,
    /// Broken frames (every skip reason but `not_ip`).
    pub malformed: u64,
    /// Frames and capture-file records skipped, by reason.
    pub skipped: BTreeMap<String, u64>,
    pub capture_errors: u64,
    pub kernel_dropped: u64,
    pub batches_closed: u64,
    pub spooled_batches: u64,
    pub spooled_rows: u64,
    pub spooled_bytes: u64,
    pub spool_write_errors: u64,
    pub spool_write_lost_rows: u64,
    pub dropped_spool_full_batches: u64,
    pub dropped_spool_full_rows: u64,
    pub quarantined_batches: u64,
    pub torn_temp_files: u64,
    pub uploaded_batches: u64,
    pub uploaded_rows: u64,
    pub duplicate_batches: u64,
    pub upload_retries: u64,
    pub upload_send_errors: u64,
    pub refused_batches_unauthorized: u64,
    pub refused_batches_forbidden: u64,
    pub refused_heartbeats_unauthorized: u64,
    pub refused_heartbeats_forbidden: u64,
    pub upload_conflicts: u64,
    pub uplink_stopped: u64,
    pub rejected_batches: u64,
    pub rejected_rows: u64,
    pub split_batches: u64,
    pub heartbeats_sent: u64,
    pub heartbeat_failures: u64,
    pub spool_batches: u64,
    pub spool_bytes: u64,
    pub next_batch_seq: u64,
}

impl MetricsSnapshot {
    /// Packets decoded but not kept, all reasons.
    pub fn filtered(&self) -> u64 {
        self.filtered_outside_dark + self.filtered_source_dark + self.filtered_own_address
    }

    /// Requests the collector refused (401, 403), uploads and heartbeats.
    pub fn refused(&self) -> u64 {
        self.refused_batches_unauthorized
            + self.refused_batches_forbidden
            + self.refused_heartbeats_unauthorized
            + self.refused_heartbeats_forbidden
    }

    /// `(request, reason, count)` of every refusal series.
    pub fn refusals(&self) -> [(&'static str, &'static str, u64); 4] {
        [
            ("batch", Refusal::Unauthorized.name(), self.refused_batches_unauthorized),
            ("batch", Refusal::Forbidden.name(), self.refused_batches_forbidden),
            ("heartbeat", Refusal::Unauthorized.name(), self.refused_heartbeats_unauthorized),
            ("heartbeat", Refusal::Forbidden.name(), self.refused_heartbeats_forbidden),
        ]
    }

    /// Flat `name → value` pairs: the heartbeat's `counters` object.
    pub fn flat(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (name, _, _, value) in self.scalars() {
            out.insert(name.to_string(), value);
        }
        for (request, reason, value) in self.refusals() {
            out.insert(format!("collector_refusals_{request}_{reason}_total"), value);
        }
        for (reason, n) in &self.skipped {
            out.insert(format!("skipped_{reason}"), *n);
        }
        out
    }

    /// One log-friendly line.
    pub fn log_line(&self) -> String {
        format!(
            "captured={} kernel_dropped={} kept={} filtered={} (outside_dark={} source_dark={} own={}) not_ip={} malformed={} spooled={} uploaded={} duplicate={} retried={} refused={} conflicts={} uplink_stopped={} rejected={} dropped_spool_full={} spool_write_errors={} quarantined={} spool_batches={} spool_bytes={} next_seq={}",
            self.captured,
            self.kernel_dropped,
            self.kept,
            self.filtered(),
            self.filtered_outside_dark,
            self.filtered_source_dark,
            self.filtered_own_address,
            self.not_ip,
            self.malformed,
            self.spooled_batches,
            self.uploaded_batches,
            self.duplicate_batches,
            self.upload_retries,
            self.refused(),
            self.upload_conflicts,
            self.uplink_stopped,
            self.rejected_batches,
            self.dropped_spool_full_batches,
            self.spool_write_errors,
            self.quarantined_batches,
            self.spool_batches,
            self.spool_bytes,
            self.next_batch_seq,
        )
    }

    /// `(name, help, type, value)` of every unlabelled series.
    fn scalars(&self) -> Vec<(&'static str, &'static str, &'static str, u64)> {
        vec![
            ("uptime_seconds", "Seconds since the sensor started.", "gauge", self.uptime_s),
            ("captured_frames_total", "Frames read from the interface or capture files.", "counter", self.captured),
            ("kept_packets_total", "Packets kept as records.", "counter", self.kept),
            ("not_ip_frames_total", "Well-formed frames that carry no IP.", "counter", self.not_ip),
            ("malformed_frames_total", "Broken frames, all reasons.", "counter", self.malformed),
            (
                "capture_errors_total",
                "Failed reads from the interface or capture files.",
                "counter",
                self.capture_errors,
            ),
            (
                "kernel_dropped_frames_total",
                "Frames the kernel dropped because the sensor did not keep up.",
                "counter",
                self.kernel_dropped,
            ),
            ("batches_closed_total", "Batches closed by size, age or shutdown.", "counter", self.batches_closed),
            ("spooled_batches_total", "Batches written to the spool.", "counter", self.spooled_batches),
            ("spooled_rows_total", "Rows written to the spool.", "counter", self.spooled_rows),
            ("spooled_bytes_total", "Bytes written to the spool.", "counter", self.spooled_bytes),
            (
                "spool_write_errors_total",
                "Batches the spool could not write (rows lost).",
                "counter",
                self.spool_write_errors,
            ),
            ("spool_write_lost_rows_total", "Rows lost to spool write errors.", "counter", self.spool_write_lost_rows),
            (
                "dropped_spool_full_batches_total",
                "Oldest batches dropped to keep the spool within its bound.",
                "counter",
                self.dropped_spool_full_batches,
            ),
            (
                "dropped_spool_full_rows_total",
                "Rows in batches dropped because the spool was full.",
                "counter",
                self.dropped_spool_full_rows,
            ),
            (
                "quarantined_batches_total",
                "Corrupt spool files moved to quarantine/.",
                "counter",
                self.quarantined_batches,
            ),
            ("torn_temp_files_total", "Half-written spool files removed at start.", "counter", self.torn_temp_files),
            ("uploaded_batches_total", "Batches the collector stored.", "counter", self.uploaded_batches),
            ("uploaded_rows_total", "Rows in batches the collector stored.", "counter", self.uploaded_rows),
            (
                "duplicate_batches_total",
                "Batches the collector acknowledged as already stored.",
                "counter",
                self.duplicate_batches,
            ),
            ("upload_retries_total", "Upload attempts that failed and are retried.", "counter", self.upload_retries),
            (
                "upload_send_errors_total",
                "Upload attempts that got no answer (connection refused or reset, TLS failure, timeout).",
                "counter",
                self.upload_send_errors,
            ),
            (
                "upload_conflicts_total",
                "Uploads answered 409: the collector holds a different batch under the same sequence number.",
                "counter",
                self.upload_conflicts,
            ),
            (
                "uplink_stopped",
                "1 when uploading stopped after a conflict (the operator must act), else 0.",
                "gauge",
                self.uplink_stopped,
            ),
            (
                "rejected_batches_total",
                "Batches the collector rejected for good (moved to rejected/).",
                "counter",
                self.rejected_batches,
            ),
            ("rejected_rows_total", "Rows in rejected batches.", "counter", self.rejected_rows),
            ("split_batches_total", "Batches split after a 413 answer.", "counter", self.split_batches),
            ("heartbeats_sent_total", "Heartbeats the collector accepted.", "counter", self.heartbeats_sent),
            ("heartbeat_failures_total", "Heartbeats that failed.", "counter", self.heartbeat_failures),
            ("spool_batches", "Batches waiting in the spool.", "gauge", self.spool_batches),
            ("spool_bytes", "Bytes waiting in the spool.", "gauge", self.spool_bytes),
            ("next_batch_seq", "The next batch sequence number.", "gauge", self.next_batch_seq),
        ]
    }

    /// Prometheus text exposition format 0.0.4, names prefixed `nightjar_sensor_`.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        for (name, help, kind, value) in self.scalars() {
            let _ = writeln!(out, "# HELP nightjar_sensor_{name} {help}\n# TYPE nightjar_sensor_{name} {kind}");
            let _ = writeln!(out, "nightjar_sensor_{name} {value}");
        }
        let family = "nightjar_sensor_filtered_packets_total";
        let _ = writeln!(out, "# HELP {family} Decoded packets not kept, by reason.\n# TYPE {family} counter");
        for (reason, value) in [
            ("outside_dark", self.filtered_outside_dark),
            ("source_in_dark", self.filtered_source_dark),
            ("own_address", self.filtered_own_address),
        ] {
            let _ = writeln!(out, "{family}{{reason=\"{reason}\"}} {value}");
        }
        let family = "nightjar_sensor_collector_refusals_total";
        let _ = writeln!(
            out,
            "# HELP {family} Requests the collector refused (401 unauthorized, 403 forbidden), by request and reason.\n# TYPE {family} counter"
        );
        for (request, reason, value) in self.refusals() {
            let _ = writeln!(out, "{family}{{request=\"{request}\",reason=\"{reason}\"}} {value}");
        }
        let family = "nightjar_sensor_skipped_frames_total";
        let _ =
            writeln!(out, "# HELP {family} Frames and capture records skipped, by reason.\n# TYPE {family} counter");
        for (reason, value) in &self.skipped {
            let _ = writeln!(out, "{family}{{reason=\"{reason}\"}} {value}");
        }
        out
    }
}
