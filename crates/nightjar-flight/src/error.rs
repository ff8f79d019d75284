//! What can go wrong when starting the server, and how query errors reach Flight SQL clients.

use std::path::PathBuf;

use datafusion::error::DataFusionError;
use nightjar_ops::error_chain;
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
    #[error("cannot read {path}")]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The listening address cannot be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address of the configuration.
        addr: std::net::SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC transport failed (a TLS certificate or key tonic cannot use, a broken listener).
    #[error("the Flight SQL transport failed")]
    Transport(#[from] tonic::transport::Error),
}

/// A query layer error on one line, for a client or a log: with its causes, which DataFusion's
/// own errors already say in their message.
pub fn query_message(error: &QueryError) -> String {
    match error {
        QueryError::Sql(_) => error.to_string(),
        _ => error_chain(error),
    }
}

/// The gRPC status a client sees for a query layer error: the engine's own message, with a code
/// that says whose problem it is.
pub fn query_status(error: QueryError) -> Status {
    let message = query_message(&error);
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
        QueryError::Dataset { .. } | QueryError::Table(_) | QueryError::Geo(_) | QueryError::Internal(_) => {
            tracing::warn!(error = %message, "query failed");
            Status::internal(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The messages used to end with their cause, which the chain then said again; a client of a
    // query saw only the message of an error whose cause is its source.
    #[test]
    fn an_os_error_is_said_once() {
        let missing = std::path::PathBuf::from("/nonexistent/server.pem");
        let error = FlightSqlError::TlsFile {
            path: missing.clone(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let chain = error_chain(&error);
        assert_eq!(chain, format!("cannot read {}: entity not found", missing.display()));

        let dataset = nightjar_dataset::DatasetError::Io(nightjar_ops::PathIoError::at("listing", "/data/nightjar")(
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        ));
        let message = query_message(&QueryError::Table(dataset));
        assert_eq!(message, "cannot open the dataset: listing /data/nightjar: permission denied");
    }
}
