//! A read-only look at a spool, for `nightjar sensor --check`: nothing is
//! created, locked, written or removed, so a check can run next to a
//! running sensor, or before the first start, and leave no trace.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::queue::seq_of;
use super::seq::SeqFile;
use super::storage::FsStorage;
use super::{SpoolConfig, SpoolError};

/// What a spool folder holds, or where it would be created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpoolInspection {
    /// The folder exists and the sensor's user may write in it.
    Present {
        /// Batch files waiting in `batches/`.
        batches: u64,
        /// Their bytes.
        bytes: u64,
        /// The next sequence number the sensor will use.
        next_seq: u64,
        /// A running sensor holds the spool's lock.
        in_use: bool,
    },
    /// The folder does not exist yet; the sensor creates it at start under
    /// `parent`, which exists and is writable.
    Absent {
        /// The nearest existing folder above the spool.
        parent: PathBuf,
    },
}

/// Look at the spool `config` names without changing anything.
pub fn inspect(config: &SpoolConfig) -> Result<SpoolInspection, SpoolError> {
    let root = &config.dir;
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| SpoolError::Io { action, path, source }
    };
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(SpoolError::Io {
                action: "use",
                path: root.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "it is a file, not a folder"),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = nearest_existing(root);
            if !std::fs::metadata(&parent).map_err(io("read", &parent))?.is_dir() {
                return Err(SpoolError::Io {
                    action: "create the spool folder under",
                    path: parent,
                    source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "it is a file, not a folder"),
                });
            }
            writable(&parent).map_err(io("create the spool folder in", &parent))?;
            return Ok(SpoolInspection::Absent { parent });
        }
        Err(source) => return Err(SpoolError::Io { action: "read", path: root.clone(), source }),
    }
    writable(root).map_err(io("write in", root))?;
    let batches_dir = root.join("batches");
    let (mut batches, mut bytes, mut last_seq) = (0u64, 0u64, None::<u64>);
    match std::fs::read_dir(&batches_dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(io("list", &batches_dir))?;
                let Some(seq) = seq_of(&entry.path()) else { continue };
                batches += 1;
                bytes += entry.metadata().map_err(io("read", &entry.path()))?.len();
                last_seq = last_seq.max(Some(seq));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(SpoolError::Io { action: "list", path: batches_dir, source }),
    }
    let stored = SeqFile::new(root, &root.join("tmp")).load(&FsStorage)?;
    let next_seq = stored.unwrap_or(1).max(last_seq.map_or(1, |s| s + 1));
    Ok(SpoolInspection::Present { batches, bytes, next_seq, in_use: held_by_a_sensor(&root.join("lock")) })
}

/// The first folder above `path` that exists (`/` at worst).
fn nearest_existing(path: &Path) -> PathBuf {
    let mut current = path;
    while let Some(parent) = current.parent() {
        let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        if parent.exists() {
            return parent.to_path_buf();
        }
        current = parent;
    }
    PathBuf::from("/")
}

/// Whether this process may create files in `dir` (permissions, read-only
/// mounts), asked of the kernel with the effective ids.
fn writable(dir: &Path) -> std::io::Result<()> {
    let path = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path holds a NUL byte"))?;
    // SAFETY: a valid NUL-terminated path, read during the call only.
    let answer = unsafe { libc::faccessat(libc::AT_FDCWD, path.as_ptr(), libc::W_OK | libc::X_OK, libc::AT_EACCESS) };
    if answer == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// Whether a running sensor holds the lock file (a lock taken here for the
/// test is released at once; the file is only opened for reading).
fn held_by_a_sensor(lock: &Path) -> bool {
    let Ok(file) = File::open(lock) else { return false };
    // SAFETY: flock on a file descriptor we own, valid for the call.
    let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    taken != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EWOULDBLOCK)
}
