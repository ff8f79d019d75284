//! The Prometheus endpoint: `GET /metrics` in the OpenMetrics text format.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use super::Metrics;
use crate::error::SensorError;

/// Bind the endpoint; the returned listener is served by [`serve`].
pub(crate) async fn bind(address: SocketAddr) -> Result<TcpListener, SensorError> {
    if !address.ip().is_loopback() {
        tracing::warn!(%address, "the metrics endpoint listens beyond loopback and has no authentication");
    }
    TcpListener::bind(address).await.map_err(|source| SensorError::MetricsListen { address, source })
}

/// Serve `/metrics` until the task is dropped.
pub(crate) async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let app = Router::new().route("/metrics", get(render)).with_state(metrics);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the metrics endpoint stopped");
    }
}

async fn render(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], metrics.render())
}
