//! The collector's metrics, exposed at `/metrics` in Prometheus text format.
//!
//! Names follow Prometheus conventions (`nightjar_collector_` prefix, base
//! units, `_total` counters). Labels are bounded: endpoint and status code, a
//! fixed set of reasons, and — for the per-sensor series of
//! [`crate::sensor_metrics`] — the ids of registered sensors only, never an
//! address or a string a client made up.
//!
//! `alerts.example.yml` beside this crate's manifest holds alert rules on them.

use std::path::Path;
use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry as MetricsRegistry;

use crate::connections::ConnectionMetrics;
use crate::registry::Registry;
use crate::sensor_metrics::SensorMetrics;

type Labels = Vec<(String, String)>;

/// Registers series of `$metrics` under `$registry`, one row each:
/// `field => "name" [in Unit]: "help"` (a clone of the field: a prometheus-client
/// metric and its clones share one value).
macro_rules! register_series {
    ($registry:expr, $metrics:expr; $($field:ident => $name:literal $(in $unit:ident)?: $help:literal,)+) => {
        $( register_series!(@one $registry, $name, $help, $metrics.$field.clone() $(, $unit)?); )+
    };
    (@one $registry:expr, $name:literal, $help:literal, $metric:expr) => {
        $registry.register($name, $help, $metric)
    };
    (@one $registry:expr, $name:literal, $help:literal, $metric:expr, $unit:ident) => {
        $registry.register_with_unit($name, $help, prometheus_client::registry::Unit::$unit, $metric)
    };
}

pub(crate) use register_series;

/// Upper bounds of the upload duration buckets, seconds: a small batch on a
/// quiet collector takes milliseconds, a 64 MiB one on a loaded disk seconds.
const UPLOAD_BUCKETS_S: [f64; 13] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Every counter a collector operator would ask about.
pub struct Metrics {
    registry: MetricsRegistry,
    /// Requests by endpoint and HTTP status.
    pub requests: Family<Labels, Counter>,
    /// Batches stored.
    pub batches_stored: Counter,
    /// Rows stored.
    pub rows_stored: Counter,
    /// Batches acknowledged as duplicates.
    pub duplicates: Counter,
    /// Refused uploads by reason (the body `status` of the answer).
    pub rejected: Family<Labels, Counter>,
    /// Request body bytes received.
    pub bytes_received: Counter,
    /// Heartbeats received.
    pub heartbeats: Counter,
    /// Seconds from an upload's arrival to its answer.
    pub upload_duration: Histogram,
    /// 1 while the collector can write its dataset, 0 after a failed write
    /// until the next successful one (what `/healthz` answers).
    pub healthy: Gauge,
    /// Connections: open, accepted, refused over a cap, closed by a timeout.
    pub connections: ConnectionMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::build(None)
    }
}

impl Metrics {
    /// The metrics, with per-sensor series read from `registry` at each
    /// scrape for the sensors registered (not revoked) under `state_dir`.
    pub fn with_sensors(registry: Arc<Registry>, state_dir: &Path) -> Metrics {
        Metrics::build(Some(SensorMetrics::new(registry, state_dir)))
    }

    fn build(sensors: Option<SensorMetrics>) -> Metrics {
        let mut root = MetricsRegistry::with_prefix("nightjar");
        let build_info = Family::<Labels, Gauge>::default();
        build_info.get_or_create(&vec![("version".to_string(), env!("CARGO_PKG_VERSION").to_string())]).set(1);
        root.register("build_info", "The running Nightjar version (always 1)", build_info);
        let metrics = Metrics {
            requests: Family::default(),
            batches_stored: Counter::default(),
            rows_stored: Counter::default(),
            duplicates: Counter::default(),
            rejected: Family::default(),
            bytes_received: Counter::default(),
            heartbeats: Counter::default(),
            upload_duration: Histogram::new(UPLOAD_BUCKETS_S),
            healthy: Gauge::default(),
            connections: ConnectionMetrics::default(),
            registry: MetricsRegistry::default(),
        };
        metrics.healthy.set(1);
        let collector = root.sub_registry_with_prefix("collector");
        register_series!(collector, metrics;
            requests => "requests": "HTTP requests by endpoint and status",
            batches_stored => "batches_stored": "Batches stored in the dataset",
            rows_stored => "rows_stored": "Packet records stored in the dataset",
            duplicates => "duplicate_batches": "Repeated batches acknowledged without storing",
            rejected => "rejected_batches": "Uploads refused, by reason",
            bytes_received => "received_bytes": "Request body bytes received",
            heartbeats => "heartbeats": "Sensor heartbeats received",
            upload_duration => "upload_duration" in Seconds: "Time from an upload's arrival to its answer",
            healthy => "healthy": "1 while the dataset can be written, 0 after a failed write until the next successful one",
        );
        metrics.connections.register(collector);
        if let Some(sensors) = sensors {
            collector.register_collector(Box::new(sensors));
        }
        Metrics { registry: root, ..metrics }
    }

    /// Count a request.
    pub fn request(&self, endpoint: &str, status: u16) {
        self.requests
            .get_or_create(&vec![
                ("endpoint".to_string(), endpoint.to_string()),
                ("status".to_string(), status.to_string()),
            ])
            .inc();
    }

    /// Count a refused upload.
    pub fn reject(&self, reason: &str) {
        self.rejected.get_or_create(&vec![("reason".to_string(), reason.to_string())]).inc();
    }

    /// An upload was answered `elapsed` after it arrived.
    pub fn upload_answered(&self, elapsed: std::time::Duration) {
        self.upload_duration.observe(elapsed.as_secs_f64());
    }

    /// Whether the last write to the dataset succeeded.
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.set(i64::from(healthy));
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_info_latency_and_health_are_exposed() {
        let metrics = Metrics::default();
        metrics.upload_answered(std::time::Duration::from_millis(30));
        metrics.set_healthy(false);
        let text = metrics.render();
        let version = env!("CARGO_PKG_VERSION");
        assert!(text.contains(&format!("nightjar_build_info{{version=\"{version}\"}} 1\n")), "{text}");
        assert!(text.contains("nightjar_collector_upload_duration_seconds_bucket{le=\"0.05\"} 1\n"), "{text}");
        assert!(text.contains("nightjar_collector_upload_duration_seconds_count 1\n"), "{text}");
        assert!(text.contains("nightjar_collector_healthy 0\n"), "{text}");
        assert!(text.contains("# TYPE nightjar_collector_rows_stored counter"), "{text}");
    }
}
