//! `POST /v1/heartbeat`: a sensor says it is alive, and what its capture and spool hold.
//!
//! The body is a JSON object of at most [`MAX_HEARTBEAT_BYTES`], read within the body
//! deadline; its `sensor` must be the token's sensor (a sensor configured with another id
//! than its token's is refused `403` here too, so it cannot look healthy while its uploads
//! are refused).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::auth::authenticate;
use crate::body;
use crate::refusal::{Refusal, client_text};
use crate::server::{AppState, now_s};

/// Largest heartbeat body, bytes.
pub const MAX_HEARTBEAT_BYTES: u64 = 64 * 1024;

/// The handler.
pub async fn heartbeat(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let response = match handle(&state, &headers, body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(refusal) => refusal.into_response(),
    };
    state.metrics.request("heartbeat", response.status().as_u16());
    response
}

async fn handle(state: &AppState, headers: &HeaderMap, body: Body) -> Result<(), Refusal> {
    let deadline = Duration::from_secs(state.limits.body_timeout_s);
    let sensor = match authenticate(state, headers) {
        Ok(sensor) => sensor,
        Err(failure) => {
            state.unauthorized_log.run(|suppressed| {
                tracing::warn!(reason = failure.reason(), suppressed, "heartbeat refused: no valid token");
            });
            body::drain(body, MAX_HEARTBEAT_BYTES, deadline).await;
            return Err(failure.refusal());
        }
    };
    let bytes = body::read(body, MAX_HEARTBEAT_BYTES, deadline).await.inspect_err(|refusal| {
        tracing::warn!(sensor, status = refusal.status.as_u16(), message = %refusal.message, "heartbeat refused");
    })?;
    let value = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(value @ serde_json::Value::Object(_)) => value,
        _ => {
            let refusal = Refusal::invalid(format!(
                "the heartbeat body must be a JSON object of at most {MAX_HEARTBEAT_BYTES} bytes"
            ));
            tracing::warn!(sensor, message = %refusal.message, "heartbeat refused");
            return Err(refusal);
        }
    };
    match value.get("sensor").and_then(|v| v.as_str()) {
        Some(claimed) if claimed == sensor => {}
        claimed => {
            let claimed = client_text(claimed.unwrap_or(""));
            let refusal = Refusal::wrong_sensor(&sensor, &claimed);
            state.registry.refused(&sensor, &claimed, &refusal.message, now_s());
            tracing::warn!(sensor, claimed = %claimed, "heartbeat refused: the token belongs to another sensor");
            return Err(refusal);
        }
    }
    state.metrics.heartbeats.inc();
    state.registry.heartbeat(&sensor, value, now_s());
    Ok(())
}
