//! The Nightjar collector: receives batches from sensors over HTTP(S),
//! authenticates them, stores each exactly once, enriches sources with
//! country and ASN, and maintains the Parquet dataset analysts query.
//!
//! The wire protocol it speaks is `schemas/wire-protocol-v1.md`.

mod auth;
mod body;
pub mod config;
pub mod connections;
mod heartbeat;
pub mod ledger;
pub mod metrics;
pub mod printable;
mod rate_limited;
pub mod refusal;
pub mod registry;
pub mod rollup_upkeep;
mod run;
mod sensor_metrics;
pub mod sensor_state;
pub mod server;
mod state_file;
pub mod store;
pub mod table_sink;
pub mod tokens;
mod upload;

pub use config::{CollectorConfig, Limits};
pub use run::{RunError, RunningCollector, start};
