//! What happens to connections, as `/metrics` series.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry as MetricsRegistry;

use crate::metrics::register_series;

type Labels = Vec<(String, String)>;

/// What happens to connections, for `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct ConnectionMetrics {
    /// Connections open now.
    pub open: Gauge,
    /// Connections accepted under the caps.
    pub accepted: Counter,
    /// Connections refused, by the cap they hit.
    pub refused: Family<Labels, Counter>,
    /// Connections closed by the collector, by reason (idle, TLS handshake, an unread body).
    pub closed: Family<Labels, Counter>,
    /// Uploads that found the buffered-body budget full, by outcome (waited, refused).
    pub body_budget: Family<Labels, Counter>,
}

impl ConnectionMetrics {
    /// Registers every series under `registry`.
    pub fn register(&self, registry: &mut MetricsRegistry) {
        register_series!(registry, self;
            open => "connections_open": "Connections open now",
            accepted => "connections_accepted": "Connections accepted",
            refused => "connections_refused": "Connections refused over a cap, by cap",
            closed => "connections_closed": "Connections closed by the collector, by reason",
            body_budget => "body_budget_full": "Uploads that found the buffered-body budget full, by outcome (waited, refused)",
        );
    }

    /// Count a connection refused over `cap`.
    pub fn refuse(&self, cap: &str) {
        self.refused.get_or_create(&vec![("cap".to_string(), cap.to_string())]).inc();
    }

    /// Count a connection the collector closed for `reason`.
    pub fn close(&self, reason: &str) {
        self.closed.get_or_create(&vec![("reason".to_string(), reason.to_string())]).inc();
    }

    /// Count an upload that found the body budget full (`waited` or `refused`).
    pub fn budget(&self, outcome: &str) {
        self.body_budget.get_or_create(&vec![("outcome".to_string(), outcome.to_string())]).inc();
    }
}
