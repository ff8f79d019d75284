//! Dataset errors.

use std::path::PathBuf;

use nightjar_ops::PathIoError;

/// A dataset operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A step on a file or folder failed: the message names the step and the path, the
    /// system's error is the source.
    #[error(transparent)]
    Io(#[from] PathIoError),
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
    /// The location holds no Delta log.
    #[error("{location} is not a Nightjar table{}", if *has_data {
        " but a dataset folder of layout version 1: turn it into a table with `nightjar convert`"
    } else {
        " (it has no `_delta_log` folder)"
    })]
    NotATable {
        /// The location as given.
        location: String,
        /// Whether it holds `day=` folders (a dataset of layout version 1).
        has_data: bool,
    },
    /// The location is a Delta table, but not of packets.
    #[error("{location} is a Delta table of another schema: {reason}")]
    ForeignTable {
        /// The location as given.
        location: String,
        /// The first difference found.
        reason: String,
    },
    /// Reading or writing the Delta log failed.
    #[error("{action} the table {location}")]
    Delta {
        /// What was being done.
        action: &'static str,
        /// The location as given.
        location: String,
        /// The underlying error.
        #[source]
        source: Box<deltalake_core::DeltaTableError>,
    },
    /// The object store of the table could not be reached.
    #[error("{action} {location}")]
    Store {
        /// What was being done.
        action: &'static str,
        /// The location as given.
        location: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// The location cannot hold a table.
    #[error("table location {location}: {reason}")]
    Location {
        /// The location as given.
        location: String,
        /// Why not.
        reason: String,
    },
    /// The packet schema could not be stated as a Delta schema (a bug).
    #[error("stating the packet schema in Delta types: {0}")]
    Declared(String),
    /// Another writer's commit made this one impossible: it stored a batch of the same sensor,
    /// or removed a file this commit removes, at the same time.
    #[error("another writer changed {location} at the same time (the same sensor's batch, or the same files)")]
    Conflict {
        /// The location as given.
        location: String,
    },
    /// One failure shared by every batch of a grouped commit.
    #[error(transparent)]
    Shared(std::sync::Arc<DatasetError>),
    /// An Arrow kernel failed while splitting a batch.
    #[error("splitting a batch by day")]
    Arrow(#[from] arrow::error::ArrowError),
}

impl DatasetError {
    /// The error of `action` on `path` for the system's error it is given (for `map_err`).
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DatasetError {
        let at = PathIoError::at(action, path);
        move |source| DatasetError::Io(at(source))
    }
}
