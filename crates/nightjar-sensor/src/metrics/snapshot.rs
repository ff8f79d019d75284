//! What a [`MetricsSnapshot`] is shown as: the heartbeat's counters, the
//! periodic log line, and the summary printed when the sensor stops.

use std::collections::BTreeMap;

use super::{MetricsSnapshot, ingest};
use crate::uplink::Refusal;

impl MetricsSnapshot {
    /// Packets decoded but not kept, all reasons.
    pub fn filtered(&self) -> u64 {
        self.filtered_outside_dark + self.filtered_source_dark + self.filtered_own_address
    }

    /// Requests the collector refused (401, 403), uploads and heartbeats.
    pub fn refused(&self) -> u64 {
        self.refusals().iter().map(|(_, _, count)| count).sum()
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

    /// Flat `name → value` pairs: the heartbeat's `counters` object, named
    /// as the Prometheus samples without their `nightjar_sensor_` prefix.
    pub fn flat(&self) -> BTreeMap<String, u64> {
        let mut out: BTreeMap<String, u64> = self.declared().into_iter().chain(ingest::named(self)).collect();
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

    /// The table `nightjar sensor` prints when it stops, one line per count
    /// with its details in brackets.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line(format!("sensor stopped after {}s", self.uptime_s));
        line(format!("frames captured    {:>12}", self.captured));
        line(format!("kernel dropped     {:>12}", self.kernel_dropped));
        line(format!("packets kept       {:>12}", self.kept));
        line(format!("filtered           {:>12}", self.filtered()));
        line(format!("  outside dark     {:>12}", self.filtered_outside_dark));
        line(format!("  source in dark   {:>12}", self.filtered_source_dark));
        line(format!("  own address      {:>12}", self.filtered_own_address));
        line(format!("not IP             {:>12}", self.not_ip));
        line(format!("malformed          {:>12}", self.malformed));
        for (reason, count) in &self.skipped {
            line(format!("  {reason:<28} {count:>12}"));
        }
        line(format!("batches spooled    {:>12} ({} rows)", self.spooled_batches, self.spooled_rows));
        line(format!(
            "batches uploaded   {:>12} ({} rows, {} duplicate)",
            self.uploaded_batches, self.uploaded_rows, self.duplicate_batches
        ));
        line(format!(
            "upload retries     {:>12} ({} without an answer, {} collector failovers)",
            self.upload_retries, self.upload_send_errors, self.collector_failovers
        ));
        line(format!(
            "refused by collector{:>11} (uploads: {} unauthorized, {} forbidden; heartbeats: {} unauthorized, {} forbidden)",
            self.refused(),
            self.refused_batches_unauthorized,
            self.refused_batches_forbidden,
            self.refused_heartbeats_unauthorized,
            self.refused_heartbeats_forbidden
        ));
        let stopped =
            if self.uplink_stopped > 0 { " (uploading stopped: sequence numbers reused; see the log)" } else { "" };
        line(format!("upload conflicts   {:>12}{stopped}", self.upload_conflicts));
        line(format!("batches rejected   {:>12} ({} rows)", self.rejected_batches, self.rejected_rows));
        line(format!(
            "dropped, spool full{:>12} ({} rows)",
            self.dropped_spool_full_batches, self.dropped_spool_full_rows
        ));
        line(format!("spool write errors {:>12} ({} rows lost)", self.spool_write_errors, self.spool_write_lost_rows));
        line(format!("quarantined        {:>12}", self.quarantined_batches));
        line(format!("left in spool      {:>12} ({} bytes)", self.spool_batches, self.spool_bytes));
        out
    }
}
