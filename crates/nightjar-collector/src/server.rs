//! The HTTP(S) server: `/v1/batches`, `/v1/heartbeat`, `/healthz`, `/metrics`.
//!
//! Every answer follows `schemas/wire-protocol-v1.md`: a JSON body with a
//! `status` and a `message` that says why, and the status code that tells a
//! sensor what to do next — also for unknown paths and methods. The uploads are
//! [`crate::upload`], the heartbeats [`crate::heartbeat`]; the limits on
//! connections are [`crate::connections`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use nightjar_record::answer::{Answer, AnswerStatus};
use tokio::sync::Semaphore;

use crate::body::BodyBudget;
use crate::config::Limits;
use crate::metrics::Metrics;
use crate::rate_limited::RateLimited;
pub use crate::refusal::RETRY_AFTER_S;
use crate::refusal::Refusal;
use crate::registry::Registry;
use crate::store::Store;
use crate::tokens::TokenDirectory;

/// What the handlers share.
pub struct AppState {
    /// The exactly-once store.
    pub store: Arc<Store>,
    /// Token checks.
    pub tokens: Arc<TokenDirectory>,
    /// Per-sensor status.
    pub registry: Arc<Registry>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Request limits.
    pub limits: Limits,
    /// Batches being decoded and written at once; the rest wait, then get `429`.
    pub storing: Semaphore,
    /// Request bodies held in memory at once, over all uploads.
    pub body_budget: BodyBudget,
    /// False after a failed write until the next successful one.
    pub healthy: AtomicBool,
    /// Requests without a valid token are logged at most this often (anyone can send them).
    pub unauthorized_log: RateLimited,
}

impl AppState {
    /// Records whether the last write to the dataset succeeded (`/healthz`, `/metrics`).
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Release);
        self.metrics.set_healthy(healthy);
    }
}

/// Unix seconds now.
pub fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = usize::try_from(state.limits.max_body_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route("/v1/batches", post(crate::upload::upload))
        .route("/v1/heartbeat", post(crate::heartbeat::heartbeat))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn not_found(uri: Uri) -> Response {
    Refusal::not_found(uri.path()).into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    Refusal::method_not_allowed(method.as_str(), uri.path()).into_response()
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    if state.healthy.load(Ordering::Acquire) {
        (StatusCode::OK, axum::Json(Answer { status: AnswerStatus::Ok, message: None, rows: None, limit: None }))
            .into_response()
    } else {
        Refusal::unavailable("the last write to the dataset failed").into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
