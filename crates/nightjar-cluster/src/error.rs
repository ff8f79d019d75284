//! What can go wrong starting or reaching a cluster.

/// An error of a cluster process or of the client side.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The `--cluster` address is not `df://HOST:PORT`.
    #[error("`{given}` is not a cluster address: {reason} (expected df://HOST:PORT)")]
    Address {
        /// What was given.
        given: String,
        /// Why it was refused.
        reason: String,
    },
    /// A geo database could not be read.
    #[error(transparent)]
    Geo(#[from] nightjar_geo::GeoError),
    /// Ballista refused the configuration or stopped with an error.
    #[error("{role}: {source}")]
    Ballista {
        /// `scheduler` or `executor`.
        role: &'static str,
        /// Ballista's error.
        source: ballista_core::error::BallistaError,
    },
    /// DataFusion refused the session set-up.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
}
