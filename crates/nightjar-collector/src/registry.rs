//! The sensor registry: when each sensor was last heard from, what it sent,
//! its last error and its [`SensorState`] — so that a sensor that goes
//! silent, is refused or stalls is visible, in `nightjar sensors`, in the
//! metrics and in the log (one line each time a sensor's state changes).
//!
//! Kept in memory, written to `STATE/registry.json` (atomically) by a
//! background task, and read by `nightjar sensors`.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::printable::printable;
use crate::sensor_state::SensorState;
use crate::state_file::write_atomically;

/// The file name under the state folder.
pub const REGISTRY_FILE: &str = "registry.json";

/// Minutes of per-minute row counts kept.
const RECENT_MINUTES: usize = 60;

/// The default of the collector's `silent_after_s`.
pub const DEFAULT_SILENT_AFTER_S: u64 = 300;

/// Longest claimed sensor id kept (valid ids have at most 64 characters).
const MAX_CLAIMED_CHARS: usize = 80;

/// Longest refusal reason or error message kept.
const MAX_MESSAGE_CHARS: usize = 300;

/// Heartbeat counters that count packets kept as records, newest name first.
const KEPT_COUNTERS: [&str; 4] = ["kept_packets_total", "kept", "captured_frames_total", "captured"];

/// The latest refusal of a sensor's requests for its token or id.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Refusal {
    /// When, Unix seconds.
    pub at: i64,
    /// The sensor id the request claimed (escaped and cut: sensor-supplied).
    pub claimed_sensor: String,
    /// Why it was refused (escaped and cut).
    pub reason: String,
}

/// What the collector knows of one sensor.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SensorStatus {
    /// First batch or heartbeat, Unix seconds.
    pub first_seen: Option<i64>,
    /// Last batch, heartbeat or refused request, Unix seconds.
    pub last_seen: Option<i64>,
    /// Last stored batch, Unix seconds.
    pub last_batch: Option<i64>,
    /// Batches stored.
    pub batches: u64,
    /// Rows stored.
    pub rows: u64,
    /// Repeated batches acknowledged without storing.
    pub duplicates: u64,
    /// Requests refused (4xx) from this sensor.
    pub rejected: u64,
    /// The last refusal or failure, with its time (Unix seconds).
    pub last_error: Option<(i64, String)>,
    /// The last heartbeat's body.
    pub heartbeat: Option<serde_json::Value>,
    /// Rows stored per minute: (Unix minute, rows), the last hour.
    pub recent: VecDeque<(i64, u64)>,
    /// The refusal that makes the sensor `refused`, until an upload is
    /// accepted or a heartbeat reports an empty spool.
    pub refusal: Option<Refusal>,
    /// Since when heartbeats have shown packets waiting (the kept counter
    /// growing or batches in the spool) with no batch stored, Unix seconds.
    pub pending_since: Option<i64>,
    /// The kept-packets counter of the last heartbeat.
    pub kept_packets: Option<u64>,
    /// Batches in the sensor's spool at the last heartbeat.
    pub spooled_batches: Option<u64>,
    /// The state last logged.
    pub state: Option<SensorState>,
}

impl SensorStatus {
    /// Rows stored in the hour before `now` (Unix seconds).
    pub fn rows_last_hour(&self, now: i64) -> u64 {
        let since = now / 60 - RECENT_MINUTES as i64;
        self.recent.iter().filter(|(minute, _)| *minute > since).map(|(_, rows)| rows).sum()
    }

    fn seen(&mut self, now: i64) {
        self.first_seen.get_or_insert(now);
        self.last_seen = Some(now);
    }

    /// Take in a heartbeat's counters: packets waiting or not.
    fn heartbeat_counters(&mut self, body: &serde_json::Value, now: i64) {
        let counters = body.get("counters");
        let kept = KEPT_COUNTERS.iter().find_map(|name| counters?.get(name)?.as_u64());
        let spooled = body.get("spooled_batches").and_then(serde_json::Value::as_u64);
        let kept_grew = matches!((self.kept_packets, kept), (Some(before), Some(after)) if after > before);
        if kept_grew || spooled.is_some_and(|n| n > 0) {
            self.pending_since.get_or_insert(now);
        } else {
            self.pending_since = None;
        }
        // An empty spool: nothing of this sensor is being refused now.
        if spooled == Some(0) {
            self.refusal = None;
        }
        self.kept_packets = kept;
        self.spooled_batches = spooled;
    }
}

/// A sensor whose state changed, as [`Registry::check_states`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// The sensor id.
    pub sensor: String,
    /// The state before (`None`: never seen before).
    pub from: Option<SensorState>,
    /// The state now.
    pub to: SensorState,
}

/// Every sensor's status.
#[derive(Debug)]
pub struct Registry {
    path: PathBuf,
    sensors: Mutex<BTreeMap<String, SensorStatus>>,
    dirty: AtomicBool,
    silent_after_s: u64,
}

impl Registry {
    /// The registry at `STATE/registry.json`, with what it held before; a
    /// sensor is silent after [`DEFAULT_SILENT_AFTER_S`].
    pub fn open(state_dir: &Path) -> Registry {
        let path = state_dir.join(REGISTRY_FILE);
        let sensors = read_registry(&path).unwrap_or_default();
        Registry {
            path,
            sensors: Mutex::new(sensors),
            dirty: AtomicBool::new(false),
            silent_after_s: DEFAULT_SILENT_AFTER_S,
        }
    }

    /// Seconds without a batch or heartbeat after which a sensor is silent,
    /// and with packets waiting but no batch stored after which it is stalled
    /// (the collector's `silent_after_s`).
    pub fn with_silent_after(mut self, silent_after_s: u64) -> Registry {
        self.silent_after_s = silent_after_s;
        self
    }

    /// The threshold set by [`Registry::with_silent_after`].
    pub fn silent_after_s(&self) -> u64 {
        self.silent_after_s
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, SensorStatus>> {
        self.sensors.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, sensor: &str, now: i64, change: impl FnOnce(&mut SensorStatus)) {
        let mut sensors = self.lock();
        let status = sensors.entry(sensor.to_string()).or_default();
        change(status);
        self.settle(sensor, status, now);
        self.dirty.store(true, Ordering::Release);
    }

    /// Work out `sensor`'s state at `now`; log it if it changed.
    fn settle(&self, sensor: &str, status: &mut SensorStatus, now: i64) -> Option<StateChange> {
        let to = SensorState::of(Some(status), now, self.silent_after_s);
        let from = status.state;
        if from == Some(to) {
            return None;
        }
        status.state = Some(to);
        log_change(sensor, from, to, status, now);
        Some(StateChange { sensor: sensor.to_string(), from, to })
    }

    /// A batch was stored (or acknowledged as a duplicate) at `now`.
    pub fn batch(&self, sensor: &str, rows: u64, duplicate: bool, now: i64) {
        self.update(sensor, now, |s| {
            s.seen(now);
            s.refusal = None;
            if duplicate {
                s.duplicates += 1;
                return;
            }
            s.pending_since = None;
            s.batches += 1;
            s.rows += rows;
            s.last_batch = Some(now);
            let minute = now / 60;
            match s.recent.back_mut() {
                Some((m, r)) if *m == minute => *r += rows,
                _ => s.recent.push_back((minute, rows)),
            }
            while s.recent.len() > RECENT_MINUTES {
                s.recent.pop_front();
            }
        });
    }

    /// A request from `sensor` was refused or failed (any reason but its
    /// token or id: those go to [`Registry::refused`]).
    pub fn error(&self, sensor: &str, message: &str, rejected: bool, now: i64) {
        self.update(sensor, now, |s| {
            s.seen(now);
            s.rejected += u64::from(rejected);
            s.last_error = Some((now, printable(message, MAX_MESSAGE_CHARS)));
        });
    }

    /// A request authenticated as `token_sensor` was refused (`401`/`403`)
    /// because it claimed to be `claimed_sensor`, or for `reason` otherwise:
    /// `token_sensor` becomes `refused` until an upload is accepted.
    /// `claimed_sensor` and `reason` may come from the sensor: they are
    /// escaped and cut before they are kept.
    pub fn refused(&self, token_sensor: &str, claimed_sensor: &str, reason: &str, now: i64) {
        self.update(token_sensor, now, |s| {
            s.seen(now);
            s.rejected += 1;
            let reason = printable(reason, MAX_MESSAGE_CHARS);
            s.last_error = Some((now, format!("refused: {reason}")));
            s.refusal = Some(Refusal { at: now, claimed_sensor: printable(claimed_sensor, MAX_CLAIMED_CHARS), reason });
        });
    }

    /// A heartbeat arrived.
    pub fn heartbeat(&self, sensor: &str, body: serde_json::Value, now: i64) {
        self.update(sensor, now, |s| {
            s.seen(now);
            s.heartbeat_counters(&body, now);
            s.heartbeat = Some(body);
        });
    }

    /// Re-work every sensor's state at `now` (silence and stalls come with
    /// time alone); log and return the changes. The collector calls this
    /// every two seconds.
    pub fn check_states(&self, now: i64) -> Vec<StateChange> {
        let mut sensors = self.lock();
        let changes: Vec<StateChange> =
            sensors.iter_mut().filter_map(|(sensor, status)| self.settle(sensor, status, now)).collect();
        if !changes.is_empty() {
            self.dirty.store(true, Ordering::Release);
        }
        changes
    }

    /// A copy of every status.
    pub fn snapshot(&self) -> BTreeMap<String, SensorStatus> {
        self.lock().clone()
    }

    /// Write the file if anything changed since the last write.
    pub fn persist(&self) -> std::io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let bytes = serde_json::to_vec_pretty(&self.snapshot()).expect("the registry always serialises");
        write_atomically(&self.path, &bytes).inspect_err(|_| self.dirty.store(true, Ordering::Release))
    }
}

/// The one log line of a state change.
fn log_change(sensor: &str, from: Option<SensorState>, to: SensorState, status: &SensorStatus, now: i64) {
    let previous = from.map_or("none", SensorState::as_str);
    match to {
        SensorState::Silent => {
            let last_seen_s_ago = status.last_seen.map(|t| now.saturating_sub(t));
            tracing::warn!(sensor, previous, last_seen_s_ago, "sensor silent: no batch or heartbeat");
        }
        SensorState::Refused => {
            let (claimed_sensor, reason) =
                status.refusal.as_ref().map_or(("", ""), |r| (r.claimed_sensor.as_str(), r.reason.as_str()));
            tracing::warn!(sensor, claimed_sensor, reason, previous, "sensor refused: its requests are not accepted");
        }
        SensorState::Stalled => {
            let waiting_s = status.pending_since.map(|t| now.saturating_sub(t));
            let last_batch_s_ago = status.last_batch.map(|t| now.saturating_sub(t));
            tracing::warn!(
                sensor,
                waiting_s,
                last_batch_s_ago,
                spooled_batches = status.spooled_batches,
                kept_packets = status.kept_packets,
                previous,
                "sensor stalled: it keeps packets but no rows are stored"
            );
        }
        SensorState::New | SensorState::Ok => match from {
            None => tracing::info!(sensor, state = to.as_str(), "sensor first heard from"),
            Some(SensorState::Silent) => tracing::info!(sensor, state = to.as_str(), "sensor back"),
            Some(_) => tracing::info!(sensor, state = to.as_str(), previous, "sensor ok"),
        },
    }
}

/// Read a registry file (for `nightjar sensors`).
pub fn read_registry(path: &Path) -> std::io::Result<BTreeMap<String, SensorStatus>> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests;
