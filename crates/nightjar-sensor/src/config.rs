//! The sensor's configuration file (TOML): one section per component.
//!
//! Every struct here and in the components' `config` modules rejects unknown
//! keys, and every field's doc comment is the user documentation that
//! `sensors/sensor.example.toml` quotes. [`SensorConfig::load`] parses and
//! checks everything that can be checked without touching the system
//! (syntax, CIDRs, URL scheme, ranges); what needs the system (the token
//! file, the interface, the spool directory) is checked when the sensor is
//! built, with errors naming the key or path.
//!
//! Relative paths in the file are taken relative to the file's folder.

use std::path::{Path, PathBuf};

use nightjar_ops::NameRule;
use serde::{Deserialize, Deserializer};

use crate::capture::CaptureConfig;
use crate::error::ConfigError;
use crate::heartbeat::HeartbeatConfig;
use crate::metrics::MetricsConfig;
use crate::pipeline::{BatchConfig, FilterConfig, PrivacyConfig};
use crate::spool::SpoolConfig;
use crate::uplink::UplinkConfig;

/// The whole sensor configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorConfig {
    /// Who this sensor is: its id and its token.
    pub sensor: IdentityConfig,
    /// Where batches and heartbeats go.
    pub uplink: UplinkConfig,
    /// Where packets come from: a live interface or capture files.
    pub capture: CaptureConfig,
    /// Which packets are kept.
    pub filter: FilterConfig,
    /// What of the partner's address space and payloads leaves the sensor.
    #[serde(default)]
    pub privacy: PrivacyConfig,
    /// When a batch is closed.
    #[serde(default)]
    pub batch: BatchConfig,
    /// The durable on-disk queue between capture and uplink.
    pub spool: SpoolConfig,
    /// The liveness signal to the collector.
    #[serde(default)]
    pub heartbeat: HeartbeatConfig,
    /// Counters in the log and on an optional Prometheus endpoint.
    #[serde(default)]
    pub metrics: MetricsConfig,
}

/// The sensor's identity at the collector.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// The sensor id the collector operator issued: 1 to 64 characters out
    /// of `A-Z a-z 0-9 . _ -`. Every record and request carries it.
    pub id: String,
    /// File holding the sensor's secret token (issued with the id, printed
    /// once by `nightjar collector add-sensor`). Leading and trailing white
    /// space is ignored. Keep it readable by the sensor's user only.
    pub token_file: PathBuf,
}

impl SensorConfig {
    /// Read, parse and check a config file. Relative paths inside it are
    /// resolved against the file's folder.
    pub fn load(path: impl AsRef<Path>) -> Result<SensorConfig, ConfigError> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        SensorConfig::parse(&text, base)
    }

    /// Parse and check config text; relative paths are resolved against `base_dir`.
    pub fn parse(text: &str, base_dir: &Path) -> Result<SensorConfig, ConfigError> {
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|e| ConfigError::Syntax { key: ".".into(), message: e.to_string().trim().to_string() })?;
        let mut config: SensorConfig = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::Syntax { key, message: e.into_inner().to_string().trim().to_string() }
        })?;
        config.resolve_paths(base_dir);
        config.validate()?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut self.sensor.token_file);
        if let Some(ca) = self.uplink.ca_file.as_mut() {
            resolve(ca);
        }
        for file in &mut self.capture.replay {
            resolve(file);
        }
        if let Some(list) = self.filter.research_list.as_mut() {
            resolve(list);
        }
        resolve(&mut self.spool.dir);
    }

    /// Check everything that needs no system access; errors name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_sensor_id(&self.sensor.id).map_err(|problem| ConfigError::invalid("sensor.id", problem))?;
        self.uplink.validate()?;
        self.capture.validate()?;
        let dark = self.filter.dark_prefix_set()?;
        self.filter.own_address_set()?;
        self.privacy.validate(&dark)?;
        self.batch.validate()?;
        self.spool.validate()?;
        self.heartbeat.validate()?;
        self.metrics.validate()?;
        Ok(())
    }

    /// Read the token file named by `sensor.token_file`.
    pub fn read_token(&self) -> Result<String, ConfigError> {
        let path = &self.sensor.token_file;
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::file("sensor.token_file", path, format!("cannot read the token: {e}")))?;
        let token = text.trim().to_string();
        if token.is_empty() {
            return Err(ConfigError::file(
                "sensor.token_file",
                path,
                "the file is empty; put the sensor's token in it",
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::file(
                "sensor.token_file",
                path,
                "the token holds spaces or non-ASCII characters; it must be the token alone",
            ));
        }
        Ok(token)
    }
}

/// Whether `id` is a valid sensor id: the wire protocol's rule, shared with the collector
/// ([`NameRule::Sensor`]). The message says which character or length is wrong.
pub fn validate_sensor_id(id: &str) -> Result<(), String> {
    if NameRule::Sensor.allows(id) {
        return Ok(());
    }
    let what = match id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        Some(bad) => format!("holds `{bad}`"),
        None => format!("is {} characters long", id.chars().count()),
    };
    Err(format!("`{id}` {what}; a sensor id is {}", NameRule::Sensor.describe()))
}

/// A byte count written as an integer (`1073741824`) or with a unit
/// (`"512 MiB"`, `"1.5 GiB"`, `"200MB"`; units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB).
pub(crate) fn deserialize_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Bytes {
        Number(u64),
        Text(String),
    }
    match Bytes::deserialize(deserializer)? {
        Bytes::Number(n) => Ok(n),
        Bytes::Text(text) => parse_bytes(&text).map_err(serde::de::Error::custom),
    }
}

/// Parse a byte count with an optional unit (`nightjar_ops::parse_size`: `1073741824`,
/// `"512 MiB"`, `"1.5 GiB"`, `"2GB"`).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    nightjar_ops::parse_size(text).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests;
