//! The HTTP client: rustls with the ring provider (no OpenSSL), trusting
//! the configured CA file or the system's roots.

use std::sync::Arc;

use reqwest::Url;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::UplinkConfig;
use crate::error::{ConfigError, SensorError};

/// The collector's two endpoints.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// `POST` batches here.
    pub batches: Url,
    /// `POST` heartbeats here.
    pub heartbeat: Url,
}

impl Endpoints {
    /// The endpoints under the configured base URL.
    pub fn new(config: &UplinkConfig) -> Result<Endpoints, ConfigError> {
        let base = config.base_url()?;
        let join = |path: &str| {
            base.join(path).map_err(|e| ConfigError::invalid("uplink.url", format!("cannot append `{path}`: {e}")))
        };
        Ok(Endpoints { batches: join("v1/batches")?, heartbeat: join("v1/heartbeat")? })
    }
}

/// Build the client for `config`.
pub fn build_client(config: &UplinkConfig) -> Result<reqwest::Client, SensorError> {
    let roots = root_store(config)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SensorError::Client(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .user_agent(concat!("nightjar-sensor/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SensorError::Client(e.to_string()))
}

fn root_store(config: &UplinkConfig) -> Result<RootCertStore, SensorError> {
    let mut roots = RootCertStore::empty();
    if let Some(path) = &config.ca_file {
        let bad = |problem: String| SensorError::Config(ConfigError::file("uplink.ca_file", path, problem));
        let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        for cert in CertificateDer::pem_slice_iter(&bytes) {
            let cert = cert.map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
            roots.add(cert).map_err(|e| bad(format!("unusable certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(bad("holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)".into()));
        }
        return Ok(roots);
    }
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        tracing::info!("no system CA certificates found; trusting the bundled Mozilla roots");
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    Ok(roots)
}
