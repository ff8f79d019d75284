//! The collector's counters, exposed at `/metrics` in Prometheus text format.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// Every counter a collector operator would ask about. Labels are bounded:
/// endpoint and status code, or a fixed set of reasons — never a sensor id
/// or an address.
pub struct Metrics {
    registry: Registry,
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
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("nightjar_collector");
        let metrics = Metrics {
            requests: Family::default(),
            batches_stored: Counter::default(),
            rows_stored: Counter::default(),
            duplicates: Counter::default(),
            rejected: Family::default(),
            bytes_received: Counter::default(),
            heartbeats: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("requests", "HTTP requests by endpoint and status", metrics.requests.clone());
        registry.register("batches_stored", "Batches stored in the dataset", metrics.batches_stored.clone());
        registry.register("rows_stored", "Packet records stored in the dataset", metrics.rows_stored.clone());
        registry.register(
            "duplicate_batches",
            "Repeated batches acknowledged without storing",
            metrics.duplicates.clone(),
        );
        registry.register("rejected_batches", "Uploads refused, by reason", metrics.rejected.clone());
        registry.register("received_bytes", "Request body bytes received", metrics.bytes_received.clone());
        registry.register("heartbeats", "Sensor heartbeats received", metrics.heartbeats.clone());
        Metrics { registry, ..metrics }
    }
}

impl Metrics {
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

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
