//! The Nightjar sensor agent: `nightjar sensor --config sensor.toml`.
//!
//! A sensor watches a partner's dark address block. It captures every frame
//! on an interface (Linux AF_PACKET through pnet; it never sends one), keeps
//! the packets sent to the dark prefixes, decodes and classifies them with
//! the packet core, closes Arrow batches by size or age, hides what the
//! partner asked to hide, and writes each batch to a durable on-disk spool.
//! An uplink task posts spooled batches to the collector over HTTPS
//! (`schemas/wire-protocol-v1.md`), oldest first, and deletes a batch only
//! once the collector acknowledged it. A heartbeat tells the collector the
//! sensor is alive even when the darknet is quiet.
//!
//! Components, one module each, each with its config struct (the
//! documentation of every key of `sensor.toml`):
//!
//! | module | config section | job |
//! | --- | --- | --- |
//! | [`config`] | `[sensor]` | load and check the file; identity and token |
//! | [`capture`] | `[capture]` | live interface or replayed capture files |
//! | [`pipeline`] | `[filter]`, `[batch]`, `[privacy]` | per-frame path, batching, privacy transform |
//! | [`spool`] | `[spool]` | the durable queue; its on-disk layout |
//! | [`uplink`] | `[uplink]` | HTTPS upload, answers, backoff |
//! | [`heartbeat`] | `[heartbeat]` | liveness |
//! | [`metrics`] | `[metrics]` | counters: log lines, Prometheus endpoint |
//! | [`check`] | | `--check`: files, spool, interface, and a round trip to the collector |
//! | [`cli`] | | the command line of `nightjar-sensor` and `nightjar sensor` |
//!
//! Main types: [`SensorConfig`] → [`Sensor::build`] (checks files, spool,
//! interface) → [`Sensor::start`] → [`RunningSensor`] (`shutdown`, `kill`),
//! or [`Sensor::run`] until a shutdown future resolves. [`check::run`]
//! checks a configuration end to end without changing anything on disk.
//!
//! ```
//! use nightjar_sensor::SensorConfig;
//!
//! let config = SensorConfig::parse(
//!     r#"
//!     [sensor]
//!     id = "tokyo-1"
//!     token_file = "sensor.token"
//!
//!     [uplink]
//!     url = "https://collector.example.net"
//!
//!     [capture]
//!     interface = "eth1"
//!
//!     [filter]
//!     dark_prefixes = ["192.0.2.0/24"]
//!
//!     [privacy]
//!     destination = "offset"
//!
//!     [spool]
//!     dir = "/var/lib/nightjar-sensor/spool"
//!     max_bytes = "512 MiB"
//!     "#,
//!     std::path::Path::new("/etc/nightjar"),
//! )?;
//! assert_eq!(config.batch.max_rows, 65_536);
//! assert_eq!(config.sensor.token_file, std::path::Path::new("/etc/nightjar/sensor.token"));
//!
//! // A typo is an error that names the key.
//! let typo = SensorConfig::parse("[sensor]\nid = \"a\"\ntokenfile = \"t\"\n", std::path::Path::new("."));
//! assert!(typo.unwrap_err().to_string().contains("tokenfile"));
//! # Ok::<(), nightjar_sensor::ConfigError>(())
//! ```

pub mod capture;
pub mod check;
pub mod cli;
pub mod config;
mod error;
pub mod heartbeat;
mod log_limit;
pub mod metrics;
pub mod pipeline;
mod sensor;
pub mod spool;
pub mod uplink;

pub use config::SensorConfig;
pub use error::{ConfigError, SensorError};
pub use metrics::{Metrics, MetricsSnapshot};
pub use sensor::{RunningSensor, Sensor};
