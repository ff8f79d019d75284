//! The spool queue: open and recover, allocate sequence numbers, push,
//! check out the oldest batch, acknowledge or set it aside.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use super::format::SpooledBatch;
use super::seq::SeqFile;
use super::storage::SpoolStorage;
use super::{SpoolConfig, SpoolError};
use crate::metrics::Metrics;

/// The first sequence number of a new spool.
const FIRST_SEQ: u64 = 1;
/// Extension of batch files.
const EXTENSION: &str = "njb";

/// What became of a pushed batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Push {
    /// Durable in the spool.
    Spooled {
        /// Its file's size.
        bytes: u64,
    },
    /// Not kept: it cannot fit within `spool.max_bytes` (counted as dropped).
    Dropped,
}

/// How full the spool is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Batches waiting.
    pub batches: u64,
    /// Bytes of their files.
    pub bytes: u64,
    /// The next sequence number to hand out.
    pub next_seq: u64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    bytes: u64,
    rows: u32,
}

#[derive(Debug)]
struct State {
    index: BTreeMap<u64, Entry>,
    bytes: u64,
    next_seq: u64,
    /// The batch the uplink holds; never evicted.
    in_flight: Option<u64>,
}

/// A durable queue of batches; see the [module documentation](super).
#[derive(Debug)]
pub struct Spool {
    root: PathBuf,
    batches: PathBuf,
    tmp: PathBuf,
    quarantine: PathBuf,
    rejected: PathBuf,
    storage: Arc<dyn SpoolStorage>,
    sensor: String,
    max_bytes: u64,
    seq_file: SeqFile,
    state: Mutex<State>,
    metrics: Arc<Metrics>,
    _lock: File,
}

impl Spool {
    /// Open (creating if needed) and recover the spool of `sensor`.
    pub fn open(
        config: &SpoolConfig,
        sensor: &str,
        storage: Arc<dyn SpoolStorage>,
        metrics: Arc<Metrics>,
    ) -> Result<Spool, SpoolError> {
        let root = config.dir.clone();
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| SpoolError::Io { action, path, source }
        };
        storage.create_dir_all(&root).map_err(io("create", &root))?;
        let lock = lock(&root)?;
        let spool = Spool {
            batches: root.join("batches"),
            tmp: root.join("tmp"),
            quarantine: root.join("quarantine"),
            rejected: root.join("rejected"),
            seq_file: SeqFile::new(&root, &root.join("tmp")),
            root,
            storage,
            sensor: sensor.to_string(),
            max_bytes: config.max_bytes,
            state: Mutex::new(State { index: BTreeMap::new(), bytes: 0, next_seq: FIRST_SEQ, in_flight: None }),
            metrics,
            _lock: lock,
        };
        for dir in [&spool.batches, &spool.tmp, &spool.quarantine, &spool.rejected] {
            spool.storage.create_dir_all(dir).map_err(io("create", dir))?;
        }
        let probe = spool.tmp.join(".write-probe");
        spool.storage.write_synced(&probe, b"probe").map_err(io("write in", &spool.tmp))?;
        spool.storage.remove(&probe).map_err(io("remove", &probe))?;
        spool.recover()?;
        Ok(spool)
    }

    fn recover(&self) -> Result<(), SpoolError> {
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| SpoolError::Io { action, path, source }
        };
        for torn in self.storage.list(&self.tmp).map_err(io("list", &self.tmp))? {
            tracing::warn!(file = %torn.display(), "removing a half-written spool file left by a crash");
            self.storage.remove(&torn).map_err(io("remove", &torn))?;
            self.metrics.torn_temp_files.inc();
        }
        let mut named: Vec<(u64, PathBuf)> = Vec::new();
        for path in self.storage.list(&self.batches).map_err(io("list", &self.batches))? {
            match seq_of(&path) {
                Some(seq) => named.push((seq, path)),
                None => tracing::warn!(file = %path.display(), "ignoring a file in the spool that is not a batch"),
            }
        }
        named.sort_unstable();
        let mut state = self.lock_state();
        for (seq, path) in named {
            let checked = self.storage.read(&path).map_err(|e| e.to_string()).and_then(|bytes| {
                let batch = SpooledBatch::decode(&bytes).map_err(|e| e.to_string())?;
                self.check_identity(seq, &batch)?;
                Ok(Entry { bytes: bytes.len() as u64, rows: batch.rows })
            });
            match checked {
                Ok(entry) => {
                    state.index.insert(seq, entry);
                    state.bytes += entry.bytes;
                }
                Err(why) => self.quarantine_file(&path, &why),
            }
        }
        let stored = self.seq_file.load(self.storage.as_ref())?;
        let past_spooled = state.index.keys().next_back().map_or(FIRST_SEQ, |last| last + 1);
        state.next_seq = stored.unwrap_or(FIRST_SEQ).max(past_spooled);
        self.make_room(&mut state, 0);
        tracing::info!(
            dir = %self.root.display(),
            batches = state.index.len(),
            bytes = state.bytes,
            next_seq = state.next_seq,
            "spool opened"
        );
        self.update_gauges(&state);
        Ok(())
    }

    fn check_identity(&self, seq: u64, batch: &SpooledBatch) -> Result<(), String> {
        if batch.seq != seq {
            return Err(format!("the file is named for seq {seq} but holds seq {}", batch.seq));
        }
        if batch.sensor != self.sensor {
            return Err(format!(
                "spooled by sensor `{}`, this sensor is `{}`; upload it with that sensor's token if it is still wanted",
                batch.sensor, self.sensor
            ));
        }
        Ok(())
    }

    /// Hand out the next sequence number, after making the one after it durable.
    pub fn allocate_seq(&self) -> Result<u64, SpoolError> {
        let mut state = self.lock_state();
        let seq = state.next_seq;
        self.seq_file.store(self.storage.as_ref(), seq + 1)?;
        state.next_seq = seq + 1;
        self.update_gauges(&state);
        Ok(seq)
    }

    /// Write a batch durably. Older batches are dropped first when it would
    /// not fit within the bound (see the module documentation).
    pub fn push(&self, seq: u64, rows: u32, body: Vec<u8>) -> Result<Push, SpoolError> {
        let batch = SpooledBatch { seq, rows, created_us: now_us(), sensor: self.sensor.clone(), body };
        let size = batch.file_len();
        let mut state = self.lock_state();
        if !self.make_room(&mut state, size) {
            tracing::error!(seq, rows, bytes = size, max_bytes = self.max_bytes, "spool full: dropping the new batch");
            self.metrics.dropped_spool_full_batches.inc();
            self.metrics.dropped_spool_full_rows.inc_by(u64::from(rows));
            return Ok(Push::Dropped);
        }
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| SpoolError::Io { action, path, source }
        };
        let name = file_name(seq);
        let temp = self.tmp.join(&name);
        let path = self.batches.join(&name);
        let written = self
            .storage
            .write_synced(&temp, &batch.encode())
            .map_err(io("write", &temp))
            .and_then(|()| self.storage.rename(&temp, &path).map_err(io("rename into place", &path)))
            .and_then(|()| self.storage.sync_dir(&self.batches).map_err(io("sync", &self.batches)));
        if let Err(error) = written {
            // Leave nothing half-done behind: the batch is either whole in
            // `batches/` (and counts) or gone.
            let _ = self.storage.remove(&temp);
            let _ = self.storage.remove(&path);
            return Err(error);
        }
        state.index.insert(seq, Entry { bytes: size, rows });
        state.bytes += size;
        self.update_gauges(&state);
        Ok(Push::Spooled { bytes: size })
    }

    /// Drop oldest batches (never the one in flight) until `incoming` more
    /// bytes fit; false when they cannot.
    fn make_room(&self, state: &mut State, incoming: u64) -> bool {
        if incoming > self.max_bytes {
            return false;
        }
        while state.bytes + incoming > self.max_bytes {
            let in_flight = state.in_flight;
            let Some((&seq, &entry)) = state.index.iter().find(|(seq, _)| Some(**seq) != in_flight) else {
                return false;
            };
            let path = self.batches.join(file_name(seq));
            if let Err(e) = self.storage.remove(&path) {
                tracing::error!(file = %path.display(), error = %e, "cannot delete the oldest batch to make room");
                return false;
            }
            state.index.remove(&seq);
            state.bytes -= entry.bytes;
            self.metrics.dropped_spool_full_batches.inc();
            self.metrics.dropped_spool_full_rows.inc_by(u64::from(entry.rows));
            tracing::warn!(seq, rows = entry.rows, "spool full: dropped the oldest batch");
        }
        true
    }

    /// The oldest batch, read and checked, marked in flight (never evicted
    /// until acknowledged, rejected or released). Damaged files met on the
    /// way are quarantined. `None` when the spool is empty.
    pub fn checkout(&self) -> Option<SpooledBatch> {
        loop {
            let seq = {
                let mut state = self.lock_state();
                let seq = *state.index.keys().next()?;
                state.in_flight = Some(seq);
                seq
            };
            let path = self.batches.join(file_name(seq));
            let read = self.storage.read(&path).map_err(|e| e.to_string()).and_then(|bytes| {
                let batch = SpooledBatch::decode(&bytes).map_err(|e| e.to_string())?;
                self.check_identity(seq, &batch)?;
                Ok(batch)
            });
            match read {
                Ok(batch) => return Some(batch),
                Err(why) => {
                    self.quarantine_file(&path, &why);
                    let mut state = self.lock_state();
                    state.in_flight = None;
                    if let Some(entry) = state.index.remove(&seq) {
                        state.bytes -= entry.bytes;
                    }
                    self.update_gauges(&state);
                }
            }
        }
    }

    /// The collector acknowledged `seq`: delete it.
    ///
    /// The deletion is not fsynced: if a crash loses it, the batch is sent
    /// again and the collector answers `duplicate`.
    pub fn acknowledge(&self, seq: u64) {
        let path = self.batches.join(file_name(seq));
        if let Err(e) = self.storage.remove(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!(file = %path.display(), error = %e, "cannot delete an acknowledged batch; it will be sent again");
        }
        self.forget(seq);
    }

    /// The collector refused `seq` for good: move it to `rejected/` with a note.
    pub fn reject(&self, seq: u64, why: &str) {
        let path = self.batches.join(file_name(seq));
        self.set_aside(&path, &self.rejected, why);
        self.forget(seq);
    }

    /// Remove `seq` from the spool (it was replaced, e.g. split in two).
    pub fn discard(&self, seq: u64) {
        self.acknowledge(seq);
    }

    /// Give `seq` back without an answer (shutdown): it may be evicted again.
    pub fn release(&self, seq: u64) {
        let mut state = self.lock_state();
        if state.in_flight == Some(seq) {
            state.in_flight = None;
        }
    }

    fn forget(&self, seq: u64) {
        let mut state = self.lock_state();
        if state.in_flight == Some(seq) {
            state.in_flight = None;
        }
        if let Some(entry) = state.index.remove(&seq) {
            state.bytes -= entry.bytes;
        }
        self.update_gauges(&state);
    }

    fn quarantine_file(&self, path: &Path, why: &str) {
        tracing::error!(file = %path.display(), why, "damaged spool file: moving it to quarantine/");
        self.set_aside(path, &self.quarantine, why);
        self.metrics.quarantined_batches.inc();
    }

    /// Move `path` into `folder` and write `NAME.why` beside it.
    fn set_aside(&self, path: &Path, folder: &Path, why: &str) {
        let Some(name) = path.file_name() else { return };
        let target = folder.join(name);
        let mut note_name = name.to_os_string();
        note_name.push(".why");
        let note = folder.join(note_name);
        let moved = self
            .storage
            .rename(path, &target)
            .and_then(|()| self.storage.write_synced(&note, format!("{why}\n").as_bytes()))
            .and_then(|()| self.storage.sync_dir(folder));
        if let Err(e) = moved {
            tracing::error!(file = %path.display(), to = %folder.display(), error = %e, "cannot set the file aside; deleting it");
            let _ = self.storage.remove(path);
        }
    }

    /// How full the spool is.
    pub fn stats(&self) -> SpoolStats {
        let state = self.lock_state();
        SpoolStats { batches: state.index.len() as u64, bytes: state.bytes, next_seq: state.next_seq }
    }

    /// The sequence numbers waiting, oldest first.
    pub fn pending(&self) -> Vec<u64> {
        self.lock_state().index.keys().copied().collect()
    }

    /// The spool folder.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The sensor id this spool belongs to.
    pub fn sensor(&self) -> &str {
        &self.sensor
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent index (every
        // update is a single insert/remove plus its byte count).
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update_gauges(&self, state: &State) {
        self.metrics.spool_batches.set(state.index.len() as u64);
        self.metrics.spool_bytes.set(state.bytes);
        self.metrics.next_batch_seq.set(state.next_seq);
    }
}

/// `00000000000000000042.njb`: 20 digits, so name order is number order.
fn file_name(seq: u64) -> String {
    format!("{seq:020}.{EXTENSION}")
}

pub(super) fn seq_of(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_suffix(".njb")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// Take the spool's `flock`: two sensors on one spool would reuse numbers.
fn lock(root: &Path) -> Result<File, SpoolError> {
    let path = root.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| SpoolError::Io { action: "open", path: path.clone(), source })?;
    // SAFETY: flock on a file descriptor we own, valid for the call.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(SpoolError::Locked { dir: root.to_path_buf() });
        }
        return Err(SpoolError::Io { action: "lock", path, source: error });
    }
    Ok(file)
}
