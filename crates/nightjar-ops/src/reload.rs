//! A value built from a file and built again when the file changes, for servers that follow
//! a state file another process replaces (tokens added and revoked while they run).
//!
//! A check costs one `stat` while the file is unchanged. The file counts as unchanged only
//! when its device, inode, size, modification and change times are all as they were *and*
//! its modification time is older than [`SETTLE`] before the last read: file times are kept
//! at the kernel's clock tick or coarser, so two replacements within one tick can leave the
//! times equal, and a freed inode number can be given to the next file. Within [`SETTLE`]
//! of a change the file is read and hashed on every check, and rebuilt when its SHA-256
//! differs, so a change is seen by the first check after it was made.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::StateFileError;

/// How long after its last modification a file's times are trusted to change with its next
/// modification: well above the coarsest timestamps in use (2 s on FAT).
pub const SETTLE: Duration = Duration::from_secs(3);

/// What `stat` says about a file, as far as telling a change goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileStamp {
    fn of(meta: &fs::Metadata) -> FileStamp {
        FileStamp {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// What the file looked like when the value was built.
#[derive(Debug)]
struct Snapshot<T> {
    /// `None`: the file did not exist.
    stamp: Option<FileStamp>,
    /// Whether an unchanged stamp proves unchanged contents (see the module doc).
    settled: bool,
    /// SHA-256 of the contents, `None` when the file did not exist.
    contents_sha256: Option<[u8; 32]>,
    value: Arc<T>,
}

/// A value built from the file at a path, rebuilt when the file's contents change.
#[derive(Debug)]
pub struct ReloadingFile<T> {
    path: PathBuf,
    snapshot: RwLock<Option<Snapshot<T>>>,
}

impl<T> ReloadingFile<T> {
    /// Follows the file at `path`; nothing is read until [`current`](Self::current).
    pub fn new(path: &Path) -> ReloadingFile<T> {
        ReloadingFile { path: path.to_path_buf(), snapshot: RwLock::new(None) }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value built from the file as it is now. `build` gets the contents (`None` when the
    /// file does not exist) when they differ from the last ones built; its error is returned
    /// as is, and the next call tries again.
    pub fn current<E>(&self, build: impl FnOnce(Option<&[u8]>) -> Result<T, E>) -> Result<Arc<T>, E>
    where
        E: From<StateFileError>,
    {
        let started = SystemTime::now();
        let meta = match fs::metadata(&self.path) {
            Ok(meta) => Some(meta),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(StateFileError::Read { path: self.path.clone(), source }.into()),
        };
        let stamp = meta.as_ref().map(FileStamp::of);
        {
            let snapshot = self.snapshot.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(snapshot) = snapshot.as_ref().filter(|s| s.settled && s.stamp == stamp) {
                return Ok(Arc::clone(&snapshot.value));
            }
        }
        // Read after the stat: the contents are at least as new as the stamp kept with them.
        let contents = match fs::read(&self.path) {
            Ok(bytes) => Some(bytes),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(StateFileError::Read { path: self.path.clone(), source }.into()),
        };
        let contents_sha256: Option<[u8; 32]> = contents.as_deref().map(|bytes| Sha256::digest(bytes).into());
        let settled = meta.is_none_or(|meta| settled(&meta, started));
        let mut snapshot = self.snapshot.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(same) = snapshot.as_mut().filter(|s| s.contents_sha256 == contents_sha256) {
            same.stamp = stamp;
            same.settled = settled;
            return Ok(Arc::clone(&same.value));
        }
        let value = Arc::new(build(contents.as_deref())?);
        *snapshot = Some(Snapshot { stamp, settled, contents_sha256, value: Arc::clone(&value) });
        Ok(value)
    }
}

/// Whether the file was last modified long enough before `read_started` that its next
/// modification is sure to change its modification time.
fn settled(meta: &fs::Metadata, read_started: SystemTime) -> bool {
    meta.modified().ok().and_then(|modified| modified.checked_add(SETTLE)).is_some_and(|trusted| trusted < read_started)
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn text(bytes: Option<&[u8]>) -> Result<String, StateFileError> {
        Ok(bytes.map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default())
    }

    #[test]
    fn a_same_size_rewrite_with_the_modification_time_put_back_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        fs::write(&path, "alice").unwrap();
        let followed = ReloadingFile::new(&path);
        assert_eq!(*followed.current(text).unwrap(), "alice");
        let modified = fs::metadata(&path).unwrap().modified().unwrap();
        // The same inode, the same size and the same modification time: as two writes within
        // one clock tick leave them.
        fs::write(&path, "carol").unwrap();
        File::options().write(true).open(&path).unwrap().set_modified(modified).unwrap();
        assert_eq!(*followed.current(text).unwrap(), "carol");
    }

    #[test]
    fn an_unchanged_settled_file_is_not_read_again_and_a_replaced_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        fs::write(&path, "alice").unwrap();
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        File::options().write(true).open(&path).unwrap().set_modified(long_ago).unwrap();
        let builds = AtomicUsize::new(0);
        let counted = |bytes: Option<&[u8]>| {
            builds.fetch_add(1, Ordering::SeqCst);
            text(bytes)
        };
        let followed = ReloadingFile::new(&path);
        for _ in 0..3 {
            assert_eq!(*followed.current(counted).unwrap(), "alice");
        }
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        crate::replace(&path, b"bob", crate::READABLE_BY_ALL).unwrap();
        assert_eq!(*followed.current(counted).unwrap(), "bob");
        fs::remove_file(&path).unwrap();
        assert_eq!(*followed.current(counted).unwrap(), "", "a missing file is built from None");
        assert_eq!(builds.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_recent_file_with_an_unchanged_stamp_is_read_but_rebuilt_only_when_its_contents_differ() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        fs::write(&path, "alice").unwrap();
        let builds = AtomicUsize::new(0);
        let counted = |bytes: Option<&[u8]>| {
            builds.fetch_add(1, Ordering::SeqCst);
            text(bytes)
        };
        let followed = ReloadingFile::new(&path);
        followed.current(counted).unwrap();
        followed.current(counted).unwrap();
        assert_eq!(builds.load(Ordering::SeqCst), 1, "the same contents are not built again");
        let snapshot = followed.snapshot.read().unwrap();
        assert!(!snapshot.as_ref().unwrap().settled, "a file modified just now is not trusted by its stamp");
    }

    #[test]
    fn a_failed_build_is_returned_and_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        fs::write(&path, "bad").unwrap();
        let followed: ReloadingFile<String> = ReloadingFile::new(&path);
        let refuse = |_: Option<&[u8]>| -> Result<String, StateFileError> {
            Err(StateFileError::Invalid { path: path.clone(), what: "good", source: "bad".into() })
        };
        assert!(followed.current(refuse).is_err());
        assert_eq!(*followed.current(text).unwrap(), "bad");
    }
}
