//! Where counters are shown.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;

/// Counters in periodic log lines, and optionally on a Prometheus endpoint.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve the counters in Prometheus text format at
    /// `http://LISTEN/metrics` (default false). No authentication: keep it
    /// on loopback, or protect it.
    #[serde(default)]
    pub enabled: bool,
    /// Address of the Prometheus endpoint when enabled (default
    /// `"127.0.0.1:9464"`, loopback only). Port 0 picks a free port, which
    /// the log names.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// How often the counters are written to the log at `info` level
    /// (default `"60s"`; `"0s"` turns the periodic line off).
    #[serde(default = "default_log_interval", with = "humantime_serde")]
    pub log_interval: Duration,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { enabled: false, listen: default_listen(), log_interval: default_log_interval() }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9464))
}

fn default_log_interval() -> Duration {
    Duration::from_secs(60)
}

impl MetricsConfig {
    /// A log interval of 0 or at least 1 s.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.log_interval.is_zero() && self.log_interval < Duration::from_secs(1) {
            return Err(ConfigError::invalid("metrics.log_interval", "use 0s (off) or at least 1s"));
        }
        Ok(())
    }
}
