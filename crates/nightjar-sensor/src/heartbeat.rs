//! The heartbeat: `POST /v1/heartbeat` at a fixed interval, also when no
//! packet arrives, so that a silent sensor is visible at the collector.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;

use crate::error::ConfigError;
use crate::metrics::Metrics;
use crate::spool::Spool;

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
    pub(crate) url: Url,
    pub(crate) token: String,
    pub(crate) sensor: String,
    pub(crate) interval: Duration,
    pub(crate) spool: Arc<Spool>,
    pub(crate) metrics: Arc<Metrics>,
}

impl Heartbeat {
    /// Beat until the task is dropped.
    pub(crate) async fn run(self) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            ticker.tick().await;
            match self.beat().await {
                Ok(()) => {
                    self.metrics.heartbeats_sent.inc();
                    if failing {
                        tracing::info!("heartbeats are accepted again");
                        failing = false;
                    }
                }
                Err(why) => {
                    self.metrics.heartbeat_failures.inc();
                    if !failing {
                        tracing::warn!(
                            why,
                            "heartbeat failed; the collector will see this sensor as silent until one gets through"
                        );
                        failing = true;
                    }
                }
            }
        }
    }

    /// The heartbeat body of the protocol.
    pub(crate) fn body(&self) -> serde_json::Value {
        let snapshot = self.metrics.snapshot();
        let stats = self.spool.stats();
        serde_json::json!({
            "sensor": self.sensor,
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": snapshot.uptime_s,
            "next_batch_seq": stats.next_seq,
            "spooled_batches": stats.batches,
            "spooled_bytes": stats.bytes,
            "counters": snapshot.flat(),
        })
    }

    async fn beat(&self) -> Result<(), String> {
        let response = self
            .client
            .post(self.url.clone())
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(CONTENT_TYPE, "application/json")
            .body(self.body().to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let text = response.text().await.unwrap_or_default();
            Err(format!("HTTP {}: {}", status.as_u16(), text.trim()))
        }
    }
}
