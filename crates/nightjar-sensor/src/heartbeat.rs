//! The heartbeat: `POST /v1/heartbeat` at a fixed interval, also when no
//! packet arrives, so that a silent sensor is visible at the collector.
//! With several collectors every one gets each heartbeat, so each of them
//! knows the sensor is alive whichever one its batches go to.
//!
//! A heartbeat the collector refuses (401, 403) is counted by reason and
//! logged at `error` with the collector's message, at once and then at most
//! once a minute; other failures are logged at `warn` the same way. The
//! heartbeat goes on after the uplink stopped on a conflict, carrying the
//! counters that say so.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;

use tokio::sync::Notify;

use crate::error::ConfigError;
use crate::log_limit::{LogEvery, REPEAT_PERIOD};
use crate::metrics::Metrics;
use crate::spool::Spool;
use crate::uplink::{Collectors, Endpoints, Refusal, Verdict, classify, describe_answer};

/// The liveness signal.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// Time between two heartbeats (default `"30s"`; 1 s to 60 s — the
    /// collector expects one at least every 60 s). The first is sent at start.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig { interval: default_interval() }
    }
}

fn default_interval() -> Duration {
    Duration::from_secs(30)
}

impl HeartbeatConfig {
    /// Between 1 s and the protocol's 60 s.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.interval < Duration::from_secs(1) || self.interval > Duration::from_secs(60) {
            return Err(ConfigError::invalid(
                "heartbeat.interval",
                format!(
                    "{:?} is outside 1s to 60s (the collector expects a heartbeat at least every 60 s)",
                    self.interval
                ),
            ));
        }
        Ok(())
    }
}

/// The heartbeat task's state.
pub(crate) struct Heartbeat {
    pub(crate) client: reqwest::Client,
    pub(crate) collectors: Arc<Collectors>,
    pub(crate) token: String,
    pub(crate) sensor: String,
    pub(crate) interval: Duration,
    pub(crate) spool: Arc<Spool>,
    pub(crate) metrics: Arc<Metrics>,
    /// Notified when the uplink wants a heartbeat at once.
    pub(crate) now: Arc<Notify>,
}

/// Why a heartbeat did not get its `2xx`.
#[derive(Debug)]
pub(crate) enum BeatFailure {
    /// `401` or `403`, with the collector's words.
    Refused(Refusal, String),
    /// Any other answer.
    Failed(String),
    /// No answer: connection, TLS or timeout.
    NoAnswer(reqwest::Error),
}

/// Which repeated problems with one collector's heartbeats were logged when.
struct BeatLogs {
    refused: LogEvery,
    failed: LogEvery,
}

impl Heartbeat {
    /// Beat until the task is dropped: every collector at each tick.
    pub(crate) async fn run(self) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut logs: Vec<BeatLogs> = (0..self.collectors.len())
            .map(|_| BeatLogs { refused: LogEvery::new(REPEAT_PERIOD), failed: LogEvery::new(REPEAT_PERIOD) })
            .collect();
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = self.now.notified() => {}
            }
            // Sent side by side: a collector that hangs must not delay the others.
            let body = Arc::new(self.body());
            let mut beats = tokio::task::JoinSet::new();
            for (index, endpoints) in self.collectors.all().iter().enumerate() {
                let (client, url, token, body) =
                    (self.client.clone(), endpoints.heartbeat.clone(), self.token.clone(), Arc::clone(&body));
                beats.spawn(async move { (index, send(&client, &url, &token, &body).await.map(|_| ())) });
            }
            while let Some(done) = beats.join_next().await {
                match done {
                    Ok((index, outcome)) => self.record(outcome, &self.collectors.all()[index], &mut logs[index]),
                    Err(error) => tracing::error!(error = %error, "a heartbeat task failed"),
                }
            }
        }
    }

    /// Count and log one collector's answer to a heartbeat.
    fn record(&self, outcome: Result<(), BeatFailure>, endpoints: &Endpoints, logs: &mut BeatLogs) {
        let collector = endpoints.authority();
        match outcome {
            Ok(()) => {
                self.metrics.heartbeats_sent.inc();
                if logs.refused.active() || logs.failed.active() {
                    tracing::info!(collector, "heartbeats are accepted again");
                }
                logs.refused.reset();
                logs.failed.reset();
            }
            Err(BeatFailure::Refused(refusal, why)) => {
                self.metrics.heartbeat_failures.inc();
                self.metrics.heartbeat_refused(refusal);
                if let Some(left_out) = logs.refused.admit() {
                    tracing::error!(
                        sensor = %self.sensor,
                        collector,
                        reason = refusal.name(),
                        refused_since_last_line = left_out,
                        "the collector refuses this sensor's heartbeat: {}",
                        refusal.explain(&why)
                    );
                }
            }
            Err(failure @ (BeatFailure::Failed(_) | BeatFailure::NoAnswer(_))) => {
                let why = match failure {
                    BeatFailure::NoAnswer(error) => format!("no answer: {}", crate::uplink::describe_error(&error)),
                    BeatFailure::Failed(why) | BeatFailure::Refused(_, why) => why,
                };
                self.metrics.heartbeat_failures.inc();
                if let Some(left_out) = logs.failed.admit() {
                    tracing::warn!(
                        collector,
                        failed_since_last_line = left_out,
                        "heartbeat failed ({why}); this collector will see this sensor as silent until one gets through"
                    );
                }
            }
        }
    }

    /// The heartbeat body of the protocol.
    pub(crate) fn body(&self) -> serde_json::Value {
        let snapshot = self.metrics.snapshot();
        let stats = self.spool.stats();
        body(&self.sensor, snapshot.uptime_s, stats.next_seq, stats.batches, stats.bytes, &snapshot.flat())
    }
}

/// The heartbeat body of `schemas/wire-protocol-v1.md`.
pub(crate) fn body(
    sensor: &str,
    uptime_s: u64,
    next_batch_seq: u64,
    spooled_batches: u64,
    spooled_bytes: u64,
    counters: &std::collections::BTreeMap<String, u64>,
) -> serde_json::Value {
    serde_json::json!({
        "sensor": sensor,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": uptime_s,
        "next_batch_seq": next_batch_seq,
        "spooled_batches": spooled_batches,
        "spooled_bytes": spooled_bytes,
        "counters": counters,
    })
}

/// POST one heartbeat; the accepted answer's headers (for its `Date`).
pub(crate) async fn send(
    client: &reqwest::Client,
    url: &Url,
    token: &str,
    body: &serde_json::Value,
) -> Result<reqwest::header::HeaderMap, BeatFailure> {
    let response = client
        .post(url.clone())
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(BeatFailure::NoAnswer)?;
    let status = response.status();
    let headers = response.headers().clone();
    if status.is_success() {
        return Ok(headers);
    }
    let answer = response.bytes().await.unwrap_or_default();
    match classify(status.as_u16(), None, &answer) {
        Verdict::RetrySlowly { refusal, why } => Err(BeatFailure::Refused(refusal, why)),
        _ => Err(BeatFailure::Failed(describe_answer(status.as_u16(), &answer))),
    }
}
