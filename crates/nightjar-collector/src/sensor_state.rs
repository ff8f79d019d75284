//! A sensor's state as an operator sees it, worked out from what the
//! registry knows of it.
//!
//! | state     | meaning |
//! |-----------|---------|
//! | `new`     | first heard from less than `silent_after_s` ago; no rows stored yet |
//! | `ok`      | heard from within `silent_after_s`, nothing wrong |
//! | `silent`  | no request for `silent_after_s` (or never heard from) |
//! | `refused` | its latest uploads were refused with `401`/`403` (for instance its token belongs to another sensor id); cleared by a stored batch or a heartbeat with an empty spool |
//! | `stalled` | its heartbeats show packets being kept (the `kept` counter growing, or batches waiting in its spool) but no batch has been stored for `silent_after_s` |
//!
//! When two apply, the first of `silent`, `refused`, `stalled` wins.

use serde::{Deserialize, Serialize};

use crate::registry::SensorStatus;

/// What an operator needs to know about a sensor first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SensorState {
    /// Heard from recently for the first time; no rows yet.
    New,
    /// Working.
    Ok,
    /// Nothing heard for `silent_after_s`.
    Silent,
    /// Its requests are refused (token, id).
    Refused,
    /// Capturing, but nothing reaches the dataset.
    Stalled,
}

impl SensorState {
    /// Every state, in the order metrics list them.
    pub const ALL: [SensorState; 5] =
        [SensorState::New, SensorState::Ok, SensorState::Silent, SensorState::Refused, SensorState::Stalled];

    /// The lower-case name used in metrics labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SensorState::New => "new",
            SensorState::Ok => "ok",
            SensorState::Silent => "silent",
            SensorState::Refused => "refused",
            SensorState::Stalled => "stalled",
        }
    }

    /// Whether an operator must act (silent, refused, stalled).
    pub fn needs_attention(self) -> bool {
        matches!(self, SensorState::Silent | SensorState::Refused | SensorState::Stalled)
    }

    /// The state of a sensor with `status` (`None`: never heard from) at
    /// `now` (Unix seconds).
    pub fn of(status: Option<&SensorStatus>, now: i64, silent_after_s: u64) -> SensorState {
        let window = i64::try_from(silent_after_s).unwrap_or(i64::MAX);
        let Some(status) = status else {
            return SensorState::Silent;
        };
        let Some(last_seen) = status.last_seen else {
            return SensorState::Silent;
        };
        if now.saturating_sub(last_seen) > window {
            return SensorState::Silent;
        }
        if status.refusal.is_some() {
            return SensorState::Refused;
        }
        if status.pending_since.is_some_and(|since| now.saturating_sub(since) >= window) {
            return SensorState::Stalled;
        }
        let recently_first_seen = status.first_seen.is_some_and(|first| now.saturating_sub(first) < window);
        if status.rows == 0 && recently_first_seen {
            return SensorState::New;
        }
        SensorState::Ok
    }
}

impl std::fmt::Display for SensorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
