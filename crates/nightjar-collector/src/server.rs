//! The HTTP(S) server: `/v1/batches`, `/v1/heartbeat`, `/healthz`, `/metrics`.
//!
//! Every answer follows `schemas/wire-protocol-v1.md`: a JSON body with a
//! `status` and a `message` that says why, and the status code that tells a
//! sensor what to do next.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use nightjar_record::wire::{
    CONTENT_TYPE, ENCODING_ZSTD, HEADER_BATCH_SEQ, HEADER_SCHEMA_VERSION, HEADER_SENSOR, WIRE_SCHEMA_VERSION, WireError,
};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::config::Limits;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::store::{Store, StoreError, Stored, Upload};
use crate::tokens::TokenDirectory;

/// Seconds a sensor is told to wait when the collector is busy or cannot write.
const RETRY_AFTER_S: u64 = 30;

/// How long an upload may wait for a storing slot before `429`.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

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
    /// False after a failed write until the next successful one.
    pub healthy: AtomicBool,
}

/// The router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = usize::try_from(state.limits.max_body_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route("/v1/batches", post(upload))
        .route("/v1/heartbeat", post(heartbeat))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

fn answer(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let mut response = (status, axum::Json(json!({"status": kind, "message": message.into()}))).into_response();
    if matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
    }
    response
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Why a request's token was not accepted.
#[derive(Clone, Copy, Debug)]
enum AuthFailure {
    Missing,
    Unknown,
    ListUnreadable,
}

impl AuthFailure {
    fn answer(self) -> Response {
        match self {
            AuthFailure::Missing => {
                answer(StatusCode::UNAUTHORIZED, "unauthorized", "missing `Authorization: Bearer <token>`")
            }
            AuthFailure::Unknown => answer(StatusCode::UNAUTHORIZED, "unauthorized", "unknown or revoked token"),
            AuthFailure::ListUnreadable => {
                answer(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the collector cannot check tokens now")
            }
        }
    }
}

/// The sensor a request's bearer token belongs to.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<String, AuthFailure> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AuthFailure::Missing)?;
    match state.tokens.sensor_for(token.trim()) {
        Ok(Some(sensor)) => Ok(sensor),
        Ok(None) => Err(AuthFailure::Unknown),
        Err(error) => {
            tracing::error!(%error, "cannot read the sensor list");
            Err(AuthFailure::ListUnreadable)
        }
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

async fn upload(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let response = upload_inner(&state, &headers, body).await;
    state.metrics.request("batches", response.status().as_u16());
    response
}

async fn upload_inner(state: &Arc<AppState>, headers: &HeaderMap, body: Body) -> Response {
    let sensor = match authenticate(state, headers) {
        Ok(sensor) => sensor,
        Err(failure) => {
            state.metrics.reject("unauthorized");
            return failure.answer();
        }
    };
    let refuse = |status: StatusCode, kind: &str, message: String| {
        state.metrics.reject(kind);
        state.registry.error(
            &sensor,
            &format!("{} {kind}: {message}", status.as_u16()),
            status.is_client_error(),
            now_s(),
        );
        answer(status, kind, message)
    };
    if header(headers, HEADER_SENSOR) != Some(sensor.as_str()) {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this token belongs to sensor `{sensor}`, not to `{}`",
                header(headers, HEADER_SENSOR).unwrap_or("")
            ),
        );
    }
    if header(headers, header::CONTENT_TYPE.as_str()) != Some(CONTENT_TYPE) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported",
            format!("`Content-Type` must be `{CONTENT_TYPE}`"),
        );
    }
    let zstd = match header(headers, header::CONTENT_ENCODING.as_str()) {
        None | Some("identity") => false,
        Some(ENCODING_ZSTD) => true,
        Some(other) => {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported",
                format!("`Content-Encoding: {other}` is not supported; use `zstd` or none"),
            );
        }
    };
    if header(headers, HEADER_SCHEMA_VERSION) != Some(WIRE_SCHEMA_VERSION.to_string().as_str()) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported",
            format!("`Nightjar-Schema-Version` must be {WIRE_SCHEMA_VERSION}"),
        );
    }
    let Some(batch_seq) = header(headers, HEADER_BATCH_SEQ).and_then(|v| v.parse::<u64>().ok()) else {
        return refuse(StatusCode::BAD_REQUEST, "invalid", "`Nightjar-Batch-Seq` must be a decimal u64".into());
    };
    let limit = usize::try_from(state.limits.max_body_bytes).unwrap_or(usize::MAX);
    let body = match tokio::time::timeout(Duration::from_secs(state.limits.body_timeout_s), to_bytes(body, limit)).await
    {
        Err(_) => return refuse(StatusCode::REQUEST_TIMEOUT, "timeout", "the body did not arrive in time".into()),
        Ok(Err(error)) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|s| s.is::<axum::extract::rejection::LengthLimitError>())
                || error.to_string().contains("length limit");
            return if too_large {
                let mut response = refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("the body exceeds {} bytes", state.limits.max_body_bytes),
                );
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                response
            } else {
                refuse(StatusCode::BAD_REQUEST, "invalid", format!("reading the body: {error}"))
            };
        }
        Ok(Ok(body)) => body,
    };
    state.metrics.bytes_received.inc_by(body.len() as u64);

    let Ok(Ok(permit)) = tokio::time::timeout(QUEUE_WAIT, state.storing.acquire()).await.map(|p| p.map_err(|_| ()))
    else {
        return refuse(StatusCode::TOO_MANY_REQUESTS, "slow_down", "the collector is busy; retry later".into());
    };
    let store = Arc::clone(&state.store);
    let sensor_for_task = sensor.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let upload = Upload {
            sensor: &sensor_for_task,
            batch_seq,
            body: &body,
            zstd,
            now_us: chrono::Utc::now().timestamp_micros(),
        };
        store.store(&upload)
    })
    .await;
    drop(permit);
    match outcome {
        Ok(Ok(Stored::New { rows })) => {
            state.healthy.store(true, Ordering::Release);
            state.metrics.batches_stored.inc();
            state.metrics.rows_stored.inc_by(rows);
            state.registry.batch(&sensor, rows, false, now_s());
            (StatusCode::OK, axum::Json(json!({"status": "stored", "rows": rows, "message": "stored"}))).into_response()
        }
        Ok(Ok(Stored::Duplicate)) => {
            state.metrics.duplicates.inc();
            state.registry.batch(&sensor, 0, true, now_s());
            (StatusCode::OK, axum::Json(json!({"status": "duplicate", "message": "this batch was stored before"})))
                .into_response()
        }
        Ok(Err(StoreError::Wire(error))) => {
            let (status, kind) = match &error {
                WireError::Unreadable(_) => (StatusCode::BAD_REQUEST, "invalid"),
                WireError::DecompressedTooLarge { .. } | WireError::TooManyRows { .. } => {
                    (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
                }
                WireError::Schema(_) | WireError::Row { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "rejected"),
            };
            refuse(status, kind, error.to_string())
        }
        Ok(Err(StoreError::Unavailable(message))) => {
            state.healthy.store(false, Ordering::Release);
            tracing::error!(%sensor, batch_seq, %message, "cannot store a batch");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
        Ok(Err(error @ StoreError::Enrich(_))) => {
            tracing::error!(%sensor, batch_seq, %error, "enrichment failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "error", error.to_string())
        }
        Err(join_error) => {
            tracing::error!(%sensor, batch_seq, %join_error, "storing task failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "error", "internal error while storing".into())
        }
    }
}

async fn heartbeat(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let response = match authenticate(&state, &headers) {
        Err(failure) => failure.answer(),
        Ok(sensor) => match to_bytes(body, 64 * 1024).await.ok().and_then(|b| serde_json::from_slice(&b).ok()) {
            Some(value) => {
                state.metrics.heartbeats.inc();
                state.registry.heartbeat(&sensor, value, now_s());
                StatusCode::NO_CONTENT.into_response()
            }
            None => {
                answer(StatusCode::BAD_REQUEST, "invalid", "the heartbeat body must be a JSON object of at most 64 KiB")
            }
        },
    };
    state.metrics.request("heartbeat", response.status().as_u16());
    response
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    if state.healthy.load(Ordering::Acquire) {
        (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
    } else {
        answer(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the last write to the dataset failed")
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
