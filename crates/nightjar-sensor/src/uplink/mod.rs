//! The uplink: spooled batches to the collector, oldest first, one at a
//! time, as `schemas/wire-protocol-v1.md` prescribes.
//!
//! Each batch is sent with its spooled body and headers until a final
//! answer: acknowledged (deleted from the spool), refused for good (moved to
//! `rejected/` with the reason), or too large (split in two new batches).
//! Everything else is retried — with exponential backoff and jitter, never
//! sooner than `Retry-After`, and slowly while the token is refused.

mod backoff;
mod client;
mod config;
mod response;

use std::sync::Arc;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use nightjar_record::wire::{self, DecodeLimits};
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use tokio::sync::Notify;

pub use backoff::Backoff;
pub use client::{Endpoints, build_client};
pub use config::UplinkConfig;
pub use response::{Verdict, classify, parse_retry_after};

use crate::metrics::Metrics;
use crate::pipeline::renumber;
use crate::spool::{Push, Spool, SpooledBatch};

/// Shortest log gap for repeated failures of one batch.
const REPEAT_LOG_EVERY: u32 = 10;

/// The upload task's state.
pub(crate) struct Uplink {
    pub(crate) client: reqwest::Client,
    pub(crate) endpoints: Endpoints,
    pub(crate) token: String,
    pub(crate) spool: Arc<Spool>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) config: UplinkConfig,
    /// Notified whenever a batch is spooled.
    pub(crate) wake: Arc<Notify>,
}

impl Uplink {
    /// Upload forever (the task is dropped at shutdown; an interrupted
    /// upload is sent again next time and acknowledged as a duplicate).
    pub(crate) async fn run(self) {
        let mut backoff = Backoff::new(self.config.initial_backoff, self.config.max_backoff);
        loop {
            let spool = Arc::clone(&self.spool);
            let next = tokio::task::spawn_blocking(move || spool.checkout()).await.ok().flatten();
            let Some(batch) = next else {
                self.wake.notified().await;
                continue;
            };
            self.deliver(batch, &mut backoff).await;
        }
    }

    /// Send one batch until it has a final answer.
    async fn deliver(&self, batch: SpooledBatch, backoff: &mut Backoff) {
        let mut failures = 0u32;
        loop {
            let verdict = self.send(&batch).await;
            let (delay, why, slow) = match verdict {
                Verdict::Acknowledged { duplicate } => {
                    if duplicate {
                        self.metrics.duplicate_batches.inc();
                    } else {
                        self.metrics.uploaded_batches.inc();
                        self.metrics.uploaded_rows.add(u64::from(batch.rows));
                    }
                    tracing::debug!(seq = batch.seq, rows = batch.rows, duplicate, "batch acknowledged");
                    self.spool_op(move |spool| spool.acknowledge(batch.seq)).await;
                    backoff.reset();
                    if failures > 0 {
                        tracing::info!(seq = batch.seq, failures, "upload succeeded after retries");
                    }
                    return;
                }
                Verdict::Reject { why } => {
                    self.reject(&batch, &why).await;
                    return;
                }
                Verdict::TooLarge { why } => {
                    if batch.rows > 1 {
                        self.split(batch, &why).await;
                    } else {
                        self.reject(&batch, &why).await;
                    }
                    return;
                }
                Verdict::RetryAfter { delay, why } => {
                    let wait = backoff.next_delay();
                    (delay.map_or(wait, |d| d.max(Duration::from_millis(1))), why, false)
                }
                Verdict::RetrySlowly { why } => (backoff.next_delay().max(self.config.auth_retry), why, true),
                Verdict::Retry { why } => (backoff.next_delay(), why, false),
            };
            failures += 1;
            self.metrics.upload_retries.inc();
            if failures == 1 || failures.is_multiple_of(REPEAT_LOG_EVERY) {
                if slow {
                    tracing::error!(seq = batch.seq, failures, retry_in = ?delay, why, "the collector refuses this sensor's token; fix `sensor.token_file` or the sensor's registration; the batch stays spooled");
                } else {
                    tracing::warn!(seq = batch.seq, failures, retry_in = ?delay, why, "upload failed; the batch stays spooled and is retried");
                }
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// One POST; network errors and timeouts become [`Verdict::Retry`].
    async fn send(&self, batch: &SpooledBatch) -> Verdict {
        let request = self
            .client
            .post(self.endpoints.batches.clone())
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(CONTENT_TYPE, wire::CONTENT_TYPE)
            .header(CONTENT_ENCODING, wire::ENCODING_ZSTD)
            .header(wire::HEADER_SENSOR, &batch.sensor)
            .header(wire::HEADER_BATCH_SEQ, batch.seq.to_string())
            .header(wire::HEADER_SCHEMA_VERSION, wire::WIRE_SCHEMA_VERSION.to_string())
            .body(batch.body.clone());
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
                let body = response.bytes().await.unwrap_or_default();
                classify(status, retry_after.as_deref(), &body)
            }
            Err(error) => Verdict::Retry { why: describe_error(&error) },
        }
    }

    async fn reject(&self, batch: &SpooledBatch, why: &str) {
        tracing::error!(
            seq = batch.seq,
            rows = batch.rows,
            why,
            "the collector refused this batch for good; moved to the spool's rejected/ folder"
        );
        self.metrics.rejected_batches.inc();
        self.metrics.rejected_rows.add(u64::from(batch.rows));
        let (seq, note) = (batch.seq, format!("seq {} ({} rows): {why}", batch.seq, batch.rows));
        self.spool_op(move |spool| spool.reject(seq, &note)).await;
    }

    /// `413` on a batch of several rows: spool its two halves as new batches
    /// (new sequence numbers), then drop it.
    async fn split(&self, batch: SpooledBatch, why: &str) {
        tracing::warn!(
            seq = batch.seq,
            rows = batch.rows,
            why,
            "the collector finds this batch too large; splitting it in two"
        );
        let level = self.config.zstd_level;
        let metrics = Arc::clone(&self.metrics);
        let why = why.to_string();
        let spool = Arc::clone(&self.spool);
        let done =
            tokio::task::spawn_blocking(move || split_batch(&spool, &batch, level).map_err(|e| (batch, e))).await;
        match done {
            Ok(Ok(())) => metrics.split_batches.inc(),
            Ok(Err((batch, problem))) => {
                tracing::error!(seq = batch.seq, problem, "cannot split the batch");
                self.reject(&batch, &format!("{why}; splitting failed: {problem}")).await;
            }
            Err(e) => tracing::error!(error = %e, "the split task failed"),
        }
    }

    async fn spool_op(&self, op: impl FnOnce(&Spool) + Send + 'static) {
        let spool = Arc::clone(&self.spool);
        if let Err(e) = tokio::task::spawn_blocking(move || op(&spool)).await {
            tracing::error!(error = %e, "a spool operation failed");
        }
    }
}

/// Replace `batch` in the spool by its two halves.
fn split_batch(spool: &Spool, batch: &SpooledBatch, zstd_level: i32) -> Result<(), String> {
    let limits = DecodeLimits { max_decompressed_bytes: u64::MAX, max_rows: usize::MAX };
    let parts = wire::decode(&batch.body, true, limits).map_err(|e| e.to_string())?;
    let schema = nightjar_record::packet_schema();
    let whole = arrow::compute::concat_batches(&schema, &parts).map_err(|e| e.to_string())?;
    let half = whole.num_rows() / 2;
    let halves: [RecordBatch; 2] = [whole.slice(0, half), whole.slice(half, whole.num_rows() - half)];
    for part in halves {
        let seq = spool.allocate_seq().map_err(|e| e.to_string())?;
        let part = renumber(&part, seq);
        let rows = part.num_rows() as u32;
        let body = wire::encode(&[part], zstd_level).map_err(|e| e.to_string())?;
        match spool.push(seq, rows, body).map_err(|e| e.to_string())? {
            Push::Spooled { .. } => tracing::info!(from = batch.seq, seq, rows, "spooled half of a split batch"),
            Push::Dropped => return Err("the spool has no room for the halves".into()),
        }
    }
    spool.discard(batch.seq);
    Ok(())
}

/// A network error in words an operator can act on.
fn describe_error(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if error.is_timeout() {
        format!("timeout: {text}")
    } else if error.is_connect() {
        format!("cannot connect: {text}")
    } else {
        text
    }
}
