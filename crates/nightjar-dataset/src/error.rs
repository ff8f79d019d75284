//! Dataset errors.

use std::path::PathBuf;

/// A dataset operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file or folder operation failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet encoder failed.
    #[error("writing Parquet {path}")]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A batch did not have the packet record schema.
    #[error("batch does not have the packet record schema: {0}")]
    Schema(String),
    /// An Arrow kernel failed while splitting a batch.
    #[error("splitting a batch by day")]
    Arrow(#[from] arrow::error::ArrowError),
}

impl DatasetError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DatasetError {
        let path = path.into();
        move |source| DatasetError::Io { action, path, source }
    }
}
