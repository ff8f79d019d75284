//! The round trip of the check: TCP, TLS, token, sensor id and clock, from
//! one heartbeat (`POST /v1/heartbeat`, answered `204`, `401` or `403`).

use std::time::{Duration, SystemTime};

use reqwest::header::DATE;

use super::{CheckFailed, MAX_CLOCK_SKEW, Report};
use crate::SensorConfig;
use crate::heartbeat::{self, BeatFailure};
use crate::sensor::Prepared;
use crate::spool::SpoolInspection;
use crate::uplink::{Refusal, describe_error};

/// The round trip with every configured collector in turn, each named in its
/// lines when there are several; stops at the first that fails.
pub(super) async fn round_trip(
    config: &SensorConfig,
    prepared: &Prepared,
    spool: &SpoolInspection,
    report: &mut Report<'_>,
) -> Result<(), CheckFailed> {
    let collectors = prepared.collectors.all();
    for (index, endpoints) in collectors.iter().enumerate() {
        if collectors.len() > 1 {
            report.scope(format!("collector {} of {} ({})", index + 1, collectors.len(), endpoints.authority()));
        }
        one_collector(config, prepared, &endpoints.heartbeat, spool, report).await?;
    }
    report.scope(String::new());
    Ok(())
}

async fn one_collector(
    config: &SensorConfig,
    prepared: &Prepared,
    url: &reqwest::Url,
    spool: &SpoolInspection,
    report: &mut Report<'_>,
) -> Result<(), CheckFailed> {
    connect(url, config.uplink.connect_timeout).await.map_err(|detail| report.failed("connect", detail))?;
    report.passed("connect", format!("{} accepts connections", authority(url)));

    let (next_seq, batches, bytes) = match spool {
        SpoolInspection::Present { batches, bytes, next_seq, .. } => (*next_seq, *batches, *bytes),
        SpoolInspection::Absent { .. } => (1, 0, 0),
    };
    let body = heartbeat::body(&config.sensor.id, 0, next_seq, batches, bytes, &Default::default());
    let sent_at = SystemTime::now();
    let answer = heartbeat::send(&prepared.client, url, &prepared.token, &body).await;
    let received_at = SystemTime::now();

    let https = url.scheme() == "https";
    let trusted = match &config.uplink.ca_file {
        Some(ca) => format!("`uplink.ca_file` {}", ca.display()),
        None => "the system's CA roots".to_string(),
    };
    let headers = match answer {
        Err(BeatFailure::NoAnswer(error)) => {
            let why = describe_error(&error);
            if https && is_tls_failure(&error) {
                return Err(report.failed(
                    "tls",
                    format!(
                        "the TLS handshake failed ({why}); the collector's certificate must be signed by a CA in {trusted} and name the host of `uplink.url`"
                    ),
                ));
            }
            return Err(report.failed("heartbeat", format!("no answer to POST {url}: {why}")));
        }
        Err(BeatFailure::Refused(Refusal::Unauthorized, why)) => {
            tls_passed(report, https, &trusted);
            return Err(report.failed("token", Refusal::Unauthorized.explain(&why)));
        }
        Err(BeatFailure::Refused(Refusal::Forbidden, why)) => {
            tls_passed(report, https, &trusted);
            report.passed("token", "known to the collector");
            return Err(report.failed("sensor id", Refusal::Forbidden.explain(&why)));
        }
        Err(BeatFailure::Failed(why)) => {
            tls_passed(report, https, &trusted);
            return Err(report.failed(
                "heartbeat",
                format!("POST {url} was answered {why}; is `uplink.url` the collector's base URL?"),
            ));
        }
        Ok(headers) => headers,
    };
    tls_passed(report, https, &trusted);
    report.passed("token", "accepted by the collector");
    report.passed("sensor id", format!("`{}` is the sensor the token belongs to", config.sensor.id));

    let Some(date) = headers.get(DATE).and_then(|v| v.to_str().ok()) else {
        report.skipped("clock", "the collector's answer has no `Date` header");
        return Ok(());
    };
    let Ok(collector_time) = chrono::DateTime::parse_from_rfc2822(date) else {
        report.skipped("clock", format!("the collector's `Date: {date}` is not an HTTP date"));
        return Ok(());
    };
    // `Date` has whole seconds: the collector's clock read somewhere in the
    // second it names, while this host's read between sending and receiving.
    let collector_ms = collector_time.timestamp_millis() + 500;
    let here_ms = midpoint_ms(sent_at, received_at);
    let ahead_ms = here_ms - collector_ms;
    let skew = Duration::from_millis(ahead_ms.unsigned_abs());
    let words = skew_words(ahead_ms);
    if skew > MAX_CLOCK_SKEW {
        let consequence = if ahead_ms > 0 {
            "the collector rejects rows more than 10 minutes newer than its clock (422)"
        } else {
            "every packet would be stamped that much too early"
        };
        return Err(report.failed(
            "clock",
            format!(
                "{words} (collector's Date: {date}); {consequence}. Set the time right on this host (NTP: `timedatectl set-ntp true`) or on the collector"
            ),
        ));
    }
    report.passed("clock", words);
    Ok(())
}

/// An answer came back, so the TLS handshake (if any) succeeded.
fn tls_passed(report: &mut Report<'_>, https: bool, trusted: &str) {
    if https {
        report.passed("tls", format!("the collector's certificate is trusted ({trusted})"));
    } else {
        report.skipped("tls", "plain http: no TLS");
    }
}

/// Open (and close) one TCP connection to the URL's host and port.
async fn connect(url: &reqwest::Url, timeout: Duration) -> Result<(), String> {
    let lookup = url.clone();
    let addresses = tokio::task::spawn_blocking(move || lookup.socket_addrs(|| None))
        .await
        .map_err(|e| format!("resolving {}: {e}", authority(url)))?
        .map_err(|e| format!("cannot resolve {}: {e}", authority(url)))?;
    let attempt = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&addresses[..])).await;
    match attempt {
        Ok(Ok(_stream)) => Ok(()),
        Ok(Err(error)) => Err(format!(
            "cannot connect to {}: {error}; is the collector running, and may this host reach it (firewall)?",
            authority(url)
        )),
        Err(_) => Err(format!(
            "no connection to {} within {timeout:?} (`uplink.connect_timeout`); a firewall may drop the packets",
            authority(url)
        )),
    }
}

fn authority(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        _ => url.to_string(),
    }
}

/// Whether the request failed in the TLS handshake (untrusted or wrong certificate).
fn is_tls_failure(error: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = current.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref)
            && inner.is::<rustls::Error>()
        {
            return true;
        }
        cause = current.source();
    }
    // The connector may box the rustls error where a downcast cannot see it;
    // its words are rustls's own.
    let words = describe_error(error);
    ["invalid peer certificate", "peer is incompatible", "received fatal alert", "peer sent no certificates"]
        .iter()
        .any(|rustls_words| words.contains(rustls_words))
}

fn midpoint_ms(from: SystemTime, to: SystemTime) -> i64 {
    let ms = |t: SystemTime| match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(before) => -(before.duration().as_millis() as i64),
    };
    ms(from) + (ms(to) - ms(from)) / 2
}

fn skew_words(ahead_ms: i64) -> String {
    let seconds = ahead_ms.unsigned_abs().div_ceil(1000);
    if seconds <= 1 {
        "this host's clock agrees with the collector's (within 1 s)".into()
    } else if ahead_ms > 0 {
        format!("this host's clock is {} ahead of the collector's", humanize(seconds))
    } else {
        format!("this host's clock is {} behind the collector's", humanize(seconds))
    }
}

fn humanize(seconds: u64) -> String {
    if seconds < 120 { format!("{seconds} s") } else { format!("{} min", seconds / 60) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_is_said_in_words() {
        assert!(skew_words(400).contains("agrees"));
        assert_eq!(skew_words(3_000), "this host's clock is 3 s ahead of the collector's");
        assert_eq!(skew_words(-900_000), "this host's clock is 15 min behind the collector's");
    }
}
