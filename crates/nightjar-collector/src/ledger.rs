//! The ledger of accepted batches: what makes ingest exactly-once.
//!
//! # On disk
//!
//! `STATE/ledger/<sensor>.jsonl`, one JSON line per accepted batch:
//!
//! ```text
//! {"seq":17,"rows":65536,"files":[["_inprogress/c-tokyo-1+17-0.2026-11-22.parquet","day=2026-11-22/part-c-tokyo-1+17-0.parquet"]],"digest":"9f86d0…"}
//! ```
//!
//! `files` are paths relative to the dataset folder: where each file was
//! prepared, and where it is published. `digest` is the hex SHA-256 of the
//! batch's uncompressed Arrow IPC stream (lines written before digests were
//! kept have none): a later upload under the same sequence number with other
//! content is a conflict, not a duplicate (see [`digests`]).
//!
//! # Protocol and invariants
//!
//! 1. The batch's Parquet files are written and fsynced under `_inprogress/`
//!    (invisible to readers).
//! 2. The ledger line is appended and fsynced. From here on the batch is
//!    accepted: it will be in the dataset exactly once.
//! 3. The files are renamed into their partitions; then `200` is answered.
//!
//! A crash before 2 leaves only `_inprogress/` files without a ledger line:
//! recovery deletes them and the sensor's retry writes the batch anew. A
//! crash between 2 and 3 leaves a line whose files are still under
//! `_inprogress/`: recovery finishes the renames, and the sensor's retry is
//! answered `duplicate`. A torn last line (a crash inside the append) was
//! never acknowledged and is cut off.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use nightjar_dataset::{IN_PROGRESS_DIR, PreparedFile, publish};
use nightjar_ops::PathIoError;
use serde::{Deserialize, Serialize};

pub use self::digests::{BatchDigest, DigestRuns, UNKNOWN};

mod digests;

/// The folder under the state folder.
pub const LEDGER_DIR: &str = "ledger";

/// The prefix of every file the collector writes (`c-<sensor>+<seq>`), which
/// tells its leftovers apart from other writers' in `_inprogress/`.
pub const WRITER_PREFIX: &str = "c-";

/// One accepted batch.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The batch sequence number.
    pub seq: u64,
    /// Rows stored.
    pub rows: u64,
    /// (prepared path, published path), relative to the dataset folder.
    pub files: Vec<(String, String)>,
    /// Hex SHA-256 of the batch's uncompressed Arrow IPC stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Sequence numbers as disjoint inclusive ranges: sensors send in order, so
/// a sensor's accepted set is a handful of ranges however long it runs.
#[derive(Clone, Debug, Default)]
pub struct SeqSet {
    ranges: BTreeMap<u64, u64>,
}

impl SeqSet {
    /// Whether `seq` is in the set.
    pub fn contains(&self, seq: u64) -> bool {
        self.ranges.range(..=seq).next_back().is_some_and(|(_, end)| seq <= *end)
    }

    /// Add `seq`, merging with neighbouring ranges.
    pub fn insert(&mut self, seq: u64) {
        if self.contains(seq) {
            return;
        }
        let mut start = seq;
        let mut end = seq;
        if let Some((&s, &e)) = self.ranges.range(..seq).next_back()
            && e.checked_add(1) == Some(seq)
        {
            start = s;
        }
        if let Some(next) = seq.checked_add(1)
            && let Some(&e) = self.ranges.get(&next)
        {
            self.ranges.remove(&next);
            end = e;
        }
        self.ranges.insert(start, end);
    }

    /// Number of ranges (for tests and metrics).
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// The highest sequence number in the set.
    pub fn max(&self) -> Option<u64> {
        self.ranges.values().next_back().copied()
    }
}

/// What recovery found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Accepted batches read from the ledger.
    pub batches: u64,
    /// Files of accepted batches published by recovery (crash between ledger and rename).
    pub published: u64,
    /// Unaccepted files removed from `_inprogress/` (crash before the ledger line).
    pub removed: u64,
    /// Torn ledger lines cut off.
    pub torn_lines: u64,
}

/// Ledger errors.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Reading or writing the ledger or the dataset failed.
    #[error(transparent)]
    Io(#[from] PathIoError),
    /// A line in the middle of a ledger file is not valid: the file was
    /// edited or damaged, and exactly-once can no longer be promised.
    #[error("{path}:{line}: damaged ledger line ({message}); restore the file from backup")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// Publishing a recovered file failed.
    #[error(transparent)]
    Dataset(#[from] nightjar_dataset::DatasetError),
}

/// The accepted batches of every sensor.
#[derive(Debug)]
pub struct Ledger {
    dir: PathBuf,
    dataset_dir: PathBuf,
    accepted: HashMap<String, SeqSet>,
    digests: HashMap<String, DigestRuns>,
}

/// What the ledger knows of one (sensor, sequence number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Not accepted.
    No,
    /// Accepted with this content.
    Same,
    /// Accepted with other content.
    Different,
    /// Accepted before digests were kept: its content cannot be compared.
    Unknown,
}

impl Ledger {
    /// Open the ledger, finish or undo what a crash interrupted, and load the
    /// accepted sets.
    pub fn open(state_dir: &Path, dataset_dir: &Path) -> Result<(Ledger, Recovery), LedgerError> {
        let dir = state_dir.join(LEDGER_DIR);
        fs::create_dir_all(&dir).map_err(PathIoError::at("creating", &dir))?;
        let mut ledger = Ledger {
            dir: dir.clone(),
            dataset_dir: dataset_dir.to_path_buf(),
            accepted: HashMap::new(),
            digests: HashMap::new(),
        };
        let mut recovery = Recovery::default();
        let mut referenced = std::collections::HashSet::new();
        for entry in fs::read_dir(&dir).map_err(PathIoError::at("listing", &dir))? {
            let path = entry.map_err(PathIoError::at("listing", &dir))?.path();
            let Some(sensor) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".jsonl")) else {
                continue;
            };
            let sensor = sensor.to_string();
            let (entries, torn) = read_log(&path)?;
            recovery.torn_lines += torn;
            let set = ledger.accepted.entry(sensor.clone()).or_default();
            let digests = ledger.digests.entry(sensor).or_default();
            for entry in entries {
                recovery.batches += 1;
                set.insert(entry.seq);
                let short = entry.digest.as_deref().and_then(BatchDigest::from_hex).map_or(UNKNOWN, |d| d.short());
                digests.insert(entry.seq, short);
                for (prepared, published) in &entry.files {
                    referenced.insert(prepared.clone());
                    let (prepared, published) = (dataset_dir.join(prepared), dataset_dir.join(published));
                    if prepared.exists() {
                        publish(&prepared, &published)?;
                        recovery.published += 1;
                    }
                }
            }
        }
        let in_progress = dataset_dir.join(IN_PROGRESS_DIR);
        if let Ok(entries) = fs::read_dir(&in_progress) {
            for entry in entries {
                let path = entry.map_err(PathIoError::at("listing", &in_progress))?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let relative = format!("{IN_PROGRESS_DIR}/{name}");
                if name.starts_with(WRITER_PREFIX) && !referenced.contains(&relative) {
                    fs::remove_file(&path).map_err(PathIoError::at("removing", &path))?;
                    recovery.removed += 1;
                }
            }
        }
        Ok((ledger, recovery))
    }

    /// Whether `sensor`'s batch `seq` was accepted.
    pub fn contains(&self, sensor: &str, seq: u64) -> bool {
        self.accepted.get(sensor).is_some_and(|s| s.contains(seq))
    }

    /// Whether `sensor`'s batch `seq` was accepted, and with the content of `digest`.
    pub fn stored(&self, sensor: &str, seq: u64, digest: &BatchDigest) -> Accepted {
        match self.digests.get(sensor).and_then(|d| d.get(seq)) {
            None => Accepted::No,
            Some(UNKNOWN) => Accepted::Unknown,
            Some(short) if short == digest.short() => Accepted::Same,
            Some(_) => Accepted::Different,
        }
    }

    /// The accepted set of a sensor.
    pub fn accepted(&self, sensor: &str) -> Option<&SeqSet> {
        self.accepted.get(sensor)
    }

    /// Record `sensor`'s batch `seq` as accepted, with its prepared files,
    /// durably (step 2 of the protocol).
    pub fn record(
        &mut self,
        sensor: &str,
        seq: u64,
        rows: u64,
        files: &[PreparedFile],
        digest: &BatchDigest,
    ) -> Result<(), LedgerError> {
        let relative = |p: &Path| p.strip_prefix(&self.dataset_dir).unwrap_or(p).to_string_lossy().into_owned();
        let entry = LedgerEntry {
            seq,
            rows,
            files: files.iter().map(|f| (relative(&f.temp_path), relative(&f.final_path))).collect(),
            digest: Some(digest.hex()),
        };
        let mut line = serde_json::to_vec(&entry).expect("a ledger entry always serialises");
        line.push(b'\n');
        let path = self.dir.join(format!("{sensor}.jsonl"));
        let mut file =
            OpenOptions::new().create(true).append(true).open(&path).map_err(PathIoError::at("opening", &path))?;
        file.write_all(&line).map_err(PathIoError::at("appending to", &path))?;
        file.sync_all().map_err(PathIoError::at("syncing", &path))?;
        self.accepted.entry(sensor.to_string()).or_default().insert(seq);
        self.digests.entry(sensor.to_string()).or_default().insert(seq, digest.short());
        Ok(())
    }
}

/// Read one sensor's log; cut off a torn last line (bytes after the last
/// newline: an append that a crash interrupted, never acknowledged).
/// Returns the entries and how many lines were cut.
fn read_log(path: &Path) -> Result<(Vec<LedgerEntry>, u64), LedgerError> {
    let bytes = fs::read(path).map_err(PathIoError::at("reading", path))?;
    let complete_len = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut entries = Vec::new();
    for (number, line) in bytes[..complete_len].split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let entry = serde_json::from_slice::<LedgerEntry>(line).map_err(|e| LedgerError::Corrupt {
            path: path.into(),
            line: number + 1,
            message: e.to_string(),
        })?;
        entries.push(entry);
    }
    if complete_len == bytes.len() {
        return Ok((entries, 0));
    }
    let file = OpenOptions::new().write(true).open(path).map_err(PathIoError::at("opening", path))?;
    file.set_len(complete_len as u64).map_err(PathIoError::at("cutting the torn line of", path))?;
    file.sync_all().map_err(PathIoError::at("syncing", path))?;
    Ok((entries, 1))
}

#[cfg(test)]
mod tests;
