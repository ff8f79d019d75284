//! The JSON body of every collector answer, as `schemas/wire-protocol-v1.md` defines it:
//! `{"status": "...", "message": "...", ...}`. The collector writes it; sensors read it.

use serde::{Deserialize, Serialize};

/// The body's `status` word: what became of the request, in one word a program can match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStatus {
    /// `200`: the batch is durable in the dataset.
    Stored,
    /// `200`: the batch was stored before; nothing was written.
    Duplicate,
    /// `200` from `/healthz`: the collector can write.
    Ok,
    /// `400`: malformed body or headers.
    Invalid,
    /// `401`: no token, an unknown one, or a revoked sensor's.
    Unauthorized,
    /// `403`: the token belongs to another sensor id.
    Forbidden,
    /// `404`: no such endpoint.
    NotFound,
    /// `405`: the endpoint exists, not with this method.
    MethodNotAllowed,
    /// `408`: the body arrived too slowly.
    Timeout,
    /// `409`: another body was stored under this (sensor, batch sequence number).
    Conflict,
    /// `413`: over a size limit (`limit` says which).
    TooLarge,
    /// `415`: wrong content type, encoding or schema version.
    Unsupported,
    /// `422`: readable, but not acceptable content.
    Rejected,
    /// `429`: busy; come back after `Retry-After`.
    SlowDown,
    /// `503`: cannot store now; come back after `Retry-After`.
    Unavailable,
    /// Any other `5xx`.
    Error,
    /// A word this version does not know (from a newer collector).
    #[serde(other)]
    Unknown,
}

impl AnswerStatus {
    /// The word as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerStatus::Stored => "stored",
            AnswerStatus::Duplicate => "duplicate",
            AnswerStatus::Ok => "ok",
            AnswerStatus::Invalid => "invalid",
            AnswerStatus::Unauthorized => "unauthorized",
            AnswerStatus::Forbidden => "forbidden",
            AnswerStatus::NotFound => "not_found",
            AnswerStatus::MethodNotAllowed => "method_not_allowed",
            AnswerStatus::Timeout => "timeout",
            AnswerStatus::Conflict => "conflict",
            AnswerStatus::TooLarge => "too_large",
            AnswerStatus::Unsupported => "unsupported",
            AnswerStatus::Rejected => "rejected",
            AnswerStatus::SlowDown => "slow_down",
            AnswerStatus::Unavailable => "unavailable",
            AnswerStatus::Error => "error",
            AnswerStatus::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for AnswerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A collector's answer body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// What became of the request.
    pub status: AnswerStatus,
    /// Why, in words for the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Rows stored, with `stored`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// The limit exceeded, with `too_large` (bytes or rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

impl Answer {
    /// An answer with a status and a message.
    pub fn new(status: AnswerStatus, message: impl Into<String>) -> Self {
        Answer { status, message: Some(message.into()), rows: None, limit: None }
    }

    /// Reads an answer body; `None` when it is not one (a proxy's HTML page, say).
    pub fn parse(body: &[u8]) -> Option<Answer> {
        serde_json::from_slice(body).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every body `status` word in the protocol document, in the order it lists them.
    fn documented_words() -> Vec<String> {
        let doc = include_str!("../../../schemas/wire-protocol-v1.md");
        let mut words: Vec<String> = doc
            .lines()
            .filter(|l| l.starts_with("| `") && l.matches('|').count() >= 5)
            .filter_map(|l| l.split('|').nth(2))
            .filter_map(|cell| cell.trim().strip_prefix('`')?.strip_suffix('`').map(str::to_string))
            .collect();
        assert!(doc.contains(r#"{"status":"ok"}"#), "the health answer is documented");
        words.push("ok".to_string());
        words
    }

    #[test]
    fn every_documented_word_is_known_and_every_known_word_documented() {
        let words = documented_words();
        assert!(words.len() >= 15, "the answer table was found: {words:?}");
        for word in &words {
            let status: AnswerStatus = serde_json::from_value(serde_json::json!(word)).expect("a word");
            assert_ne!(status, AnswerStatus::Unknown, "`{word}` is documented but not known to the code");
            assert_eq!(status.as_str(), word);
        }
        for status in [
            AnswerStatus::Stored,
            AnswerStatus::Duplicate,
            AnswerStatus::Ok,
            AnswerStatus::Invalid,
            AnswerStatus::Unauthorized,
            AnswerStatus::Forbidden,
            AnswerStatus::NotFound,
            AnswerStatus::MethodNotAllowed,
            AnswerStatus::Timeout,
            AnswerStatus::Conflict,
            AnswerStatus::TooLarge,
            AnswerStatus::Unsupported,
            AnswerStatus::Rejected,
            AnswerStatus::SlowDown,
            AnswerStatus::Unavailable,
            AnswerStatus::Error,
        ] {
            assert!(words.iter().any(|w| w == status.as_str()), "`{status}` is not in the protocol document");
        }
    }

    #[test]
    fn answers_round_trip_and_unknown_words_are_tolerated() {
        let answer = Answer { limit: Some(10), ..Answer::new(AnswerStatus::TooLarge, "the body exceeds 10 bytes") };
        let text = serde_json::to_string(&answer).expect("serialises");
        assert_eq!(text, r#"{"status":"too_large","message":"the body exceeds 10 bytes","limit":10}"#);
        assert_eq!(Answer::parse(text.as_bytes()), Some(answer));
        let newer = Answer::parse(br#"{"status":"moved_on","message":"x","extra":1}"#).expect("an answer");
        assert_eq!(newer.status, AnswerStatus::Unknown);
        assert_eq!(Answer::parse(b"<html>bad gateway</html>"), None);
    }
}
