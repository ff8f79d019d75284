//! What the collector's answer means for the batch, exactly as the table of
//! `schemas/wire-protocol-v1.md` says.

use std::time::Duration;

use nightjar_record::answer::{Answer, AnswerStatus};

/// Longest `Retry-After` obeyed as given; longer ones are capped.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What to do with a batch after an answer (or none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `200` `stored` or `duplicate`: delete it from the spool.
    Acknowledged {
        /// The collector had stored it before.
        duplicate: bool,
    },
    /// `400`, `415`, `422` or another final `4xx`: set it aside, do not retry.
    Reject {
        /// Status and the collector's message.
        why: String,
    },
    /// `413`: split it if it has more than one row, else set it aside.
    TooLarge {
        /// Status and the collector's message.
        why: String,
    },
    /// `429`, `503`: retry, not before `Retry-After` when given.
    RetryAfter {
        /// The collector's `Retry-After`, when readable.
        delay: Option<Duration>,
        /// Status and message.
        why: String,
    },
    /// `401`, `403`: keep it, report, retry slowly (the operator must act).
    RetrySlowly {
        /// Which refusal it was.
        refusal: Refusal,
        /// Status and message.
        why: String,
    },
    /// `409`: the collector already stored a different batch under this
    /// (sensor, batch_seq) — this sensor's sequence numbers were reset or
    /// reused. Keep it and the whole spool, stop uploading (the operator must act).
    Conflict {
        /// Status and message.
        why: String,
    },
    /// `408`, other `5xx`, network errors, timeouts: retry with backoff.
    Retry {
        /// Status or error, and message.
        why: String,
    },
}

/// Classify an answer: HTTP status, `Retry-After` header and JSON body.
pub fn classify(status: u16, retry_after: Option<&str>, body: &[u8]) -> Verdict {
    let why = describe_answer(status, body);
    let body_status = parse_body(body).0;
    match status {
        200 => Verdict::Acknowledged { duplicate: body_status == Some(AnswerStatus::Duplicate) },
        401 => Verdict::RetrySlowly { refusal: Refusal::Unauthorized, why },
        403 => Verdict::RetrySlowly { refusal: Refusal::Forbidden, why },
        408 => Verdict::Retry { why },
        409 => Verdict::Conflict { why },
        413 => Verdict::TooLarge { why },
        429 | 503 => Verdict::RetryAfter { delay: retry_after.and_then(parse_retry_after), why },
        400..=499 => Verdict::Reject { why },
        _ => Verdict::Retry { why },
    }
}

/// Why the collector refuses a sensor's requests: only its operator can fix it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refusal {
    /// `401`: no token, an unknown token, or a revoked sensor.
    Unauthorized,
    /// `403`: the token belongs to another sensor id.
    Forbidden,
}

impl Refusal {
    /// The body `status` word of the wire protocol, used as a metric label.
    pub fn name(self) -> &'static str {
        match self {
            Refusal::Unauthorized => "unauthorized",
            Refusal::Forbidden => "forbidden",
        }
    }

    /// The collector's words `why`, followed by what the operator must fix
    /// unless the collector already named the key to change.
    pub fn explain(self, why: &str) -> String {
        let key = match self {
            Refusal::Unauthorized => "sensor.token_file",
            Refusal::Forbidden => "sensor.id",
        };
        if why.contains(key) { why.to_string() } else { format!("{why}: {}", self.remedy()) }
    }

    /// What the operator must fix.
    pub fn remedy(self) -> &'static str {
        match self {
            Refusal::Unauthorized => {
                "the collector does not know this sensor's token (wrong, or revoked): check `sensor.token_file` with the collector operator"
            }
            Refusal::Forbidden => {
                "the token belongs to another sensor id: set `sensor.id` to the id the token was issued for, or use that id's token"
            }
        }
    }
}

/// The collector's words for an answer: `HTTP 403 forbidden: message`.
pub fn describe_answer(status: u16, body: &[u8]) -> String {
    let (body_status, message) = parse_body(body);
    match (&body_status, &message) {
        (Some(s), Some(m)) => format!("HTTP {status} {s}: {m}"),
        (Some(s), None) => format!("HTTP {status} {s}"),
        (None, Some(m)) => format!("HTTP {status}: {m}"),
        (None, None) => format!("HTTP {status}"),
    }
}

/// `Retry-After` as delta-seconds (the form the collector sends).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
}

/// The body's status word and message; for a body that is not an answer (a proxy's page), its
/// first 200 characters as the message.
fn parse_body(body: &[u8]) -> (Option<AnswerStatus>, Option<String>) {
    match Answer::parse(body) {
        Some(answer) => (Some(answer.status), answer.message),
        None => {
            let text = String::from_utf8_lossy(body).trim().chars().take(200).collect::<String>();
            (None, (!text.is_empty()).then_some(text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(status: &str) -> Vec<u8> {
        format!(r#"{{"status":"{status}","message":"because"}}"#).into_bytes()
    }

    #[test]
    fn the_wire_doc_table() {
        assert_eq!(classify(200, None, &body("stored")), Verdict::Acknowledged { duplicate: false });
        assert_eq!(classify(200, None, &body("duplicate")), Verdict::Acknowledged { duplicate: true });
        assert!(matches!(classify(400, None, &body("invalid")), Verdict::Reject { .. }));
        assert!(matches!(
            classify(401, None, &body("unauthorized")),
            Verdict::RetrySlowly { refusal: Refusal::Unauthorized, .. }
        ));
        assert!(matches!(
            classify(403, None, &body("forbidden")),
            Verdict::RetrySlowly { refusal: Refusal::Forbidden, .. }
        ));
        assert!(matches!(classify(408, None, &body("timeout")), Verdict::Retry { .. }));
        assert_eq!(
            classify(409, None, &body("conflict")),
            Verdict::Conflict { why: "HTTP 409 conflict: because".into() },
            "a different batch under the same seq is not retried and not set aside"
        );
        assert!(matches!(classify(413, None, &body("too_large")), Verdict::TooLarge { .. }));
        assert!(matches!(classify(415, None, &body("unsupported")), Verdict::Reject { .. }));
        assert!(matches!(classify(422, None, &body("rejected")), Verdict::Reject { .. }));
        assert!(matches!(classify(404, None, b"not found"), Verdict::Reject { .. }));
        assert_eq!(
            classify(429, Some("7"), &body("slow_down")),
            Verdict::RetryAfter { delay: Some(Duration::from_secs(7)), why: "HTTP 429 slow_down: because".into() }
        );
        assert!(matches!(classify(503, None, &body("unavailable")), Verdict::RetryAfter { delay: None, .. }));
        assert!(matches!(classify(500, None, &body("error")), Verdict::Retry { .. }));
        assert!(matches!(classify(502, None, b"<html>bad gateway</html>"), Verdict::Retry { .. }));
    }

    #[test]
    fn reasons_carry_the_collectors_message() {
        let Verdict::Reject { why } = classify(422, None, &body("rejected")) else { panic!("422 rejects") };
        assert_eq!(why, "HTTP 422 rejected: because");
    }

    #[test]
    fn a_refusal_says_what_to_fix_once() {
        let bare = Refusal::Forbidden.explain("HTTP 403 forbidden");
        assert!(bare.starts_with("HTTP 403 forbidden: ") && bare.contains("`sensor.id`"), "{bare}");
        let advised = "HTTP 403 forbidden: token of `a`, not `b`; set `sensor.id` to `a`";
        assert_eq!(Refusal::Forbidden.explain(advised), advised);
        assert!(Refusal::Unauthorized.explain("HTTP 401 unauthorized").contains("sensor.token_file"));
    }

    #[test]
    fn retry_after_is_capped_and_dates_are_ignored() {
        assert_eq!(parse_retry_after("99999"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
