//! The HTTP client: rustls with the ring provider (no OpenSSL), trusting
//! the configured CA file or the system's roots.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Url;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::UplinkConfig;
use crate::error::{ConfigError, SensorError};

/// One collector's two endpoints.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// `POST` batches here.
    pub batches: Url,
    /// `POST` heartbeats here.
    pub heartbeat: Url,
}

impl Endpoints {
    /// The endpoints under one checked base URL.
    fn under(base: &Url) -> Result<Endpoints, ConfigError> {
        let join = |path: &str| {
            base.join(path).map_err(|e| ConfigError::invalid("uplink.url", format!("cannot append `{path}`: {e}")))
        };
        Ok(Endpoints { batches: join("v1/batches")?, heartbeat: join("v1/heartbeat")? })
    }

    /// `host:port` of the collector, for logs.
    pub fn authority(&self) -> String {
        match (self.batches.host_str(), self.batches.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            _ => self.batches.to_string(),
        }
    }
}

/// The configured collectors, in the order of preference, and the one
/// batches go to now.
///
/// Batches stay with one collector while it answers. When an upload to it
/// fails in a way another collector may not share (no answer, `5xx`, `429`,
/// a refused token), the uplink moves to the next one in the list, around
/// in a ring; the batch is sent there at once, and only when every
/// collector failed in a row does it wait its backoff.
#[derive(Debug)]
pub struct Collectors {
    list: Vec<Endpoints>,
    active: AtomicUsize,
}

impl Collectors {
    /// The collectors of `uplink.url`, the first one active.
    pub fn new(config: &UplinkConfig) -> Result<Collectors, ConfigError> {
        let list = config.base_urls()?.iter().map(Endpoints::under).collect::<Result<Vec<_>, _>>()?;
        Ok(Collectors { list, active: AtomicUsize::new(0) })
    }

    /// Every collector, in the order of preference.
    pub fn all(&self) -> &[Endpoints] {
        &self.list
    }

    /// How many collectors there are (at least one).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there is none (never, once built from a valid config).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The position and endpoints of the collector batches go to now.
    pub fn active(&self) -> (usize, &Endpoints) {
        let index = self.active.load(Ordering::Relaxed) % self.list.len().max(1);
        (index, &self.list[index])
    }

    /// Move on from collector `failed` to the next in the ring (unless
    /// another task already moved on); the position now active.
    pub fn fail_over(&self, failed: usize) -> usize {
        let next = (failed + 1) % self.list.len().max(1);
        match self.active.compare_exchange(failed, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => next,
            Err(current) => current,
        }
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
