//! The uplink: spooled batches to the collector, oldest first, one at a
//! time, as `schemas/wire-protocol-v1.md` prescribes.
//!
//! Each batch is sent with its spooled body and headers until a final
//! answer: acknowledged (deleted from the spool), refused for good (moved to
//! `rejected/` with the reason), or too large (split in two new batches).
//! Everything else is retried — with exponential backoff and jitter, never
//! sooner than `Retry-After`, and slowly while the token is refused.
//!
//! Two answers need the operator. A refused token (401, 403) is logged at
//! `error` with the collector's message — at once, then at most once a
//! minute with the count left out — and counted by reason; the batch stays
//! spooled and is retried slowly. A conflict (409: the collector holds a
//! different batch under this sequence number, so this sensor's numbers were
//! reset or reused) stops the uplink for good: nothing more is uploaded, the
//! whole spool is kept, the error is repeated every minute, and the
//! heartbeat goes on carrying the counters so the collector sees it too.
//!
//! With several collectors (`uplink.url` as a list), batches go to one at
//! a time and stay with it while it answers. An upload that fails in a way
//! the next collector may not share — no answer, `5xx`, `429`, a refused
//! token — moves the uplink on to the next collector in the list (around in
//! a ring), where the same batch is sent at once; only after every collector
//! failed in a row does it wait its backoff. Collectors that share one
//! dataset table answer a batch another of them stored as a duplicate, so
//! failover keeps each batch stored once.
//!
//! An upload that gets no answer (connection refused or reset, TLS failure,
//! timeout) is logged at `warn` with its cause. A collector that answers
//! before reading the whole body and closes the connection can make the
//! sensor see only a broken pipe; the uplink then asks the heartbeat task for
//! an immediate heartbeat, whose small body always gets its answer, so a
//! refusal hidden that way is still reported with the collector's words.

mod backoff;
mod client;
mod config;
mod response;

use std::sync::Arc;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use nightjar_ops::error_chain;
use nightjar_record::wire::{self, DecodeLimits};
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use tokio::sync::Notify;

pub use backoff::Backoff;
pub use client::{Collectors, Endpoints, build_client};
pub use config::{CollectorUrls, UplinkConfig};
pub use response::{Refusal, Verdict, classify, describe_answer, parse_retry_after};

use crate::log_limit::{LogEvery, REPEAT_PERIOD};
use crate::metrics::Metrics;
use crate::pipeline::renumber;
use crate::spool::{Push, Spool, SpooledBatch};

/// What the operator reads when the collector answers 409.
const CONFLICT_ADVICE: &str = "the collector already stored a different batch under this sensor id and sequence number: this sensor's sequence numbers were reset or reused (the spool folder or its `next-seq` file was deleted or restored from an old copy, or two sensors run with the same id). Uploading has stopped and the whole spool is kept. Stop the sensor; make sure no other sensor uses this id; ask the collector operator for the highest batch_seq stored for this sensor, write a larger number into the spool's `next-seq` file and move the batch files numbered at or below it out of the spool's `batches/` folder (or have the collector operator issue a new sensor id); then start the sensor again";

/// The upload task's state.
pub(crate) struct Uplink {
    pub(crate) client: reqwest::Client,
    pub(crate) collectors: Arc<Collectors>,
    pub(crate) token: String,
    pub(crate) spool: Arc<Spool>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) config: UplinkConfig,
    /// Notified whenever a batch is spooled.
    pub(crate) wake: Arc<Notify>,
    /// Notified to have the heartbeat task send one now (after an upload
    /// that got no answer).
    pub(crate) heartbeat_now: Arc<Notify>,
}

/// Which repeated problems were logged when.
struct UplinkLogs {
    refused: LogEvery,
    failed: LogEvery,
}

impl Uplink {
    /// Upload forever (the task is dropped at shutdown; an interrupted
    /// upload is sent again next time and acknowledged as a duplicate).
    pub(crate) async fn run(self) {
        let mut backoff = Backoff::new(self.config.initial_backoff, self.config.max_backoff);
        let mut logs = UplinkLogs { refused: LogEvery::new(REPEAT_PERIOD), failed: LogEvery::new(REPEAT_PERIOD) };
        loop {
            let spool = Arc::clone(&self.spool);
            let next = tokio::task::spawn_blocking(move || spool.checkout()).await.ok().flatten();
            let Some(batch) = next else {
                self.wake.notified().await;
                continue;
            };
            if let Some((seq, why)) = self.deliver(batch, &mut backoff, &mut logs).await {
                return self.stopped_by_conflict(seq, &why).await;
            }
        }
    }

    /// Send one batch until it has a final answer. `Some((seq, why))` when
    /// the answer was a conflict, which stops the uplink.
    async fn deliver(
        &self,
        batch: SpooledBatch,
        backoff: &mut Backoff,
        logs: &mut UplinkLogs,
    ) -> Option<(u64, String)> {
        let mut failures = 0u32;
        // Collectors that failed this batch since the last wait: until each
        // one has, the next is tried at once.
        let mut failed_in_a_row = 0usize;
        loop {
            let (collector, endpoints) = self.collectors.active();
            let verdict = self.send(&batch, endpoints).await;
            let moves_on =
                matches!(verdict, Verdict::Retry { .. } | Verdict::RetryAfter { .. } | Verdict::RetrySlowly { .. });
            let delay = match verdict {
                Verdict::Acknowledged { duplicate } => {
                    if duplicate {
                        self.metrics.duplicate_batches.inc();
                    } else {
                        self.metrics.uploaded_batches.inc();
                        self.metrics.uploaded_rows.inc_by(u64::from(batch.rows));
                    }
                    tracing::debug!(seq = batch.seq, rows = batch.rows, duplicate, "batch acknowledged");
                    self.spool_op(move |spool| spool.acknowledge(batch.seq)).await;
                    backoff.reset();
                    if failures > 0 {
                        tracing::info!(seq = batch.seq, failures, "upload succeeded after retries");
                    }
                    if logs.refused.active() {
                        tracing::info!("the collector accepts this sensor's token again");
                    }
                    logs.refused.reset();
                    logs.failed.reset();
                    return None;
                }
                Verdict::Conflict { why } => {
                    self.metrics.upload_conflicts.inc();
                    self.metrics.uplink_stopped.set(1);
                    return Some((batch.seq, why));
                }
                Verdict::Reject { why } => {
                    self.reject(&batch, &why).await;
                    return None;
                }
                Verdict::TooLarge { why } => {
                    if batch.rows > 1 {
                        self.split(batch, &why).await;
                    } else {
                        self.reject(&batch, &why).await;
                    }
                    return None;
                }
                Verdict::RetryAfter { delay, why } => {
                    let wait = backoff.next_delay();
                    let delay = delay.map_or(wait, |d| d.max(Duration::from_millis(1)));
                    self.log_failure(logs, endpoints, batch.seq, failures + 1, delay, &why);
                    delay
                }
                Verdict::RetrySlowly { refusal, why } => {
                    let delay = backoff.next_delay().max(self.config.auth_retry);
                    self.metrics.batch_refused(refusal);
                    if let Some(left_out) = logs.refused.admit() {
                        tracing::error!(
                            sensor = %batch.sensor,
                            collector = endpoints.authority(),
                            seq = batch.seq,
                            reason = refusal.name(),
                            refused_since_last_line = left_out,
                            retry_in = ?delay,
                            "the collector refuses this sensor's uploads: {}; the batch stays spooled and is retried",
                            refusal.explain(&why)
                        );
                    }
                    delay
                }
                Verdict::Retry { why } => {
                    let delay = backoff.next_delay();
                    self.log_failure(logs, endpoints, batch.seq, failures + 1, delay, &why);
                    delay
                }
            };
            failures += 1;
            self.metrics.upload_retries.inc();
            if moves_on && self.collectors.len() > 1 {
                failed_in_a_row += 1;
                self.fail_over(collector, batch.seq);
                if failed_in_a_row < self.collectors.len() {
                    continue;
                }
            }
            failed_in_a_row = 0;
            tokio::time::sleep(delay).await;
        }
    }

    /// Send batches to the collector after `failed` from now on.
    fn fail_over(&self, failed: usize, seq: u64) {
        let next = self.collectors.fail_over(failed);
        if next != failed {
            self.metrics.collector_failovers.inc();
            let from = self.collectors.all()[failed].authority();
            let to = self.collectors.all()[next].authority();
            tracing::info!(seq, from, to, "failing over to the next collector");
        }
    }

    /// A retried failure at `warn`, at once and then at most once a minute.
    fn log_failure(
        &self,
        logs: &mut UplinkLogs,
        endpoints: &Endpoints,
        seq: u64,
        failures: u32,
        delay: Duration,
        why: &str,
    ) {
        if let Some(left_out) = logs.failed.admit() {
            tracing::warn!(
                collector = endpoints.authority(),
                seq,
                failures,
                failed_since_last_line = left_out,
                retry_in = ?delay,
                "upload failed ({why}); the batch stays spooled and is retried"
            );
        }
    }

    /// After a 409: upload nothing more, keep the spool, say so every minute.
    async fn stopped_by_conflict(&self, seq: u64, why: &str) {
        let mut repeats = 0u64;
        loop {
            tracing::error!(
                seq,
                repeats,
                spooled_batches = self.spool.stats().batches,
                "uploading stopped: {why}: {CONFLICT_ADVICE}"
            );
            repeats += 1;
            tokio::time::sleep(REPEAT_PERIOD).await;
        }
    }

    /// One POST to `endpoints`; network errors and timeouts become [`Verdict::Retry`].
    async fn send(&self, batch: &SpooledBatch, endpoints: &Endpoints) -> Verdict {
        let request = self
            .client
            .post(endpoints.batches.clone())
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
            Err(error) => {
                self.metrics.upload_send_errors.inc();
                if !error.is_connect() && !error.is_timeout() {
                    // Cut off mid-request: the collector may have answered
                    // (a refusal) before reading the body; a heartbeat finds out.
                    self.heartbeat_now.notify_one();
                }
                Verdict::Retry { why: format!("no answer: {}", describe_error(&error)) }
            }
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
        self.metrics.rejected_rows.inc_by(u64::from(batch.rows));
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
            Ok(Ok(())) => {
                metrics.split_batches.inc();
            }
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
        let seq = spool.allocate_seq().map_err(|e| error_chain(&e))?;
        let part = renumber(&part, seq);
        let rows = part.num_rows() as u32;
        let body = wire::encode(&[part], zstd_level).map_err(|e| e.to_string())?;
        match spool.push(seq, rows, body).map_err(|e| error_chain(&e))? {
            Push::Spooled { .. } => tracing::info!(from = batch.seq, seq, rows, "spooled half of a split batch"),
            Push::Dropped => return Err("the spool has no room for the halves".into()),
        }
    }
    spool.discard(batch.seq);
    Ok(())
}

/// A network error in words an operator can act on, with every cause.
pub(crate) fn describe_error(error: &reqwest::Error) -> String {
    let text = error_chain(error);
    if error.is_timeout() {
        format!("timeout: {text}")
    } else if error.is_connect() {
        format!("cannot connect: {text}")
    } else {
        text
    }
}
