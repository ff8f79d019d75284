//! Nightjar's SQL on a DataFusion Ballista cluster.
//!
//! A cluster is one scheduler and any number of executors, each a `nightjar cluster …` process.
//! A client (`nightjar sql --cluster df://HOST:PORT`, and `risk`, `publish`, `serve-sql`) plans a
//! query as on one machine and sends the logical plan to the scheduler, which splits it into
//! stages that the executors run. Every process of the cluster has Nightjar's session:
//! - its SQL functions and its `count`, bound to the geo databases the process loaded;
//! - the `packets` table of a Delta table as a snapshot: the client sends the table's location
//!   and version ([`codec`]), the scheduler lists that snapshot's files, the executors read them;
//! - the dataset's object store, with the `AWS_*` settings of each process.
//!
//! The codecs mark each Nightjar function and table in a plan with the Nightjar version that
//! planned it; a process of another version, or one without Nightjar's functions, refuses the
//! plan with an error naming the function or both versions, never answering differently.

pub mod client;
pub mod codec;
mod error;
pub mod executor;
mod geo;
mod options;
pub mod scheduler;
mod session;

pub use error::ClusterError;
pub use geo::GeoFiles;
pub use options::{NightjarOptions, nightjar_version};
