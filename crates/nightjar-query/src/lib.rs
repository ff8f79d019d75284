//! The analyst query layer: the Parquet dataset as DataFusion tables.
//!
//! [`QueryEngine::open`] registers
//! - `packets`: every packet of the dataset (the packet record schema, see
//!   `schemas/packet-record-v1.md`) with the `day` partition column;
//! - the views of [`VIEWS`]: `sources`, `port_activity`, `backscatter_victims`;
//! - the SQL functions of [`FUNCTIONS`]: addresses as text and back, CIDR membership, prefix
//!   truncation, country and ASN lookup, port names.
//!
//! Analysts' SQL is read-only and runs within per-query memory and time limits, on threads of its
//! own with a large stack; its shape is bounded ([`shape`]) so that no statement can exhaust the
//! stack, and DataFusion's functions whose output grows with an argument's value are bounded by
//! the memory limit.
//! Filters on `day` prune partitions; filters on `country`, `sensor`, `dst_port` and addresses
//! (also through `inet_in`) prune row groups and pages by their statistics.

mod cancel;
mod config;
mod display;
mod distinct_plan;
pub mod distributed;
mod engine;
mod error;
mod errors;
pub mod functions;
mod limited_stream;
mod runner;
pub mod shape;
mod table;
mod views;

pub use config::{DEFAULT_CONCURRENT_QUERIES, QueryConfig, QueryLimits, SessionUpgrade};
pub use display::{addresses_as_text, text_schema};
pub use engine::{QueryEngine, QueryOutput};
pub use error::QueryError;
pub use errors::{SqlLocation, error_location};
pub use functions::{FUNCTIONS, FunctionDoc};
pub use limited_stream::LimitedStream;
pub use nightjar_dataset::AsOf;
pub use runner::QUERY_STACK_BYTES;
pub use table::{DAY_COLUMN, PACKETS_TABLE, SnapshotInfo, packets_schema};
pub use views::{VIEWS, View};

/// DataFusion's statement type, as [`QueryEngine::parse`] returns it.
pub use datafusion::sql::parser::Statement;
