//! The Arrow Flight SQL server over the query layer (`nightjar serve-sql`).
//!
//! Remote tools — Python's `adbc-driver-flightsql`, JDBC, dashboards — query the dataset's
//! tables and views as analysts do in `nightjar sql`:
//! - [`start`] serves a shared [`nightjar_query::QueryEngine`] on a [`FlightSqlConfig`]: TLS
//!   with a PEM certificate and key, or plain gRPC on loopback (or with `allow_insecure`);
//! - every call carries a bearer token from the [`tokens`] file (hashed, reloaded on change);
//!   a handshake with the token as the Basic password answers with the bearer header;
//! - statements and prepared statements run read-only within the engine's memory and time
//!   limits; DDL, DML, `COPY` and file reads are refused with `PermissionDenied` or
//!   `InvalidArgument` and the engine's message, updates and ingestion with `PermissionDenied`;
//! - every query is planned and run on threads of its own, apart from the gRPC server's, so that
//!   a runaway query cannot starve other clients; statements beyond the engine's limits on the
//!   shape of SQL are refused with `InvalidArgument`, time limits with `DeadlineExceeded`,
//!   memory limits with `ResourceExhausted`;
//! - catalogs, schemas, tables (with their columns), table types and server info answer the
//!   metadata calls of ADBC's `adbc_get_objects` and `adbc_get_table_schema`;
//! - address columns are sent as text (see [`service`]).
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use nightjar_flight::{FlightSqlConfig, start};
//! use nightjar_query::{QueryConfig, QueryEngine};
//!
//! let engine = Arc::new(QueryEngine::open(QueryConfig::new("data")).await?);
//! let token = nightjar_flight::tokens::add_token("sql-tokens".as_ref(), "alice")?;
//! let config = FlightSqlConfig::new("127.0.0.1:50051".parse()?, "sql-tokens".into());
//! let server = start(config, engine).await?;
//! println!("grpc://{} with `authorization: Bearer {token}`", server.addr);
//! # Ok(())
//! # }
//! ```

mod auth;
mod catalog;
mod config;
mod error;
mod server;
pub mod service;
pub mod tokens;

pub use config::FlightSqlConfig;
pub use error::{FlightSqlError, query_message, query_status};
pub use server::{RunningServer, start};
pub use service::NightjarFlightSql;
