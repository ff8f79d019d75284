//! Why a request was not accepted, as the answer the wire protocol prescribes.
//!
//! Every refusal is one [`Refusal`]: its HTTP status, the body's `status` word and a message
//! that says what to fix. Text that came from the client (a header value, a column name, what
//! Arrow said about the body) goes through [`client_text`] first, so an answer, a log line or the
//! sensor registry never carries more than a bounded, printable echo of it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nightjar_record::answer::{Answer, AnswerStatus};

/// Seconds a sensor is told to wait when the collector is busy or cannot write.
pub const RETRY_AFTER_S: u64 = 30;

/// The most characters of client-supplied text echoed anywhere.
pub const MAX_ECHO_CHARS: usize = 200;

/// `text` made safe to echo: control and reordering characters written as escapes, and at
/// most [`MAX_ECHO_CHARS`] characters (see [`crate::printable`]).
pub fn client_text(text: &str) -> String {
    crate::printable::printable(text, MAX_ECHO_CHARS)
}

/// A request the collector will not act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body's `status` word (`invalid`, `forbidden`, …) of the wire protocol.
    pub kind: AnswerStatus,
    /// What was wrong, with client text already passed through [`client_text`].
    pub message: String,
    /// The limit that was exceeded, for `413`.
    pub limit: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, kind: AnswerStatus, message: impl Into<String>) -> Self {
        Refusal { status, kind, message: message.into(), limit: None }
    }

    /// `400 invalid`: the request is malformed.
    pub fn invalid(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::BAD_REQUEST, AnswerStatus::Invalid, message)
    }

    /// `401 unauthorized`: no usable token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::UNAUTHORIZED, AnswerStatus::Unauthorized, message)
    }

    /// `403 forbidden`: the token belongs to another sensor than the one named.
    pub fn wrong_sensor(token_sensor: &str, claimed: &str) -> Self {
        Refusal::new(
            StatusCode::FORBIDDEN,
            AnswerStatus::Forbidden,
            format!(
                "this token belongs to sensor `{token_sensor}`, not to `{}`: set `sensor.id` to the id the token \
                 was issued for, or issue a token for this id",
                client_text(claimed)
            ),
        )
    }

    /// `404 not_found`.
    pub fn not_found(path: &str) -> Self {
        Refusal::new(
            StatusCode::NOT_FOUND,
            AnswerStatus::NotFound,
            format!(
                "no endpoint `{}`; the collector serves POST /v1/batches, POST /v1/heartbeat, GET /healthz and GET /metrics",
                client_text(path)
            ),
        )
    }

    /// `405 method_not_allowed`.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            AnswerStatus::MethodNotAllowed,
            format!("`{}` is not allowed on `{}`", client_text(method), client_text(path)),
        )
    }

    /// `408 timeout`: the body did not arrive in time.
    pub fn timeout(seconds: u64) -> Self {
        Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            AnswerStatus::Timeout,
            format!("the body did not arrive within {seconds} s"),
        )
    }

    /// `409 conflict`: another body was stored under this batch number.
    pub fn conflict(sensor: &str, batch_seq: u64) -> Self {
        Refusal::new(
            StatusCode::CONFLICT,
            AnswerStatus::Conflict,
            format!(
                "sensor `{sensor}` already stored a different batch under sequence number {batch_seq}; its sequence \
                 numbers were reset or reused, so later batches would be lost as duplicates: stop the sensor and \
                 restore its spool folder (with its sequence file) before uploading again"
            ),
        )
    }

    /// `413 too_large`, naming the limit.
    pub fn too_large(message: impl Into<String>, limit: u64) -> Self {
        Refusal { limit: Some(limit), ..Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, AnswerStatus::TooLarge, message) }
    }

    /// `415 unsupported`.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, AnswerStatus::Unsupported, message)
    }

    /// `422 rejected`: readable, but not acceptable content.
    pub fn rejected(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, AnswerStatus::Rejected, message)
    }

    /// `429 slow_down`.
    pub fn slow_down(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::TOO_MANY_REQUESTS, AnswerStatus::SlowDown, message)
    }

    /// `503 unavailable`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, AnswerStatus::Unavailable, message)
    }

    /// `500 error`.
    pub fn internal(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, AnswerStatus::Error, message)
    }

    /// Whether the client is told to close the connection (its body was not read).
    fn closes(&self) -> bool {
        self.status == StatusCode::PAYLOAD_TOO_LARGE
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let closes = self.closes();
        let answer = Answer { limit: self.limit, ..Answer::new(self.kind, self.message) };
        let mut response = (self.status, axum::Json(answer)).into_response();
        if matches!(self.status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
        }
        if closes {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_are_bounded_and_printable() {
        let refusal = Refusal::wrong_sensor("tokyo-1", &format!("\u{1b}[2J{}", "x".repeat(1_000_000)));
        assert!(refusal.message.len() < 600, "{} bytes", refusal.message.len());
        assert!(!refusal.message.chars().any(char::is_control), "{}", refusal.message);
        assert!(refusal.message.contains("tokyo-1") && refusal.message.contains("\\u{1b}[2J"), "{}", refusal.message);
    }

    #[tokio::test]
    async fn a_413_names_its_limit_and_closes() {
        let response = Refusal::too_large("the body exceeds 10 bytes", 10).into_response();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.headers().get(header::CONNECTION).map(|v| v.as_bytes()), Some(&b"close"[..]));
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("a small body");
        let value: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(value["status"], "too_large");
        assert_eq!(value["limit"], 10);
    }

    #[tokio::test]
    async fn busy_answers_say_when_to_retry() {
        for refusal in [Refusal::slow_down("busy"), Refusal::unavailable("down")] {
            let response = refusal.into_response();
            assert_eq!(response.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()), Some(&b"30"[..]));
        }
    }
}
