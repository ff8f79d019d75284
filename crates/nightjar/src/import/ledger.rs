//! `DATASET/_imports.json`: the capture files imported into a dataset, by content hash, so that
//! importing the same file again is refused instead of doubling its rows.
//!
//! ```json
//! {"imports": [{"sha256": "…64 hex…", "file": "capture.pcap", "bytes": 1234, "rows": 99,
//!               "imported_at": "2026-11-30T14:20:48Z", "run": "import-1795…-4242"}]}
//! ```
//!
//! Readers of the dataset read only `day=*/*.parquet`, so they never see it. It is replaced
//! atomically, under the lock `DATASET/._imports.json.lock` held by the import for its whole run.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The ledger's file name inside the dataset folder.
pub const LEDGER_FILE: &str = "_imports.json";

/// Every import recorded in one dataset.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportLedger {
    /// One entry per capture file imported, oldest first.
    pub imports: Vec<ImportEntry>,
}

/// One capture file imported.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportEntry {
    /// SHA-256 of the file's bytes, in hex.
    pub sha256: String,
    /// The file's name when it was imported (for people; the hash is what is compared).
    pub file: String,
    /// The file's size.
    pub bytes: u64,
    /// Records the whole run kept (all files of that run together).
    pub rows: u64,
    /// When, UTC, RFC 3339.
    pub imported_at: String,
    /// The run id, which the run's Parquet file names carry.
    pub run: String,
}

impl ImportLedger {
    /// The ledger path of the dataset at `root`.
    pub fn path(root: &Path) -> PathBuf {
        root.join(LEDGER_FILE)
    }

    /// Reads the ledger of the dataset at `root`; an empty one when there is none yet.
    pub fn load(root: &Path) -> Result<ImportLedger> {
        let path = ImportLedger::path(root);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not an import ledger; move it away to import", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(ImportLedger::default()),
            Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// The entry of an earlier import of a file with this hash.
    pub fn find(&self, sha256: &str) -> Option<&ImportEntry> {
        self.imports.iter().find(|entry| entry.sha256 == sha256)
    }

    /// Replaces the ledger of the dataset at `root` atomically.
    pub fn save(&self, root: &Path) -> Result<()> {
        let path = ImportLedger::path(root);
        let mut text = serde_json::to_vec_pretty(self).context("encoding the import ledger")?;
        text.push(b'\n');
        nightjar_ops::replace(&path, &text, nightjar_ops::READABLE_BY_ALL)
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// SHA-256 of the file at `path`, in hex, and its size; `progress` advances by the bytes read.
pub fn hash_file(path: &Path, progress: &ProgressBar) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let read = file.read(&mut buffer).with_context(|| format!("reading {}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        total += read as u64;
        progress.inc(read as u64);
    }
    Ok((hex::encode(hasher.finalize()), total))
}
