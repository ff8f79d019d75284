//! What can go wrong when starting the server, and how query errors reach Flight SQL clients.

use std::path::PathBuf;

use datafusion::error::DataFusionError;
use nightjar_query::QueryError;
use tonic::Status;

/// An error that stops the Flight SQL server from starting, or a token file from being changed.
#[derive(Debug, thiserror::Error)]
pub enum FlightSqlError {
    /// The configuration does not fit together (TLS half given, plain text on a public address…).
    #[error("{0}")]
    Config(String),
    /// The tokens file is missing, unreadable or malformed; or a token cannot be added to it.
    #[error(transparent)]
    Tokens(#[from] crate::tokens::TokenError),
    /// A TLS certificate or key file cannot be read.
    #[error("cannot read {path}: {source}")]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The listening address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address of the configuration.
        addr: std::net::SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC transport failed (a TLS certificate or key tonic cannot use, a broken listener).
    #[error("Flight SQL transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// The gRPC status a client sees for a query layer error: the engine's own message, with a code
/// that says whose problem it is.
pub fn query_status(error: QueryError) -> Status {
    let message = error.to_string();
    match &error {
        QueryError::ReadOnly(_) => Status::permission_denied(message),
        QueryError::TimeLimit(_) => Status::deadline_exceeded(message),
        QueryError::MemoryLimit { .. } => Status::resource_exhausted(message),
        QueryError::TooComplex(_) => Status::invalid_argument(message),
        QueryError::Sql(inner) => match inner.find_root() {
            DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) | DataFusionError::ParquetError(_) => {
                tracing::warn!(error = %message, "query failed reading the dataset");
                Status::internal(message)
            }
            _ => Status::invalid_argument(message),
        },
        QueryError::Dataset { .. } | QueryError::Geo(_) | QueryError::Internal(_) => {
            tracing::warn!(error = %message, "query failed");
            Status::internal(message)
        }
    }
}
