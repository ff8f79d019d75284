//! The collector's configuration file (TOML).
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! tls_cert = "/etc/nightjar/collector.crt"
//! tls_key = "/etc/nightjar/collector.key"
//! dataset_dir = "/var/lib/nightjar/data"
//! state_dir = "/var/lib/nightjar/state"
//!
//! [limits]
//! max_body = "64 MiB"
//! body_timeout = "60s"
//! ```
//!
//! Sizes take units (`"512 MiB"`, `"1.5 GiB"`), durations too (`"10s"`, `"5m"`, `"7d"`);
//! `crates/nightjar-collector/collector.example.toml` documents every key. The file is read
//! through [`file`]: the keys of earlier versions (`max_body_bytes`, `body_timeout_s`, …) are
//! still read, with a deprecation warning.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use nightjar_ops::{TransportProblem, transport_problem};

mod file;

/// Everything the collector needs to run.
#[derive(Clone, Debug)]
pub struct CollectorConfig {
    /// Address and port to listen on, e.g. `0.0.0.0:8443`.
    pub listen: SocketAddr,
    /// TLS certificate chain, PEM. Together with `tls_key`; without both the
    /// collector speaks plain HTTP, which is allowed only on a loopback
    /// address unless `allow_insecure` is set.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key, PEM.
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    pub allow_insecure: bool,
    /// The dataset the collector writes: a folder (`day=YYYY-MM-DD/` partitions; a Delta table,
    /// which a new or empty folder becomes at the first start, or a plain folder of layout
    /// version 1), or `s3://bucket/prefix`, a Delta table in S3-compatible
    /// object storage (created when absent; credentials, region and endpoint from the `AWS_*`
    /// variables), whose files are written in `state_dir/staging` first.
    pub dataset_dir: PathBuf,
    /// The collector's own state: sensor tokens (hashed), the ledger of
    /// accepted batches, the sensor registry.
    pub state_dir: PathBuf,
    /// Country database (MaxMind format). Default: the bundled public-domain
    /// iptoasn country database. A changed file is reloaded while running.
    pub country_db: Option<PathBuf>,
    /// ASN database (MaxMind format, GeoLite2-ASN shape). Default: the
    /// bundled CC BY 4.0 RouteViews/DB-IP ASN database. Reloaded when it changes.
    pub asn_db: Option<PathBuf>,
    /// Seconds without a batch or heartbeat after which `nightjar sensors`
    /// flags a sensor as silent.
    pub silent_after_s: u64,
    /// Seconds between compaction runs, which merge the small per-batch
    /// files of each day into large sorted ones; 0 turns compaction off.
    pub compact_interval_s: u64,
    /// A day is compacted once it has this many files under 32 MiB.
    pub compact_min_files: usize,
    /// Days of packets a table keeps: at each compaction run, days older than this many days
    /// before today (UTC) leave the table by one commit. `None` keeps every day.
    pub retention_days: Option<u32>,
    /// Days of rollups the rollup tables keep (`schemas/rollups-v1.md`): at each upkeep run,
    /// rollup days older than this many days before today (UTC) leave them. `None` keeps every
    /// day (the default: a year of rollups is a small fraction of a day of packets).
    pub rollup_retention_days: Option<u32>,
    /// How long files that left a table (compacted, expired, or written and never committed)
    /// stay on disk for queries still reading an older snapshot; then a vacuum deletes them.
    pub vacuum_grace_s: u64,
    /// Limits on what one request may carry.
    pub limits: Limits,
}

fn default_compact_interval_s() -> u64 {
    300
}

fn default_compact_min_files() -> usize {
    16
}

fn default_vacuum_grace_s() -> u64 {
    24 * 3600
}

fn default_silent_after_s() -> u64 {
    300
}

/// Limits on uploads; past one a request gets a 4xx that says which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, bytes (as sent, compressed).
    pub max_body_bytes: u64,
    /// Largest body after decompression, bytes.
    pub max_decompressed_bytes: u64,
    /// Most rows in one request.
    pub max_rows: usize,
    /// How far in the past a row's time may lie, seconds.
    pub max_past_skew_s: u64,
    /// How far in the future a row's time may lie, seconds.
    pub max_future_skew_s: u64,
    /// Seconds a client has to deliver a request body.
    pub body_timeout_s: u64,
    /// Seconds a client has to deliver the request headers; a new connection
    /// must deliver its first request's headers within this time.
    pub header_timeout_s: u64,
    /// Seconds a connection may stay open with no request in flight and no
    /// byte moving: an HTTP/2 connection between requests, or a client that
    /// stopped reading an answer. (An HTTP/1.1 connection waiting for its
    /// next request has `header_timeout_s`.)
    pub idle_timeout_s: u64,
    /// Seconds a client has to finish the TLS handshake.
    pub tls_handshake_timeout_s: u64,
    /// Connections open at once; one more is answered `503` and closed.
    /// Keep it below the process's file descriptor limit (`ulimit -n`).
    pub max_connections: usize,
    /// Connections open at once from one client address (an IPv6 /64 counts
    /// as one address).
    pub max_connections_per_address: usize,
    /// Request bodies held in memory at once, bytes, over all uploads. An
    /// upload that does not fit waits up to 5 s, then is answered `503`
    /// with `Retry-After`. At least `max_body_bytes`.
    pub max_buffered_body_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 * 1024 * 1024,
            max_decompressed_bytes: 512 * 1024 * 1024,
            max_rows: 4_000_000,
            max_past_skew_s: 7 * 86_400,
            max_future_skew_s: 600,
            body_timeout_s: 60,
            header_timeout_s: 10,
            idle_timeout_s: 60,
            tls_handshake_timeout_s: 10,
            max_connections: 512,
            max_connections_per_address: 256,
            max_buffered_body_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading collector config {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown or mistyped keys.
    #[error("collector config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, with the key and line.
        message: String,
    },
    /// The values do not fit together.
    #[error("collector config {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What to fix.
        message: String,
    },
}

impl CollectorConfig {
    /// A configuration with every optional key at its default: plain HTTP
    /// on `listen` (which must then be loopback), the bundled databases.
    pub fn new(listen: SocketAddr, dataset_dir: PathBuf, state_dir: PathBuf) -> CollectorConfig {
        CollectorConfig {
            listen,
            tls_cert: None,
            tls_key: None,
            allow_insecure: false,
            dataset_dir,
            state_dir,
            country_db: None,
            asn_db: None,
            silent_after_s: default_silent_after_s(),
            compact_interval_s: default_compact_interval_s(),
            compact_min_files: default_compact_min_files(),
            retention_days: None,
            rollup_retention_days: None,
            vacuum_grace_s: default_vacuum_grace_s(),
            limits: Limits::default(),
        }
    }

    /// The dataset's `s3://` location, when `dataset_dir` names object storage.
    pub fn remote_dataset(&self) -> Option<&str> {
        self.dataset_dir.to_str().filter(|text| nightjar_dataset::TableLocation::names_object_storage(text))
    }

    /// Read and check a configuration file. Relative paths in it are taken
    /// relative to the file's folder.
    pub fn load(path: &Path) -> Result<CollectorConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let written: file::ConfigFile =
            toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
        let (mut config, deprecated) =
            written.resolve().map_err(|message| ConfigError::Invalid { path: path.into(), message })?;
        for key in &deprecated {
            tracing::warn!(config = %path.display(), "{key}");
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let remote = config.remote_dataset().is_some();
        for (p, is_url) in [(&mut config.dataset_dir, remote), (&mut config.state_dir, false)] {
            if p.is_relative() && !is_url {
                *p = base.join(&*p);
            }
        }
        for p in [&mut config.tls_cert, &mut config.tls_key, &mut config.country_db, &mut config.asn_db]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        config.check().map_err(|message| ConfigError::Invalid { path: path.into(), message })?;
        Ok(config)
    }

    /// Check values that parse but do not fit together.
    pub fn check(&self) -> Result<(), String> {
        let problem =
            transport_problem(self.listen, self.tls_cert.is_some(), self.tls_key.is_some(), self.allow_insecure);
        match problem {
            Some(TransportProblem::CertificateWithoutKey) => {
                return Err("`tls_cert` is set but `tls_key` is not".into());
            }
            Some(TransportProblem::KeyWithoutCertificate) => {
                return Err("`tls_key` is set but `tls_cert` is not".into());
            }
            Some(TransportProblem::PlainTextOffLoopback) => {
                return Err(format!(
                    "`listen` = {} is not a loopback address and no TLS is configured: set `tls_cert` and \
                     `tls_key`, or `allow_insecure = true` behind a TLS-terminating proxy",
                    self.listen
                ));
            }
            None => {}
        }
        let limits = &self.limits;
        if limits.max_body_bytes == 0 || limits.max_rows == 0 {
            return Err("`limits.max_body_bytes` and `limits.max_rows` must be above 0".into());
        }
        if limits.max_connections == 0 || limits.max_connections_per_address == 0 {
            return Err("`limits.max_connections` and `limits.max_connections_per_address` must be above 0".into());
        }
        for (key, seconds) in [
            ("body_timeout_s", limits.body_timeout_s),
            ("header_timeout_s", limits.header_timeout_s),
            ("idle_timeout_s", limits.idle_timeout_s),
            ("tls_handshake_timeout_s", limits.tls_handshake_timeout_s),
        ] {
            if seconds == 0 {
                return Err(format!("`limits.{key}` must be at least 1 second"));
            }
        }
        if limits.max_buffered_body_bytes < limits.max_body_bytes {
            return Err(format!(
                "`limits.max_buffered_body_bytes` ({}) must be at least `limits.max_body_bytes` ({}), or no \
                 upload of the largest size could ever be read",
                limits.max_buffered_body_bytes, limits.max_body_bytes
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<CollectorConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("collector.toml");
        std::fs::write(&path, text).unwrap();
        CollectorConfig::load(&path)
    }

    #[test]
    fn minimal_loopback_config_loads_with_relative_paths_resolved() {
        let config = load("listen = \"127.0.0.1:8080\"\ndataset_dir = \"data\"\nstate_dir = \"state\"\n").unwrap();
        assert!(config.dataset_dir.is_absolute() && config.dataset_dir.ends_with("data"));
        assert_eq!(config.remote_dataset(), None);
        let s3 = load("listen = \"127.0.0.1:8080\"\ndataset_dir = \"s3://bucket/telescope\"\nstate_dir = \"state\"\n")
            .unwrap();
        assert_eq!(s3.remote_dataset(), Some("s3://bucket/telescope"), "a URL is not made a path");
        assert!(s3.state_dir.is_absolute());
        assert_eq!(config.limits, Limits::default());
    }

    #[test]
    fn unknown_keys_and_plain_http_on_the_network_are_refused() {
        let err =
            load("listen = \"127.0.0.1:8080\"\ndataset_dir = \"d\"\nstate_dir = \"s\"\ndatset = 1\n").unwrap_err();
        assert!(err.to_string().contains("datset"), "{err}");
        let err = load("listen = \"0.0.0.0:8080\"\ndataset_dir = \"d\"\nstate_dir = \"s\"\n").unwrap_err();
        assert!(err.to_string().contains("tls_cert"), "{err}");
        let err = load("listen = \"127.0.0.1:8080\"\ndataset_dir = \"d\"\nstate_dir = \"s\"\n[limits]\nmax_rows = 0\n")
            .unwrap_err();
        assert!(err.to_string().contains("max_rows"), "{err}");
    }
}

#[cfg(test)]
mod units_tests {
    use super::*;

    fn load(text: &str) -> Result<CollectorConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("collector.toml");
        std::fs::write(&path, format!("listen = \"127.0.0.1:8080\"\ndataset_dir = \"d\"\nstate_dir = \"s\"\n{text}"))
            .unwrap();
        CollectorConfig::load(&path)
    }

    #[test]
    fn sizes_and_durations_take_units_and_old_keys_still_read() {
        let config = load(
            "silent_after = \"2m\"\n[limits]\nmax_body = \"1.5 MiB\"\nbody_timeout = \"90s\"\nmax_past_skew = \"1d\"\n",
        )
        .unwrap();
        assert_eq!(config.limits.max_body_bytes, 1_572_864);
        assert_eq!(config.limits.body_timeout_s, 90);
        assert_eq!(config.limits.max_past_skew_s, 86_400);
        assert_eq!(config.silent_after_s, 120);
        let old = load("silent_after_s = 120\n[limits]\nmax_body_bytes = 1572864\nbody_timeout_s = 90\n").unwrap();
        assert_eq!((old.limits.max_body_bytes, old.limits.body_timeout_s, old.silent_after_s), (1_572_864, 90, 120));
    }

    #[test]
    fn retention_and_vacuum_grace_are_read_and_a_grace_too_short_is_refused() {
        let config = load("retention_days = 400\nvacuum_grace = \"2h\"\n").expect("loads");
        assert_eq!((config.retention_days, config.vacuum_grace_s), (Some(400), 7200));
        let defaults = load("").expect("loads");
        assert_eq!((defaults.retention_days, defaults.vacuum_grace_s), (None, 86_400));
        let err = load("vacuum_grace = \"1m\"\n").expect_err("refused").to_string();
        assert!(err.contains("vacuum_grace = \"1m\" is too short"), "{err}");
    }

    #[test]
    fn a_key_and_its_old_name_together_or_a_bad_unit_are_refused() {
        let err = load("[limits]\nmax_body = \"1 MiB\"\nmax_body_bytes = 1048576\n").unwrap_err();
        assert!(err.to_string().contains("max_body_bytes") && err.to_string().contains("keep only"), "{err}");
        let err = load("[limits]\nmax_body = \"1 MeB\"\n").unwrap_err();
        assert!(err.to_string().contains("MeB"), "{err}");
        let err = load("[limits]\nbody_timeout = \"soon\"\n").unwrap_err();
        assert!(err.to_string().contains("body_timeout"), "{err}");
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    #[test]
    fn the_example_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("collector.example.toml");
        let config = CollectorConfig::load(&path).unwrap();
        assert_eq!(config.limits, Limits::default(), "the example documents the defaults");
        assert_eq!(config.silent_after_s, default_silent_after_s());
    }
}
