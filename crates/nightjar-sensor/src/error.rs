//! The errors a sensor reports at start: each names the config key or the
//! path to fix.

use std::path::PathBuf;

use crate::spool::SpoolError;

/// A configuration that cannot be used, with the key (dotted path, as in the
/// TOML file) or file it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("{key}: {message}")]
    Syntax {
        /// Dotted path of the offending key (`.` for the whole file).
        key: String,
        /// What the TOML reader said, with line and column.
        message: String,
    },
    /// A value that parses but cannot be used.
    #[error("`{key}`: {problem}")]
    Invalid {
        /// Dotted path of the offending key, e.g. `filter.dark_prefixes[1]`.
        key: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A file the config names cannot be used.
    #[error("`{key}` = {path}: {problem}")]
    File {
        /// The key naming the file.
        key: String,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

impl ConfigError {
    /// The dotted key the error is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Syntax { key, .. } | ConfigError::Invalid { key, .. } | ConfigError::File { key, .. } => {
                Some(key)
            }
        }
    }

    pub(crate) fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError::Invalid { key: key.into(), problem: problem.into() }
    }

    pub(crate) fn file(key: impl Into<String>, path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        ConfigError::File { key: key.into(), path: path.into(), problem: problem.into() }
    }
}

/// Why a sensor cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// The configuration, or a file it names, cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The spool directory cannot be opened or written.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The capture interface cannot be opened.
    #[error("capture interface `{interface}` (`capture.interface`): {problem}")]
    Interface {
        /// The interface name.
        interface: String,
        /// What went wrong and what to check.
        problem: String,
    },
    /// The metrics endpoint cannot listen on its address.
    #[error("metrics endpoint (`metrics.listen` = {address}) cannot listen")]
    MetricsListen {
        /// The address asked for.
        address: std::net::SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client cannot be built (TLS setup).
    #[error("uplink client: {0}")]
    Client(String),
    /// A worker thread could not be started or died.
    #[error("sensor worker `{0}` failed: {1}")]
    Worker(&'static str, String),
}

#[cfg(test)]
mod tests {
    use nightjar_ops::error_chain;

    use super::*;
    use crate::SensorConfig;

    // The messages used to end with their cause, which the chain then said again.
    #[test]
    fn an_os_error_is_said_once_after_the_path() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let missing = dir.path().join("missing.toml");
        let error = SensorError::from(SensorConfig::load(&missing).expect_err("no such file"));
        let chain = error_chain(&error);
        assert_eq!(chain.matches("No such file or directory").count(), 1, "{chain}");
        assert!(chain.starts_with(&format!("cannot read config file {}: ", missing.display())), "{chain}");

        let spool = SpoolError::Io {
            action: "create",
            path: dir.path().join("spool"),
            source: std::io::Error::from_raw_os_error(libc::EACCES),
        };
        let chain = error_chain(&SensorError::from(spool));
        assert_eq!(chain.matches("Permission denied").count(), 1, "{chain}");
        assert!(chain.starts_with("spool: cannot create "), "{chain}");
    }
}
