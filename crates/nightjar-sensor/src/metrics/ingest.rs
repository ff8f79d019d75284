//! The capture thread's counters: published as a copy at least every read
//! timeout (the frame path pays no atomic operation per packet), read into
//! each snapshot and encoded at each scrape.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use nightjar_packet::SkipReason;
use nightjar_record::IngestCounters;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use super::{MetricsSnapshot, sample_name};

/// An unlabelled series read from a snapshot's capture part: name (before
/// unit and `_total`), unit, type, help, and the field it reads.
struct IngestSeries {
    name: &'static str,
    unit: Option<Unit>,
    kind: MetricType,
    help: &'static str,
    read: fn(&MetricsSnapshot) -> u64,
}

/// Help texts end with a full stop here, as prometheus-client adds one to
/// those of the series registered in `Metrics`.
fn unlabelled() -> [IngestSeries; 5] {
    let counter = |name, help, read| IngestSeries { name, unit: None, kind: MetricType::Counter, help, read };
    [
        IngestSeries {
            name: "uptime",
            unit: Some(Unit::Seconds),
            kind: MetricType::Gauge,
            help: "Seconds since the sensor started.",
            read: |s| s.uptime_s,
        },
        counter("captured_frames", "Frames read from the interface or capture files.", |s| s.captured),
        counter("kept_packets", "Packets kept as records.", |s| s.kept),
        counter("not_ip_frames", "Well-formed frames that carry no IP.", |s| s.not_ip),
        counter("malformed_frames", "Broken frames, all reasons.", |s| s.malformed),
    ]
}

/// `(sample name without the prefix, value)` of the unlabelled capture series.
pub(super) fn named(snapshot: &MetricsSnapshot) -> impl Iterator<Item = (String, u64)> + '_ {
    unlabelled().into_iter().map(|series| (sample_name(series.name, series.unit, series.kind), (series.read)(snapshot)))
}

/// The capture thread's last published counters, and the capture-file
/// records skipped (counted by the replay source, not the frame path).
#[derive(Debug)]
pub(super) struct IngestShared {
    started: Instant,
    counters: Mutex<IngestCounters>,
    capture_skips: Mutex<BTreeMap<&'static str, u64>>,
}

impl Default for IngestShared {
    fn default() -> Self {
        IngestShared { started: Instant::now(), counters: Mutex::default(), capture_skips: Mutex::default() }
    }
}

impl IngestShared {
    /// Replace the published counters with `counters`.
    pub(super) fn publish(&self, counters: &IngestCounters) {
        if let Ok(mut shared) = self.counters.lock() {
            shared.clone_from(counters);
        }
    }

    /// Count a capture-file record skipped for `reason`.
    pub(super) fn capture_skip(&self, reason: &'static str) {
        if let Ok(mut skips) = self.capture_skips.lock() {
            *skips.entry(reason).or_default() += 1;
        }
    }

    /// Set the capture part of `snapshot`: uptime, frames, kept, filtered, skipped.
    pub(super) fn fill(&self, snapshot: &mut MetricsSnapshot) {
        let counters = self.counters.lock().map(|c| c.clone()).unwrap_or_default();
        let mut skipped: BTreeMap<String, u64> =
            counters.skipped.nonzero().map(|(reason, n)| (reason.name().to_string(), n)).collect();
        if let Ok(skips) = self.capture_skips.lock() {
            for (reason, n) in skips.iter() {
                *skipped.entry((*reason).to_string()).or_default() += n;
            }
        }
        snapshot.uptime_s = self.started.elapsed().as_secs();
        snapshot.captured = counters.frames;
        snapshot.kept = counters.kept;
        snapshot.filtered_outside_dark = counters.filtered_outside_dark;
        snapshot.filtered_source_dark = counters.filtered_source_dark;
        snapshot.filtered_own_address = counters.filtered_own_address;
        snapshot.not_ip = counters.skipped.get(SkipReason::NotIp);
        snapshot.malformed = counters.skipped.malformed();
        snapshot.skipped = skipped;
    }
}

impl Collector for IngestShared {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut snapshot = MetricsSnapshot::default();
        self.fill(&mut snapshot);
        for series in unlabelled() {
            let value = (series.read)(&snapshot);
            let mut metric = encoder.encode_descriptor(series.name, series.help, series.unit.as_ref(), series.kind)?;
            match series.kind {
                MetricType::Counter => metric.encode_counter::<NoLabelSet, _, u64>(&value, None)?,
                _ => metric.encode_gauge(&value)?,
            }
        }
        let mut filtered = encoder.encode_descriptor(
            "filtered_packets",
            "Decoded packets not kept, by reason.",
            None,
            MetricType::Counter,
        )?;
        for (reason, value) in [
            ("outside_dark", snapshot.filtered_outside_dark),
            ("source_in_dark", snapshot.filtered_source_dark),
            ("own_address", snapshot.filtered_own_address),
        ] {
            filtered.encode_family(&[("reason", reason)])?.encode_counter::<NoLabelSet, _, u64>(&value, None)?;
        }
        let mut skipped = encoder.encode_descriptor(
            "skipped_frames",
            "Frames and capture records skipped, by reason.",
            None,
            MetricType::Counter,
        )?;
        for (reason, value) in &snapshot.skipped {
            skipped.encode_family(&[("reason", reason.as_str())])?.encode_counter::<NoLabelSet, _, u64>(value, None)?;
        }
        Ok(())
    }
}
