//! Starting and stopping the gRPC server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use nightjar_query::QueryEngine;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::service::NightjarFlightSql;
use crate::tokens::TokenSet;
use crate::{FlightSqlConfig, FlightSqlError};

/// A running Flight SQL server; [`RunningServer::shutdown`] stops it.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (the real port when the configuration said 0).
    pub addr: SocketAddr,
    /// Whether it speaks TLS.
    pub tls: bool,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl RunningServer {
    /// Stops taking calls, lets running ones finish for up to `grace`, then returns.
    pub async fn shutdown(self, grace: Duration) -> Result<(), FlightSqlError> {
        let _ = self.stop.send(());
        match tokio::time::timeout(grace, self.task).await {
            Ok(Ok(result)) => Ok(result?),
            Ok(Err(join)) => Err(FlightSqlError::Config(format!("the server task failed: {join}"))),
            Err(_) => {
                tracing::warn!(?grace, "queries still running at shutdown were cut off");
                Ok(())
            }
        }
    }

    /// Waits until the server stops by itself (a transport failure); normally never returns.
    pub async fn wait(&mut self) -> Result<(), FlightSqlError> {
        match (&mut self.task).await {
            Ok(result) => Ok(result?),
            Err(join) => Err(FlightSqlError::Config(format!("the server task failed: {join}"))),
        }
    }
}

fn read_pem(path: &std::path::Path) -> Result<Vec<u8>, FlightSqlError> {
    std::fs::read(path).map_err(|source| FlightSqlError::TlsFile { path: path.to_path_buf(), source })
}

/// Checks `config`, reads the tokens and TLS files, binds the address and serves `engine`.
pub async fn start(config: FlightSqlConfig, engine: Arc<QueryEngine>) -> Result<RunningServer, FlightSqlError> {
    config.check()?;
    let tokens = Arc::new(TokenSet::load(&config.tokens)?);
    let mut builder = Server::builder();
    if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
        // rustls needs a process-wide provider; the workspace uses ring (an error means one is set).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let identity = Identity::from_pem(read_pem(cert)?, read_pem(key)?);
        builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| FlightSqlError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| FlightSqlError::Listen { addr: config.listen, source })?;
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let service = FlightServiceServer::new(NightjarFlightSql::new(engine, tokens));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(builder.add_service(service).serve_with_incoming_shutdown(incoming, async {
        let _ = stopped.await;
    }));
    tracing::info!(%addr, tls = config.tls(), "Flight SQL server listening");
    Ok(RunningServer { addr, tls: config.tls(), stop, task })
}
