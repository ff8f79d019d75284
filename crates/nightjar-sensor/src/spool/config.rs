//! Where and how much the spool keeps.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::ConfigError;

/// The durable on-disk queue between capture and uplink.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolConfig {
    /// Folder of the spool (created if missing; must be writable by the
    /// sensor's user, and on a local file system that honours fsync).
    /// Holds the batches not yet acknowledged, the next sequence number,
    /// and the `quarantine/` and `rejected/` folders.
    pub dir: PathBuf,
    /// Most bytes of batch files the spool keeps (default `"1 GiB"`; at
    /// least 1 MiB). When a new batch would pass it, the oldest batches are
    /// dropped and counted (`dropped_spool_full`), never the newest: after a
    /// long outage the collector gets the most recent data. An integer
    /// (bytes) or a string with a unit: `"512 MiB"`, `"2GB"`.
    #[serde(default = "default_max_bytes", deserialize_with = "crate::config::deserialize_bytes")]
    pub max_bytes: u64,
}

/// Default spool bound: 1 GiB.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 1 << 30;
/// Smallest spool bound accepted.
pub const MIN_SPOOL_MAX_BYTES: u64 = 1 << 20;

fn default_max_bytes() -> u64 {
    DEFAULT_SPOOL_MAX_BYTES
}

impl SpoolConfig {
    /// A bound of at least 1 MiB.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_bytes < MIN_SPOOL_MAX_BYTES {
            return Err(ConfigError::invalid(
                "spool.max_bytes",
                format!("{} bytes is below the minimum of 1 MiB", self.max_bytes),
            ));
        }
        Ok(())
    }
}
