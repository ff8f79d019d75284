//! Which packets are kept, and when a batch is closed.

use std::path::PathBuf;
use std::time::Duration;

use nightjar_packet::{Prefix, PrefixSet};
use serde::Deserialize;

use crate::error::ConfigError;

/// Which packets are kept. A packet is kept when its destination lies in a
/// dark prefix, its source does not, and its source is none of the sensor's
/// own addresses; everything else is counted by reason and dropped.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// The dark (unused) address blocks this sensor watches, as CIDRs:
    /// `["192.0.2.0/24", "2001:db8:2::/64"]`. At least one. Host bits must be
    /// zero (`192.0.2.0/24`, not `192.0.2.1/24`).
    pub dark_prefixes: Vec<String>,
    /// The sensor host's own addresses (or prefixes): packets from them are
    /// dropped and counted, so the sensor's own traffic on a shared
    /// interface never becomes a record. None may lie in a dark prefix.
    #[serde(default)]
    pub own_addresses: Vec<String>,
    /// Research scanner list: one CIDR per line, optionally followed by the
    /// organisation's name; `#` comments. Sources in it get the `research`
    /// label. Default: the list bundled with Nightjar (internet-wide scanning
    /// organisations, from the MISP warninglists); an empty file (`/dev/null`)
    /// labels nothing.
    #[serde(default)]
    pub research_list: Option<PathBuf>,
}

impl FilterConfig {
    /// The dark prefixes, parsed; errors name the entry.
    pub fn dark_prefix_set(&self) -> Result<PrefixSet, ConfigError> {
        if self.dark_prefixes.is_empty() {
            return Err(ConfigError::invalid(
                "filter.dark_prefixes",
                "no dark prefix: list the block(s) this sensor watches, e.g. [\"192.0.2.0/24\"]",
            ));
        }
        parse_prefixes("filter.dark_prefixes", &self.dark_prefixes)
    }

    /// The own addresses, parsed; errors name the entry, and an own address
    /// inside a dark prefix is refused.
    pub fn own_address_set(&self) -> Result<PrefixSet, ConfigError> {
        let own = parse_prefixes("filter.own_addresses", &self.own_addresses)?;
        let dark = self.dark_prefix_set()?;
        for (i, address) in own.prefixes().iter().enumerate() {
            let overlap =
                dark.prefixes().iter().find(|d| d.contains(&address.network()) || address.contains(&d.network()));
            if let Some(dark_prefix) = overlap {
                return Err(ConfigError::invalid(
                    format!("filter.own_addresses[{i}]"),
                    format!(
                        "{address} overlaps the dark prefix {dark_prefix}: the sensor host must hold no address from the dark block, or its kernel answers probes (see sensors/INSTALL.md)"
                    ),
                ));
            }
        }
        Ok(own)
    }
}

fn parse_prefixes(key: &str, texts: &[String]) -> Result<PrefixSet, ConfigError> {
    let mut prefixes = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let prefix: Prefix = text.parse().map_err(|e| ConfigError::invalid(format!("{key}[{i}]"), format!("{e}")))?;
        prefixes.push(prefix);
    }
    Ok(PrefixSet::new(prefixes))
}

/// When the open batch is closed and spooled: at `max_rows` packets or when
/// its first packet is `max_age` old, whichever comes first.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Most packets in one batch (default 65536; 1 to 4,000,000, the
    /// collector's default row limit).
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
    /// Longest a packet waits in the open batch before it is spooled
    /// (default `"1s"`; 10 ms to 1 h). Also bounds what a crash can lose.
    #[serde(default = "default_max_age", with = "humantime_serde")]
    pub max_age: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig { max_rows: default_max_rows(), max_age: default_max_age() }
    }
}

/// Default rows per batch.
pub const DEFAULT_MAX_ROWS: usize = 65_536;

fn default_max_rows() -> usize {
    DEFAULT_MAX_ROWS
}

fn default_max_age() -> Duration {
    Duration::from_secs(1)
}

impl BatchConfig {
    /// Both bounds within their ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=4_000_000).contains(&self.max_rows) {
            return Err(ConfigError::invalid("batch.max_rows", format!("{} is outside 1 to 4000000", self.max_rows)));
        }
        if self.max_age < Duration::from_millis(10) || self.max_age > Duration::from_secs(3600) {
            return Err(ConfigError::invalid("batch.max_age", format!("{:?} is outside 10ms to 1h", self.max_age)));
        }
        Ok(())
    }
}
