//! Rollup errors.

/// Writing or reading the rollups failed.
#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    /// The packet table or a rollup table could not be read or written.
    #[error(transparent)]
    Dataset(#[from] nightjar_dataset::DatasetError),
    /// The SQL over the packets failed.
    #[error(transparent)]
    Query(#[from] nightjar_query::QueryError),
    /// A day's rows could not be put together.
    #[error("assembling the rollup of {day}")]
    Arrow {
        /// The day being rolled up.
        day: chrono::NaiveDate,
        /// The underlying error.
        #[source]
        source: arrow::error::ArrowError,
    },
}
