//! Where batches and heartbeats go, and how hard to try.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::error::ConfigError;

/// The collectors and how to reach them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UplinkConfig {
    /// Base URL of the collector, e.g. `"https://collector.example.net:8443"`,
    /// or a list of them (`["https://a.example.net", "https://b.example.net"]`)
    /// for failover: batches go to the first that answers and stay with it
    /// until it fails; heartbeats go to every one. Batches go to
    /// `URL/v1/batches`, heartbeats to `URL/v1/heartbeat`. `https` is
    /// required, except to a loopback address (`127.0.0.0/8`, `::1`,
    /// `localhost`) or with `allow_insecure = true`.
    pub url: CollectorUrls,
    /// PEM file of the CA certificate(s) that signed the collector's
    /// certificate; only these are trusted when set. Without it the system's
    /// roots are used (and Mozilla's bundled roots where the system has none).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow a plain `http://` URL to a non-loopback collector (default
    /// false). Everything, token included, then crosses the network in clear.
    #[serde(default)]
    pub allow_insecure: bool,
    /// Longest wait for a connection (default `"10s"`).
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Longest wait for a whole request and its answer (default `"60s"`).
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// First wait before a failed upload is retried (default `"1s"`); it
    /// doubles with every failure up to `max_backoff`, with random jitter,
    /// and is never shorter than the collector's `Retry-After`.
    #[serde(default = "default_initial_backoff", with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Longest wait between two upload attempts (default `"5m"`).
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Wait between attempts while the collector refuses the token (401,
    /// 403), which only the operator can fix (default `"60s"`). Each refusal
    /// is counted and logged at error level (at once, then at most once a
    /// minute).
    #[serde(default = "default_auth_retry", with = "humantime_serde")]
    pub auth_retry: Duration,
    /// zstd level of upload bodies (default 3; 1 to 19).
    #[serde(default = "default_zstd_level")]
    pub zstd_level: i32,
}

/// One collector URL or several, as `uplink.url` accepts them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectorUrls(Vec<String>);

impl CollectorUrls {
    /// The URLs as written, in the order of preference.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl From<&str> for CollectorUrls {
    fn from(url: &str) -> Self {
        CollectorUrls(vec![url.to_string()])
    }
}

impl<'de> Deserialize<'de> for CollectorUrls {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "a URL or a list of URLs")]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(url) => CollectorUrls(vec![url]),
            OneOrMany::Many(urls) => CollectorUrls(urls),
        })
    }
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_initial_backoff() -> Duration {
    Duration::from_secs(1)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(300)
}
fn default_auth_retry() -> Duration {
    Duration::from_secs(60)
}
fn default_zstd_level() -> i32 {
    3
}

impl UplinkConfig {
    /// The URLs' schemes and hosts, and the ranges of the timings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.base_urls()?;
        let positive = [
            ("uplink.connect_timeout", self.connect_timeout),
            ("uplink.request_timeout", self.request_timeout),
            ("uplink.initial_backoff", self.initial_backoff),
            ("uplink.max_backoff", self.max_backoff),
            ("uplink.auth_retry", self.auth_retry),
        ];
        for (key, value) in positive {
            if value.is_zero() {
                return Err(ConfigError::invalid(key, "must be above 0"));
            }
        }
        if self.max_backoff < self.initial_backoff {
            return Err(ConfigError::invalid("uplink.max_backoff", "is shorter than `uplink.initial_backoff`"));
        }
        if !(1..=19).contains(&self.zstd_level) {
            return Err(ConfigError::invalid("uplink.zstd_level", format!("{} is outside 1 to 19", self.zstd_level)));
        }
        Ok(())
    }

    /// The base URLs, checked, in the order of preference, each ending in
    /// `/` so endpoints join under it: at least one, none twice.
    pub fn base_urls(&self) -> Result<Vec<Url>, ConfigError> {
        let urls = self.url.as_slice();
        if urls.is_empty() {
            return Err(ConfigError::invalid("uplink.url", "names no collector; give a URL or a list of URLs"));
        }
        let mut checked: Vec<Url> = Vec::with_capacity(urls.len());
        for text in urls {
            let url = self.base_url(text)?;
            if checked.contains(&url) {
                return Err(ConfigError::invalid("uplink.url", format!("names `{text}` twice")));
            }
            checked.push(url);
        }
        Ok(checked)
    }

    /// One base URL, checked, ending in `/`.
    fn base_url(&self, text: &str) -> Result<Url, ConfigError> {
        let bad = |problem: String| ConfigError::invalid("uplink.url", problem);
        let mut url = Url::parse(text).map_err(|e| bad(format!("`{text}` is not a URL: {e}")))?;
        let host = url.host_str().ok_or_else(|| bad(format!("`{text}` names no host")))?.to_string();
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) || self.allow_insecure => {}
            "http" => {
                return Err(bad(format!(
                    "plain http to `{host}` would send the token and the data in clear; use https, or set `uplink.allow_insecure = true` if this network is trusted"
                )));
            }
            other => return Err(bad(format!("scheme `{other}` of `{text}` is not supported; use https"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(format!(
                "`{host}`: the URL must not hold credentials; the token comes from `sensor.token_file`"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad(format!("`{text}` must not have a query or fragment")));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(url)
    }
}

/// `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
