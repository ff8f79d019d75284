//! The configuration file as written: sizes with units (`"64 MiB"`) and durations with units
//! (`"60s"`, `"7d"`), like the sensor's. The keys of earlier versions, which took raw byte
//! counts and integer seconds (`max_body_bytes`, `body_timeout_s`, …), are still read; each one
//! used is reported as deprecated, and a file may not set both a key and its old name.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::{CollectorConfig, Limits};

/// A size: a whole number of bytes, or text with a unit (`"512 MiB"`, `"1.5 GiB"`).
fn size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Bytes(u64),
        Text(String),
    }
    match Option::<Written>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Written::Bytes(bytes)) => Ok(Some(bytes)),
        Some(Written::Text(text)) => nightjar_ops::parse_size(&text).map(Some).map_err(serde::de::Error::custom),
    }
}

/// The collector's configuration file. Every key but `listen`, `dataset_dir` and `state_dir`
/// has a default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigFile {
    /// Address and port to listen on, e.g. `0.0.0.0:8443`.
    listen: SocketAddr,
    /// TLS certificate chain, PEM; with `tls_key`.
    #[serde(default)]
    tls_cert: Option<PathBuf>,
    /// TLS private key, PEM.
    #[serde(default)]
    tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    #[serde(default)]
    allow_insecure: bool,
    /// The Parquet dataset folder.
    dataset_dir: PathBuf,
    /// The collector's own state (tokens, ledger, registry).
    state_dir: PathBuf,
    /// Country database (MaxMind format); default the bundled one.
    #[serde(default)]
    country_db: Option<PathBuf>,
    /// ASN database (MaxMind format); default the bundled one.
    #[serde(default)]
    asn_db: Option<PathBuf>,
    /// How long without a batch or heartbeat before a sensor is `silent`, and without a stored
    /// batch while its heartbeats show packets kept before it is `stalled` (default `"5m"`).
    #[serde(default, with = "humantime_serde")]
    silent_after: Option<Duration>,
    /// How often compaction runs (default `"5m"`; `"0s"` turns it off).
    #[serde(default, with = "humantime_serde")]
    compact_interval: Option<Duration>,
    /// A day is compacted once it has this many files under 32 MiB (default 16).
    #[serde(default)]
    compact_min_files: Option<usize>,
    /// Days of packets a table keeps (default: all).
    #[serde(default)]
    retention_days: Option<u32>,
    /// Days of rollups the rollup tables keep (default: all).
    #[serde(default)]
    rollup_retention_days: Option<u32>,
    /// How long files that left a table stay for older snapshots (default `"1d"`).
    #[serde(default, with = "humantime_serde")]
    vacuum_grace: Option<Duration>,
    /// Old name of `silent_after`, in seconds.
    #[serde(default)]
    silent_after_s: Option<u64>,
    /// Old name of `compact_interval`, in seconds.
    #[serde(default)]
    compact_interval_s: Option<u64>,
    /// Limits on what requests and connections may take.
    #[serde(default)]
    limits: LimitsFile,
}

/// `[limits]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    #[serde(default, deserialize_with = "size")]
    max_body: Option<u64>,
    #[serde(default, deserialize_with = "size")]
    max_decompressed: Option<u64>,
    #[serde(default)]
    max_rows: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    max_past_skew: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    max_future_skew: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    body_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    header_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    idle_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    tls_handshake_timeout: Option<Duration>,
    #[serde(default)]
    max_connections: Option<usize>,
    #[serde(default)]
    max_connections_per_address: Option<usize>,
    #[serde(default, deserialize_with = "size")]
    max_buffered_bodies: Option<u64>,
    // The old names.
    #[serde(default)]
    max_body_bytes: Option<u64>,
    #[serde(default)]
    max_decompressed_bytes: Option<u64>,
    #[serde(default)]
    max_past_skew_s: Option<u64>,
    #[serde(default)]
    max_future_skew_s: Option<u64>,
    #[serde(default)]
    body_timeout_s: Option<u64>,
    #[serde(default)]
    header_timeout_s: Option<u64>,
    #[serde(default)]
    idle_timeout_s: Option<u64>,
    #[serde(default)]
    tls_handshake_timeout_s: Option<u64>,
    #[serde(default)]
    max_buffered_body_bytes: Option<u64>,
}

/// Picks a key or its old name, noting the old name's use; both at once is an error.
struct Renames {
    deprecated: Vec<String>,
}

impl Renames {
    /// The value of `key`, or of its old name (noted as deprecated), or `default`; `example` is
    /// how the key is written, for the deprecation note.
    fn or_default<T>(
        &mut self,
        (key, value): (&str, Option<T>),
        (old_key, old): (&str, Option<T>),
        (example, default): (&str, T),
    ) -> Result<T, String> {
        match (value, old) {
            (Some(_), Some(_)) => Err(format!("`{key}` and its old name `{old_key}` are both set; keep only `{key}`")),
            (Some(value), None) => Ok(value),
            (None, Some(old)) => {
                self.deprecated.push(format!("`{old_key}` is deprecated; write `{key} = {example}` instead"));
                Ok(old)
            }
            (None, None) => Ok(default),
        }
    }
}

fn seconds(duration: Duration) -> u64 {
    duration.as_secs()
}

impl ConfigFile {
    /// The configuration, and the deprecated keys the file used.
    pub(super) fn resolve(self) -> Result<(CollectorConfig, Vec<String>), String> {
        let mut renames = Renames { deprecated: Vec::new() };
        let file = self.limits;
        let defaults = Limits::default();
        let secs = |duration: Option<Duration>| duration.map(seconds);
        let limits = Limits {
            max_body_bytes: renames.or_default(
                ("limits.max_body", file.max_body),
                ("limits.max_body_bytes", file.max_body_bytes),
                ("\"64 MiB\"", defaults.max_body_bytes),
            )?,
            max_decompressed_bytes: renames.or_default(
                ("limits.max_decompressed", file.max_decompressed),
                ("limits.max_decompressed_bytes", file.max_decompressed_bytes),
                ("\"512 MiB\"", defaults.max_decompressed_bytes),
            )?,
            max_rows: file.max_rows.unwrap_or(defaults.max_rows),
            max_past_skew_s: renames.or_default(
                ("limits.max_past_skew", secs(file.max_past_skew)),
                ("limits.max_past_skew_s", file.max_past_skew_s),
                ("\"7d\"", defaults.max_past_skew_s),
            )?,
            max_future_skew_s: renames.or_default(
                ("limits.max_future_skew", secs(file.max_future_skew)),
                ("limits.max_future_skew_s", file.max_future_skew_s),
                ("\"10m\"", defaults.max_future_skew_s),
            )?,
            body_timeout_s: renames.or_default(
                ("limits.body_timeout", secs(file.body_timeout)),
                ("limits.body_timeout_s", file.body_timeout_s),
                ("\"60s\"", defaults.body_timeout_s),
            )?,
            header_timeout_s: renames.or_default(
                ("limits.header_timeout", secs(file.header_timeout)),
                ("limits.header_timeout_s", file.header_timeout_s),
                ("\"10s\"", defaults.header_timeout_s),
            )?,
            idle_timeout_s: renames.or_default(
                ("limits.idle_timeout", secs(file.idle_timeout)),
                ("limits.idle_timeout_s", file.idle_timeout_s),
                ("\"60s\"", defaults.idle_timeout_s),
            )?,
            tls_handshake_timeout_s: renames.or_default(
                ("limits.tls_handshake_timeout", secs(file.tls_handshake_timeout)),
                ("limits.tls_handshake_timeout_s", file.tls_handshake_timeout_s),
                ("\"10s\"", defaults.tls_handshake_timeout_s),
            )?,
            max_connections: file.max_connections.unwrap_or(defaults.max_connections),
            max_connections_per_address: file
                .max_connections_per_address
                .unwrap_or(defaults.max_connections_per_address),
            max_buffered_body_bytes: renames.or_default(
                ("limits.max_buffered_bodies", file.max_buffered_bodies),
                ("limits.max_buffered_body_bytes", file.max_buffered_body_bytes),
                ("\"256 MiB\"", defaults.max_buffered_body_bytes),
            )?,
        };
        let mut config = CollectorConfig::new(self.listen, self.dataset_dir, self.state_dir);
        config.tls_cert = self.tls_cert;
        config.tls_key = self.tls_key;
        config.allow_insecure = self.allow_insecure;
        config.country_db = self.country_db;
        config.asn_db = self.asn_db;
        config.silent_after_s = renames.or_default(
            ("silent_after", secs(self.silent_after)),
            ("silent_after_s", self.silent_after_s),
            ("\"5m\"", config.silent_after_s),
        )?;
        config.compact_interval_s = renames.or_default(
            ("compact_interval", secs(self.compact_interval)),
            ("compact_interval_s", self.compact_interval_s),
            ("\"5m\"", config.compact_interval_s),
        )?;
        if let Some(min_files) = self.compact_min_files {
            config.compact_min_files = min_files;
        }
        config.retention_days = self.retention_days;
        config.rollup_retention_days = self.rollup_retention_days;
        if let Some(grace) = self.vacuum_grace {
            // A file is written a moment before the commit that names it: a vacuum with a
            // shorter grace could delete a batch's file before its commit lands.
            if grace < Duration::from_secs(600) {
                return Err(format!(
                    "vacuum_grace = \"{}\" is too short: files of uploads in progress and of queries on older snapshots need at least \"10m\"",
                    humantime_serde::re::humantime::format_duration(grace)
                ));
            }
            config.vacuum_grace_s = grace.as_secs();
        }
        config.limits = limits;
        Ok((config, renames.deprecated))
    }
}
