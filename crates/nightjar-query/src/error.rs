//! What can go wrong when opening the dataset or running a query.

use std::time::Duration;

use datafusion::error::DataFusionError;

/// An error of the query layer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The dataset location is neither a folder nor a URL the layer can open.
    #[error("cannot open the dataset at {location}: {reason}")]
    Dataset {
        /// The location as given.
        location: String,
        /// Why it cannot be opened.
        reason: String,
    },
    /// The dataset is a table that cannot be read (not a packet table, an unreadable log).
    #[error("cannot open the dataset")]
    Table(#[from] nightjar_dataset::DatasetError),
    /// A statement that would change data, the schema or the session, or read files outside the dataset.
    #[error("{0}")]
    ReadOnly(String),
    /// The query ran longer than its time limit and was stopped.
    #[error("query stopped: it ran longer than the time limit of {}", humantime(*.0))]
    TimeLimit(Duration),
    /// The query needed more memory than its limit allows and was stopped.
    #[error("query stopped: it needs more memory than the limit of {limit_bytes} bytes ({detail})")]
    MemoryLimit {
        /// The per-query memory limit.
        limit_bytes: usize,
        /// DataFusion's account of the allocation that failed.
        detail: String,
    },
    /// The SQL is beyond the limits on its shape (text length, expression depth or size; see
    /// [`crate::shape`]), which keep planning within the stack and memory of the engine.
    #[error("SQL refused: {0}")]
    TooComplex(String),
    /// The engine could not run the query (its threads could not start, or it failed inside).
    #[error("query failed: {0}")]
    Internal(String),
    /// An error from planning or running the SQL (syntax, unknown column, a function's argument…).
    #[error(transparent)]
    Sql(#[from] DataFusionError),
    /// A geo database given in the configuration cannot be opened.
    #[error(transparent)]
    Geo(#[from] nightjar_geo::GeoError),
}

fn humantime(limit: Duration) -> String {
    let secs = limit.as_secs_f64();
    if secs >= 1.0 { format!("{secs:.0} s") } else { format!("{} ms", limit.as_millis()) }
}
