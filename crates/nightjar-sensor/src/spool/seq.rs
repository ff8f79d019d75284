//! The persisted next batch sequence number.
//!
//! `next-seq` holds one decimal number and a newline: the smallest number
//! never handed out. Before a number is used, the file is rewritten with the
//! number after it (temporary file, fsync, rename, fsync of the folder), so
//! that after any crash every number already used is below the file's.

use std::path::{Path, PathBuf};

use super::SpoolError;
use super::storage::SpoolStorage;

/// The next-sequence file of a spool.
#[derive(Debug)]
pub(crate) struct SeqFile {
    path: PathBuf,
    temp: PathBuf,
    dir: PathBuf,
}

impl SeqFile {
    pub(crate) fn new(spool_dir: &Path, temp_dir: &Path) -> SeqFile {
        SeqFile { path: spool_dir.join("next-seq"), temp: temp_dir.join("next-seq.tmp"), dir: spool_dir.to_path_buf() }
    }

    /// The stored number; `None` for a new spool.
    pub(crate) fn load(&self, storage: &dyn SpoolStorage) -> Result<Option<u64>, SpoolError> {
        match storage.read(&self.path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                text.trim().parse::<u64>().map(Some).map_err(|_| SpoolError::SeqFile {
                    path: self.path.clone(),
                    problem: format!(
                        "holds `{}`, not a number; it must hold the next batch sequence number. Do not delete it: numbers would repeat and the collector would drop new batches as duplicates. Write a number above every one this sensor used (see the collector's last seq for this sensor)",
                        text.trim()
                    ),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SpoolError::Io { action: "read", path: self.path.clone(), source }),
        }
    }

    /// Make `next` the stored number, durably.
    pub(crate) fn store(&self, storage: &dyn SpoolStorage, next: u64) -> Result<(), SpoolError> {
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| SpoolError::Io { action, path, source }
        };
        storage.write_synced(&self.temp, format!("{next}\n").as_bytes()).map_err(io("write", &self.temp))?;
        storage.rename(&self.temp, &self.path).map_err(io("rename into place", &self.path))?;
        storage.sync_dir(&self.dir).map_err(io("sync", &self.dir))
    }
}
