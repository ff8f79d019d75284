//! Replacing a file atomically: readers see the old contents or the new, never a mix, and
//! after a crash the file is one or the other.
//!
//! The new contents go to a temporary file in the same folder (a rename is atomic only
//! within one file system), named uniquely per call so concurrent writers never share one;
//! it is synced, renamed over the file, and the folder is synced so the rename itself is
//! durable. A temporary file left by a crash starts with `.` and ends with `.tmp`.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::StateFileError;

/// Permissions of a new file anyone may read (less the process's umask).
pub const READABLE_BY_ALL: u32 = 0o666;
/// Permissions of a new file only its owner may read, such as a tokens file.
pub const OWNER_ONLY: u32 = 0o600;

/// How many unique names to try before giving up (each is 32 random bits and the process id,
/// so more than one attempt means someone else made that very name).
const NAME_ATTEMPTS: usize = 8;

/// Replaces `path` with `bytes` atomically and durably. A new file gets the permissions
/// `new_file_mode` (less the umask); a file replaced keeps its own.
///
/// On failure the old file is untouched and the temporary file removed, except for
/// [`StateFileError::SyncFolder`], where the new contents are already in place.
pub fn replace(path: &Path, bytes: &[u8], new_file_mode: u32) -> Result<(), StateFileError> {
    let folder = folder_of(path);
    let write_error = |source| StateFileError::Write { path: path.to_path_buf(), source };
    let kept_mode = fs::metadata(path).ok().map(|meta| meta.permissions().mode() & 0o7777);
    let (temporary, file) = create_temporary(folder, path, new_file_mode).map_err(write_error)?;
    if let Err(source) = fill_and_rename(file, &temporary, path, bytes, kept_mode) {
        // Best effort: the error that matters is the one above.
        let _ = fs::remove_file(&temporary);
        return Err(write_error(source));
    }
    sync_folder(folder).map_err(|source| StateFileError::SyncFolder { path: folder.to_path_buf(), source })
}

/// The folder holding `path` (`.` for a bare file name).
pub(crate) fn folder_of(path: &Path) -> &Path {
    path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// A new, empty file beside `path` under a name no one else uses.
fn create_temporary(folder: &Path, path: &Path, mode: u32) -> std::io::Result<(PathBuf, File)> {
    let file_name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let mut last_error = None;
    for _ in 0..NAME_ATTEMPTS {
        let unique = rand::rng().next_u32();
        let temporary = folder.join(format!(".{file_name}.{}-{unique:08x}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).mode(mode).open(&temporary) {
            Ok(file) => return Ok((temporary, file)),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no unique temporary name")))
}

fn fill_and_rename(
    mut file: File,
    temporary: &Path,
    path: &Path,
    bytes: &[u8],
    kept_mode: Option<u32>,
) -> std::io::Result<()> {
    if let Some(mode) = kept_mode {
        file.set_permissions(Permissions::from_mode(mode))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(temporary, path)
}

fn sync_folder(folder: &Path) -> std::io::Result<()> {
    File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_contents_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        replace(&path, b"first", READABLE_BY_ALL).unwrap();
        replace(&path, b"second, longer", READABLE_BY_ALL).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        assert_eq!(names_in(dir.path()), ["state.json"]);
    }

    #[test]
    fn a_new_file_gets_the_mode_asked_for_and_a_replaced_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        replace(&path, b"a", OWNER_ONLY).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        replace(&path, b"b", OWNER_ONLY).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }

    #[test]
    fn a_failed_rename_keeps_the_old_file_removes_the_temporary_one_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty folder in the way: the rename fails after the temporary file is written.
        let path = dir.path().join("occupied");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), b"kept").unwrap();
        let error = replace(&path, b"new", READABLE_BY_ALL).unwrap_err();
        assert!(matches!(error, StateFileError::Write { .. }), "{error:?}");
        assert_eq!(error.to_string(), format!("writing {}", path.display()));
        assert!(std::error::Error::source(&error).is_some(), "the system's error is the source");
        assert_eq!(names_in(dir.path()), ["occupied"]);
        assert_eq!(fs::read(path.join("inside")).unwrap(), b"kept");
    }

    #[test]
    fn concurrent_writers_never_leave_a_mixed_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let contents: Vec<Vec<u8>> = (0..8u8).map(|i| vec![b'a' + i; 64 * 1024]).collect();
        std::thread::scope(|scope| {
            for bytes in &contents {
                let path = &path;
                scope.spawn(move || {
                    for _ in 0..10 {
                        replace(path, bytes, READABLE_BY_ALL).unwrap();
                    }
                });
            }
            scope.spawn(|| {
                for _ in 0..200 {
                    if let Ok(read) = fs::read(&path) {
                        assert!(contents.contains(&read), "a reader saw a mix of two writes");
                    }
                }
            });
        });
        assert_eq!(names_in(dir.path()), ["state"]);
    }
}
