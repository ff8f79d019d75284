//! Small state files replaced atomically (see [`nightjar_ops::replace()`]).

use std::path::Path;

use nightjar_ops::StateFileError;

/// Replace `path` with `bytes`: a uniquely named temporary sibling, synced, renamed over the
/// old file, the folder synced. The folder is created if missing. The error names the file
/// and the step; its kind is the system error's.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)?;
    }
    nightjar_ops::replace(path, bytes, nightjar_ops::READABLE_BY_ALL).map_err(|error| {
        let kind = match &error {
            StateFileError::Read { source, .. }
            | StateFileError::Write { source, .. }
            | StateFileError::SyncFolder { source, .. }
            | StateFileError::Lock { source, .. } => source.kind(),
            StateFileError::Invalid { .. } => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, error)
    })
}
