//! What can go wrong with a state file, or with one step on any file or folder.

use std::path::PathBuf;

/// One step on a file or folder (creating, listing, appending to…) that failed.
///
/// The message names the step and the path; the system's error is the
/// [`source`](std::error::Error::source). Map an I/O result to it with [`PathIoError::at`]:
///
/// ```
/// use nightjar_ops::PathIoError;
///
/// let error = std::fs::read_dir("/nonexistent").map_err(PathIoError::at("listing", "/nonexistent")).unwrap_err();
/// assert_eq!(error.to_string(), "listing /nonexistent");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{action} {}", path.display())]
pub struct PathIoError {
    /// What was being done, as the message says it ("creating", "appending to"…).
    pub action: &'static str,
    /// The file or folder.
    pub path: PathBuf,
    /// The system's error.
    #[source]
    pub source: std::io::Error,
}

impl PathIoError {
    /// The error of `action` on `path` for the system's error it is given (for `map_err`).
    pub fn at(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PathIoError {
        let path = path.into();
        move |source| PathIoError { action, path, source }
    }
}

/// A state file could not be read, written, locked or understood.
///
/// Each message names the file and the step; the cause (the system's error, or what the
/// format's parser said) is the [`source`](std::error::Error::source), so a caller printing
/// the chain (`{:#}` with `anyhow`) shows both without repeating either.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// The file could not be read.
    #[error("reading {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The new contents could not be written beside the file or renamed over it; the old
    /// contents are still in place.
    #[error("writing {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The new contents are in place, but the folder holding them could not be synced, so
    /// they might not survive a power cut.
    #[error("syncing the folder {} after replacing a file in it", path.display())]
    SyncFolder {
        /// The folder.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The lock file guarding the state file could not be opened or locked.
    #[error("locking {}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file's contents are not what its format expects.
    #[error("{} is not {what}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What the file should be, e.g. "a valid sensor list".
        what: &'static str,
        /// What the format's parser said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
