//! The sensor registry: when each sensor was last heard from, what it sent,
//! and its last error — so that a sensor that goes silent is visible.
//!
//! Kept in memory, written to `STATE/registry.json` (atomically) by a
//! background task, and read by `nightjar sensors`.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::state_file::write_atomically;

/// The file name under the state folder.
pub const REGISTRY_FILE: &str = "registry.json";

/// Minutes of per-minute row counts kept.
const RECENT_MINUTES: usize = 60;

/// What the collector knows of one sensor.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SensorStatus {
    /// First batch or heartbeat, Unix seconds.
    pub first_seen: Option<i64>,
    /// Last batch or heartbeat, Unix seconds.
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
}

/// Every sensor's status.
#[derive(Debug)]
pub struct Registry {
    path: PathBuf,
    sensors: Mutex<BTreeMap<String, SensorStatus>>,
    dirty: AtomicBool,
}

impl Registry {
    /// The registry at `STATE/registry.json`, with what it held before.
    pub fn open(state_dir: &Path) -> Registry {
        let path = state_dir.join(REGISTRY_FILE);
        let sensors = read_registry(&path).unwrap_or_default();
        Registry { path, sensors: Mutex::new(sensors), dirty: AtomicBool::new(false) }
    }

    fn update(&self, sensor: &str, change: impl FnOnce(&mut SensorStatus)) {
        let mut sensors = self.sensors.lock().unwrap_or_else(|p| p.into_inner());
        change(sensors.entry(sensor.to_string()).or_default());
        self.dirty.store(true, Ordering::Release);
    }

    /// A batch was stored (or acknowledged as a duplicate) at `now`.
    pub fn batch(&self, sensor: &str, rows: u64, duplicate: bool, now: i64) {
        self.update(sensor, |s| {
            s.seen(now);
            if duplicate {
                s.duplicates += 1;
                return;
            }
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

    /// A request from `sensor` was refused or failed.
    pub fn error(&self, sensor: &str, message: &str, rejected: bool, now: i64) {
        self.update(sensor, |s| {
            s.seen(now);
            s.rejected += u64::from(rejected);
            s.last_error = Some((now, message.to_string()));
        });
    }

    /// A heartbeat arrived.
    pub fn heartbeat(&self, sensor: &str, body: serde_json::Value, now: i64) {
        self.update(sensor, |s| {
            s.seen(now);
            s.heartbeat = Some(body);
        });
    }

    /// A copy of every status.
    pub fn snapshot(&self) -> BTreeMap<String, SensorStatus> {
        self.sensors.lock().unwrap_or_else(|p| p.into_inner()).clone()
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

/// Read a registry file (for `nightjar sensors`).
pub fn read_registry(path: &Path) -> std::io::Result<BTreeMap<String, SensorStatus>> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_persist_and_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(dir.path());
        registry.batch("s1", 100, false, 6_000);
        registry.batch("s1", 50, false, 6_030);
        registry.batch("s1", 50, true, 6_031);
        registry.error("s1", "422 rejected: bad schema", true, 6_040);
        registry.heartbeat("s2", serde_json::json!({"uptime_s": 5}), 6_050);
        registry.persist().unwrap();
        let back = Registry::open(dir.path()).snapshot();
        let s1 = &back["s1"];
        assert_eq!((s1.batches, s1.rows, s1.duplicates, s1.rejected), (2, 150, 1, 1));
        assert_eq!(s1.rows_last_hour(6_040), 150);
        assert_eq!(s1.rows_last_hour(6_000 + 7_200), 0);
        assert_eq!(s1.last_seen, Some(6_040));
        assert_eq!(back["s2"].last_seen, Some(6_050));
        assert_eq!(back["s2"].batches, 0);
    }
}
