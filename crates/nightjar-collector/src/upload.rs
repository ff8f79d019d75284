//! `POST /v1/batches`: one upload, from its headers to the answer.
//!
//! In order: the token; the headers (sensor id, content type and encoding, schema version,
//! batch number); room in the buffered-body budget; the body within its deadline and size
//! limit; a storing slot; then the store's exactly-once write. Whatever is refused before the
//! body is read has its body drained first, so the sensor reads the answer instead of a broken
//! pipe. Every refusal is counted, logged once and noted in the sensor registry.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nightjar_record::answer::{Answer, AnswerStatus};
use nightjar_record::wire::{
    CONTENT_TYPE, ENCODING_ZSTD, HEADER_BATCH_SEQ, HEADER_SCHEMA_VERSION, HEADER_SENSOR, WIRE_SCHEMA_VERSION, WireError,
};
use tokio::time::Instant;

use nightjar_ops::error_chain;

use crate::auth::authenticate;
use crate::body;
use crate::refusal::{Refusal, client_text};
use crate::server::{AppState, now_s};
use crate::store::{StoreError, Stored, Upload};

/// How long an upload may wait for a storing slot or for room in the body budget.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// The headers of an upload, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadHeaders {
    /// `Nightjar-Batch-Seq`.
    pub batch_seq: u64,
    /// `Content-Encoding: zstd`.
    pub zstd: bool,
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The sensor id an upload names in `Nightjar-Sensor` (empty when there is none).
fn claimed_sensor(headers: &HeaderMap) -> String {
    headers.get(HEADER_SENSOR).map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string()).unwrap_or_default()
}

impl UploadHeaders {
    /// Checks the headers of an upload by `sensor` (the token's).
    pub fn parse(headers: &HeaderMap, sensor: &str) -> Result<UploadHeaders, Refusal> {
        let claimed = claimed_sensor(headers);
        if claimed != sensor {
            return Err(Refusal::wrong_sensor(sensor, &claimed));
        }
        if text(headers, header::CONTENT_TYPE.as_str()) != Some(CONTENT_TYPE) {
            return Err(Refusal::unsupported(format!("`Content-Type` must be `{CONTENT_TYPE}`")));
        }
        let zstd = match text(headers, header::CONTENT_ENCODING.as_str()) {
            None | Some("identity") => false,
            Some(ENCODING_ZSTD) => true,
            Some(other) => {
                return Err(Refusal::unsupported(format!(
                    "`Content-Encoding: {}` is not supported; use `zstd` or none",
                    client_text(other)
                )));
            }
        };
        if text(headers, HEADER_SCHEMA_VERSION) != Some(WIRE_SCHEMA_VERSION.to_string().as_str()) {
            return Err(Refusal::unsupported(format!("`Nightjar-Schema-Version` must be {WIRE_SCHEMA_VERSION}")));
        }
        let batch_seq = text(headers, HEADER_BATCH_SEQ)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| Refusal::invalid("`Nightjar-Batch-Seq` must be a decimal u64"))?;
        Ok(UploadHeaders { batch_seq, zstd })
    }
}

/// The handler.
pub async fn upload(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let response = match handle(&state, &headers, body).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    };
    state.metrics.request("batches", response.status().as_u16());
    state.metrics.upload_answered(started.elapsed());
    response
}

/// A refusal for `sensor`: counted, logged, noted in the registry.
fn refused(state: &AppState, sensor: &str, batch_seq: Option<u64>, refusal: Refusal) -> Refusal {
    state.metrics.reject(refusal.kind.as_str());
    let code = refusal.status.as_u16();
    state.registry.error(
        sensor,
        &format!("{code} {}: {}", refusal.kind, refusal.message),
        refusal.status.is_client_error(),
        now_s(),
    );
    if refusal.status.is_server_error() {
        tracing::error!(sensor, batch_seq, status = code, kind = refusal.kind.as_str(), message = %refusal.message, "upload not stored");
    } else {
        tracing::warn!(sensor, batch_seq, status = code, kind = refusal.kind.as_str(), message = %refusal.message, "upload refused");
    }
    refusal
}

/// Drains the unread body of a refused upload (so the client can read the answer) and refuses.
async fn refuse_unread(state: &AppState, body: Body, refusal: Refusal) -> Refusal {
    let limits = &state.limits;
    let drained = body::drain(body, limits.max_body_bytes, Duration::from_secs(limits.body_timeout_s)).await;
    if !drained {
        state.metrics.connections.close("refused_body_not_drained");
    }
    refusal
}

async fn handle(state: &Arc<AppState>, headers: &HeaderMap, body: Body) -> Result<Response, Refusal> {
    let sensor = match authenticate(state, headers) {
        Ok(sensor) => sensor,
        Err(failure) => {
            state.metrics.reject("unauthorized");
            state.unauthorized_log.run(|suppressed| {
                tracing::warn!(reason = failure.reason(), suppressed, "upload refused: no valid token");
            });
            return Err(refuse_unread(state, body, failure.refusal()).await);
        }
    };
    let limits = state.limits;
    let upload = match UploadHeaders::parse(headers, &sensor) {
        Ok(upload) => upload,
        Err(refusal) => {
            if refusal.status == StatusCode::FORBIDDEN {
                let claimed = claimed_sensor(headers);
                state.registry.refused(&sensor, &client_text(&claimed), &refusal.message, now_s());
            }
            let refusal = refused(state, &sensor, None, refusal);
            return Err(refuse_unread(state, body, refusal).await);
        }
    };
    let batch_seq = Some(upload.batch_seq);
    let declared = body::content_length(headers);
    if let Some(length) = declared
        && length > limits.max_body_bytes
    {
        return Err(refused(state, &sensor, batch_seq, body::too_large(limits.max_body_bytes)));
    }
    let room_needed = declared.unwrap_or(limits.max_body_bytes);
    if !state.body_budget.fits_now(room_needed) {
        state.metrics.connections.budget("waited");
    }
    let Some(_room) = state.body_budget.reserve(room_needed, QUEUE_WAIT).await else {
        state.metrics.connections.budget("refused");
        let refusal = Refusal::unavailable("the collector is receiving too many uploads at once; retry later");
        let refusal = refused(state, &sensor, batch_seq, refusal);
        return Err(refuse_unread(state, body, refusal).await);
    };
    let body = body::read(body, limits.max_body_bytes, Duration::from_secs(limits.body_timeout_s))
        .await
        .map_err(|refusal| refused(state, &sensor, batch_seq, refusal))?;
    state.metrics.bytes_received.inc_by(body.len() as u64);

    let Ok(Ok(permit)) = tokio::time::timeout(QUEUE_WAIT, state.storing.acquire()).await else {
        return Err(refused(state, &sensor, batch_seq, Refusal::slow_down("the collector is busy; retry later")));
    };
    let store = Arc::clone(&state.store);
    let sensor_for_task = sensor.clone();
    let stored = tokio::task::spawn_blocking(move || {
        store.store(&Upload {
            sensor: &sensor_for_task,
            batch_seq: upload.batch_seq,
            body: &body,
            zstd: upload.zstd,
            now_us: chrono::Utc::now().timestamp_micros(),
        })
    })
    .await;
    drop(permit);
    match stored {
        Ok(Ok(Stored::New { rows })) => {
            state.set_healthy(true);
            state.metrics.batches_stored.inc();
            state.metrics.rows_stored.inc_by(rows);
            state.registry.batch(&sensor, rows, false, now_s());
            let answer = Answer { rows: Some(rows), ..Answer::new(AnswerStatus::Stored, "stored") };
            Ok((StatusCode::OK, axum::Json(answer)).into_response())
        }
        Ok(Ok(Stored::Duplicate)) => {
            state.metrics.duplicates.inc();
            state.registry.batch(&sensor, 0, true, now_s());
            let answer = Answer::new(AnswerStatus::Duplicate, "this batch was stored before");
            Ok((StatusCode::OK, axum::Json(answer)).into_response())
        }
        Ok(Err(error)) => Err(refused(state, &sensor, batch_seq, store_refusal(state, &sensor, error))),
        Err(join_error) => {
            tracing::error!(sensor, batch_seq, error = %join_error, "storing task failed");
            Err(refused(state, &sensor, batch_seq, Refusal::internal("internal error while storing")))
        }
    }
}

/// The answer to a failed store.
fn store_refusal(state: &AppState, sensor: &str, error: StoreError) -> Refusal {
    match error {
        StoreError::Wire(error) => {
            let message = client_text(&error.to_string());
            match error {
                WireError::Unreadable(_) => Refusal::invalid(message),
                WireError::DecompressedTooLarge { limit } => Refusal::too_large(message, limit),
                WireError::TooManyRows { limit } => Refusal::too_large(message, limit as u64),
                WireError::Schema(_) | WireError::Row { .. } => Refusal::rejected(message),
            }
        }
        StoreError::Conflict { batch_seq } => Refusal::conflict(sensor, batch_seq),
        error @ StoreError::Unavailable(_) => {
            state.set_healthy(false);
            Refusal::unavailable(error_chain(&error))
        }
        error @ StoreError::Enrich(_) => Refusal::internal(error_chain(&error)),
    }
}
