//! Nightjar's shared test support (dev-only, never published).
//!
//! Every crate's integration tests and the command's end-to-end tests draw on
//! this one crate instead of including each other's files:
//!
//! - [`harness`]: the test binary's `main` ([`harness::run`]) and the
//!   [`trial!`] registration, where a test whose prerequisites are missing is
//!   reported *ignored* with its reason, or fails under
//!   `NIGHTJAR_SYSTEM_TESTS=require` ([`prereq`]).
//! - [`process`]: commands with a time bound, background processes killed on drop.
//! - [`netns`], [`tshark`], [`compare`], [`scenario`]: real tools in network
//!   namespaces, checked against tshark.
//! - [`collector_process`], [`serve_sql_process`], [`conservation`],
//!   [`replay_capture`], [`sensor_toml`]: the collector, Flight SQL server and
//!   sensor binaries as child processes, their configs, and packet-by-packet
//!   checks of what reached the dataset.
//! - [`ports`]: loopback ports a test holds for as long as it runs.
//! - [`tmpfs`], [`summary`]: full-disk scenarios, and reading `nightjar import`'s summary.
//! - [`receiver`], [`fixture`], [`frames`]: a collector stand-in, the query
//!   layer's fixed dataset, and IPv4 probes built from addresses and ports.
//! - [`plain_http`], [`row_keys`]: a GET by hand and a collector stand-in that
//!   misbehaves on purpose; what tells stored packets apart.
//!
//! ```no_run
//! use nightjar_test_kit::harness::{self, Trial};
//! use nightjar_test_kit::prereq::{self, Skipped};
//!
//! fn needs_python() -> Result<(), Skipped> {
//!     prereq::python_imports("needs_python", "duckdb", "pip install duckdb")?;
//!     Ok(())
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     let tests: Vec<Trial> = vec![nightjar_test_kit::trial!(needs_python)];
//!     harness::run(tests)
//! }
//! ```

pub mod collector_process;
pub mod compare;
pub mod conservation;
pub mod fixture;
pub mod frames;
pub mod harness;
pub mod netns;
pub mod plain_http;
pub mod ports;
pub mod prereq;
pub mod process;
pub mod receiver;
pub mod replay_capture;
pub mod row_keys;
pub mod scenario;
pub mod sensor_toml;
pub mod serve_sql_process;
pub mod summary;
pub mod tmpfs;
pub mod tshark;
