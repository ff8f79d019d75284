//! How the Flight SQL server listens and whom it lets in.

use std::net::SocketAddr;
use std::path::PathBuf;

use nightjar_ops::{TransportProblem, transport_problem};
use serde::Deserialize;

use crate::FlightSqlError;

/// Everything the Flight SQL server needs besides the query engine.
///
/// ```toml
/// listen = "0.0.0.0:50051"
/// tokens = "/etc/nightjar/sql-tokens"
/// tls_cert = "/etc/nightjar/sql.crt"
/// tls_key = "/etc/nightjar/sql.key"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlightSqlConfig {
    /// Address and port to listen on, e.g. `127.0.0.1:50051`; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The tokens file: one `NAME SHA256-HEX` line per analyst (see [`crate::tokens`]).
    pub tokens: PathBuf,
    /// TLS certificate chain, PEM. Together with `tls_key`; without both the server speaks
    /// plain gRPC, which is allowed only on a loopback address unless `allow_insecure` is set.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key, PEM.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Allow plain gRPC on a non-loopback address (behind a TLS-terminating proxy). Tokens then
    /// cross the network in clear text up to the proxy.
    #[serde(default)]
    pub allow_insecure: bool,
}

impl FlightSqlConfig {
    /// Plain gRPC on `listen` (loopback, or with `allow_insecure`), tokens from `tokens`.
    pub fn new(listen: SocketAddr, tokens: PathBuf) -> FlightSqlConfig {
        FlightSqlConfig { listen, tokens, tls_cert: None, tls_key: None, allow_insecure: false }
    }

    /// Checks values that parse but do not fit together.
    pub fn check(&self) -> Result<(), FlightSqlError> {
        let problem =
            transport_problem(self.listen, self.tls_cert.is_some(), self.tls_key.is_some(), self.allow_insecure);
        match problem {
            Some(TransportProblem::CertificateWithoutKey) => {
                Err(FlightSqlError::Config("a TLS certificate is given but no TLS key".into()))
            }
            Some(TransportProblem::KeyWithoutCertificate) => {
                Err(FlightSqlError::Config("a TLS key is given but no TLS certificate".into()))
            }
            Some(TransportProblem::PlainTextOffLoopback) => Err(FlightSqlError::Config(format!(
                "{} is not a loopback address and no TLS is configured: give a TLS certificate and key, \
                 or allow insecure (plain gRPC) behind a TLS-terminating proxy",
                self.listen
            ))),
            None => Ok(()),
        }
    }

    /// Whether the server speaks TLS.
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_refused_off_loopback_and_half_a_tls_pair_is_named() {
        let public = FlightSqlConfig::new("0.0.0.0:50051".parse().unwrap(), "tokens".into());
        assert!(public.check().unwrap_err().to_string().contains("not a loopback address"));
        assert!(FlightSqlConfig { allow_insecure: true, ..public.clone() }.check().is_ok());
        let half = FlightSqlConfig { tls_cert: Some("c.pem".into()), ..public.clone() };
        assert!(half.check().unwrap_err().to_string().contains("no TLS key"));
        let loopback = FlightSqlConfig::new("127.0.0.1:0".parse().unwrap(), "tokens".into());
        assert!(loopback.check().is_ok());
    }
}
