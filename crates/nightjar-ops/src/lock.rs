//! An advisory lock for read-modify-write of a state file.
//!
//! Every command that changes a state file takes its lock, reads the file again, changes it,
//! replaces it (see [`replace`](crate::replace())) and releases the lock, so two commands
//! running at once both have their change kept. Readers need no lock: the file is always
//! replaced whole.
//!
//! The lock is `flock(2)` on a separate, empty, never deleted file beside the state file,
//! `.NAME.lock`: the state file itself cannot carry it, because each replacement is a new
//! file, and a lock on the old one would not exclude a writer that opened the new one.
//! Deleting the lock file would have the same flaw, so it stays. The kernel drops the lock
//! when the holder exits, however it exits, so a crash never leaves the file locked.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};
use rustix::io::Errno;

use crate::StateFileError;
use crate::replace::folder_of;

/// An exclusive lock on a state file, held until this is dropped.
#[derive(Debug)]
pub struct StateLock {
    /// Open while the lock is held: closing it releases the lock.
    _file: File,
    path: PathBuf,
}

impl StateLock {
    /// The lock file guarding `state_path`: `.NAME.lock` in the same folder.
    pub fn path_for(state_path: &Path) -> PathBuf {
        let file_name = state_path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        folder_of(state_path).join(format!(".{file_name}.lock"))
    }

    /// Waits until no one else holds the lock guarding `state_path`, then takes it. The lock
    /// file is created (readable by its owner only) if missing; its folder must exist.
    pub fn acquire(state_path: &Path) -> Result<StateLock, StateFileError> {
        let path = StateLock::path_for(state_path);
        let file = open(&path)?;
        loop {
            match flock(&file, FlockOperation::LockExclusive) {
                Ok(()) => return Ok(StateLock { _file: file, path }),
                // A signal arrived while waiting: wait again.
                Err(Errno::INTR) => continue,
                Err(errno) => return Err(StateFileError::Lock { path, source: errno.into() }),
            }
        }
    }

    /// Takes the lock guarding `state_path` if no one else holds it, without waiting.
    pub fn try_acquire(state_path: &Path) -> Result<Option<StateLock>, StateFileError> {
        let path = StateLock::path_for(state_path);
        let file = open(&path)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(StateLock { _file: file, path })),
            Err(Errno::WOULDBLOCK) => Ok(None),
            Err(errno) => Err(StateFileError::Lock { path, source: errno.into() }),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open(path: &Path) -> Result<File, StateFileError> {
    // Never truncated: it holds nothing, and truncating would be a needless write.
    let opened = OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(path);
    let opened = match opened {
        // A lock file another user created: locking needs only read access.
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => File::open(path),
        other => other,
    };
    opened.map_err(|source| StateFileError::Lock { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_second_holder_waits_until_the_first_releases() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("sensors.json");
        let first = StateLock::acquire(&state).unwrap();
        assert_eq!(first.path(), dir.path().join(".sensors.json.lock"));
        assert!(StateLock::try_acquire(&state).unwrap().is_none(), "the lock is taken");
        let released = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                let started = Instant::now();
                let _second = StateLock::acquire(&state).unwrap();
                assert!(released.load(Ordering::SeqCst), "the second holder got the lock while the first held it");
                started.elapsed()
            });
            std::thread::sleep(Duration::from_millis(200));
            released.store(true, Ordering::SeqCst);
            drop(first);
            assert!(waiter.join().unwrap() >= Duration::from_millis(150));
        });
        assert!(StateLock::try_acquire(&state).unwrap().is_some(), "released when dropped");
    }

    #[test]
    fn a_missing_folder_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("missing").join("sensors.json");
        let error = StateLock::acquire(&state).unwrap_err();
        assert!(matches!(error, StateFileError::Lock { .. }), "{error:?}");
        assert!(error.to_string().contains(".sensors.json.lock"), "{error}");
    }
}
