//! Wiring: the components of one sensor, started and stopped together.
//!
//! ```text
//!  capture thread ──closed batches──> spooler thread ──files──> spool
//!  (source + Ingest)   (bounded queue)  (seq, privacy, encode)    │
//!                                                                 v
//!  tokio: uplink task (oldest batch first) ── POST /v1/batches ──> collector
//!         heartbeat task ───────────────────── POST /v1/heartbeat
//!         metrics endpoint, periodic counter log
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::thread::JoinHandle;
use std::time::Duration;

use nightjar_packet::ResearchScanners;
use nightjar_record::{Ingest, IngestRules, RecordOptions};
use tokio::sync::Notify;
use tokio::task::JoinHandle as TaskHandle;

use crate::capture::{CaptureMethod, FrameSource, LiveSource, ReplaySource, RingSource, find_interface};
use crate::config::SensorConfig;
use crate::error::{ConfigError, SensorError};
use crate::heartbeat::Heartbeat;
use crate::metrics::{Metrics, MetricsSnapshot, server};
use crate::pipeline::{CaptureEnd, CaptureLoop, PrivacyTransform, Spooler, Stop, StopMode, StopSignal};
use crate::spool::{FsStorage, Spool, SpoolInspection, SpoolStorage};
use crate::uplink::{Collectors, Uplink, build_client};

/// Closed batches waiting for the spooler; beyond that the capture thread
/// waits (and the kernel's socket buffer takes the burst).
const CLOSED_QUEUE: usize = 4;
/// How often a finished replay checks whether the spool has drained.
const DRAIN_POLL: Duration = Duration::from_millis(50);

/// A sensor whose configuration, files, spool and interface were checked,
/// ready to [`start`](Sensor::start).
pub struct Sensor {
    config: SensorConfig,
    token: String,
    spool: Arc<Spool>,
    source: Box<dyn FrameSource>,
    rules: IngestRules,
    privacy: PrivacyTransform,
    client: reqwest::Client,
    collectors: Arc<Collectors>,
    metrics: Arc<Metrics>,
    stop: Stop,
}

impl Sensor {
    /// Check everything the configuration names — token file, research
    /// list, spool folder, capture interface or files, CA file — and open
    /// them. Every error names the key or path to fix.
    pub fn build(config: SensorConfig) -> Result<Sensor, SensorError> {
        Sensor::build_with_storage(config, Arc::new(FsStorage))
    }

    /// [`build`](Sensor::build) with the spool's file-system operations
    /// going through `storage` (tests inject faults this way).
    pub fn build_with_storage(config: SensorConfig, storage: Arc<dyn SpoolStorage>) -> Result<Sensor, SensorError> {
        let prepared = Prepared::new(&config)?;
        let spool = Arc::new(Spool::open(&config.spool, &config.sensor.id, storage, Arc::clone(&prepared.metrics))?);
        let stop: Stop = Arc::new(StopSignal::default());
        let source: Box<dyn FrameSource> = match &config.capture.interface {
            Some(interface) => match config.capture.method {
                CaptureMethod::Ring => {
                    let index = find_interface(interface)?.index;
                    Box::new(RingSource::open(interface, index, &config.capture)?)
                }
                CaptureMethod::Pnet => Box::new(LiveSource::open(interface, config.capture.promiscuous)?),
            },
            None => Box::new(ReplaySource::new(
                config.capture.replay.clone(),
                config.capture.replay_pace,
                Arc::clone(&stop),
            )),
        };
        let Prepared { token, rules, privacy, collectors, client, metrics } = prepared;
        Ok(Sensor { config, token, spool, source, rules, privacy, client, collectors, metrics, stop })
    }

    /// Check on this host what [`build`](Sensor::build) checks, without
    /// changing anything: the files the configuration names are read, the
    /// spool folder is looked at (not created, not locked), and the
    /// interface must exist (no capture socket is opened, so it needs no
    /// capability). Returns what the spool holds. The round trip to the
    /// collector is [`check::run`](crate::check::run)'s.
    pub fn check(config: &SensorConfig) -> Result<SpoolInspection, SensorError> {
        Prepared::new(config)?;
        let spool = crate::spool::inspect(&config.spool)?;
        if let Some(interface) = &config.capture.interface {
            find_interface(interface)?;
        }
        Ok(spool)
    }

    /// The sensor's counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// The spool (for inspection).
    pub fn spool(&self) -> Arc<Spool> {
        Arc::clone(&self.spool)
    }

    /// Start capture, spooler, uplink, heartbeat and metrics. Must be called
    /// inside a tokio runtime.
    pub async fn start(self) -> Result<RunningSensor, SensorError> {
        let Sensor { config, token, spool, source, rules, privacy, client, collectors, metrics, stop } = self;
        let metrics_listener =
            if config.metrics.enabled { Some(server::bind(config.metrics.listen).await?) } else { None };
        let metrics_address = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
        let wake = Arc::new(Notify::new());
        let heartbeat_now = Arc::new(Notify::new());
        let (closed_tx, closed_rx) = sync_channel(CLOSED_QUEUE);
        let capture = CaptureLoop {
            source,
            ingest: Ingest::new(rules),
            batch: config.batch.clone(),
            sensor: config.sensor.id.clone(),
            closed: closed_tx,
            stop: Arc::clone(&stop),
            metrics: Arc::clone(&metrics),
        };
        let spooler = Spooler {
            closed: closed_rx,
            spool: Arc::clone(&spool),
            privacy,
            zstd_level: config.uplink.zstd_level,
            metrics: Arc::clone(&metrics),
            uplink: Arc::clone(&wake),
            stop: Arc::clone(&stop),
        };
        let spooler_thread = std::thread::Builder::new()
            .name("nj-spooler".into())
            .spawn(move || spooler.run())
            .map_err(|e| SensorError::Worker("spooler", e.to_string()))?;
        let capture_thread = std::thread::Builder::new()
            .name("nj-capture".into())
            .spawn(move || capture.run())
            .map_err(|e| SensorError::Worker("capture", e.to_string()))?;

        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(
            Uplink {
                client: client.clone(),
                collectors: Arc::clone(&collectors),
                token: token.clone(),
                spool: Arc::clone(&spool),
                metrics: Arc::clone(&metrics),
                config: config.uplink.clone(),
                wake: Arc::clone(&wake),
                heartbeat_now: Arc::clone(&heartbeat_now),
            }
            .run(),
        ));
        // Batches recovered from the spool go out at once.
        wake.notify_one();
        tasks.push(tokio::spawn(
            Heartbeat {
                client,
                collectors: Arc::clone(&collectors),
                token,
                sensor: config.sensor.id.clone(),
                interval: config.heartbeat.interval,
                spool: Arc::clone(&spool),
                metrics: Arc::clone(&metrics),
                now: heartbeat_now,
            }
            .run(),
        ));
        if let Some(listener) = metrics_listener {
            tracing::info!(address = ?metrics_address, "metrics endpoint listening at /metrics");
            tasks.push(tokio::spawn(server::serve(listener, Arc::clone(&metrics))));
        }
        if !config.metrics.log_interval.is_zero() {
            tasks.push(tokio::spawn(log_counters(Arc::clone(&metrics), config.metrics.log_interval)));
        }
        let collector_list: Vec<String> = collectors.all().iter().map(|c| c.batches.to_string()).collect();
        tracing::info!(sensor = %config.sensor.id, collectors = ?collector_list, "sensor started");
        Ok(RunningSensor {
            stop,
            spool,
            metrics,
            metrics_address,
            capture_thread: Some(capture_thread),
            spooler_thread: Some(spooler_thread),
            tasks,
            exit_after_replay: config.capture.interface.is_none() && config.capture.exit_after_replay,
        })
    }

    /// Start, run until `shutdown` resolves (or, in offline mode with
    /// `capture.exit_after_replay`, until every file is read and the spool
    /// has drained), then stop gracefully. Returns the final counters.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<MetricsSnapshot, SensorError> {
        let mut running = self.start().await?;
        tokio::select! {
            () = shutdown => tracing::info!("stop requested: closing the open batch"),
            () = running.finished() => tracing::info!("replay done and spool drained"),
        }
        Ok(running.shutdown().await)
    }
}

/// Everything but the packet source and the spool, checked and read.
pub(crate) struct Prepared {
    pub(crate) token: String,
    rules: IngestRules,
    privacy: PrivacyTransform,
    pub(crate) collectors: Arc<Collectors>,
    pub(crate) client: reqwest::Client,
    metrics: Arc<Metrics>,
}

impl Prepared {
    /// Reads files only; creates nothing.
    pub(crate) fn new(config: &SensorConfig) -> Result<Prepared, SensorError> {
        config.validate()?;
        let token = config.read_token()?;
        let research = match &config.filter.research_list {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::file("filter.research_list", path, format!("cannot read: {e}")))?;
                ResearchScanners::parse(&text)
                    .map_err(|e| ConfigError::file("filter.research_list", path, e.to_string()))?
            }
            None => ResearchScanners::bundled(),
        };
        for (i, file) in config.capture.replay.iter().enumerate() {
            if let Err(e) = std::fs::metadata(file) {
                return Err(ConfigError::file(format!("capture.replay[{i}]"), file, e.to_string()).into());
            }
        }
        let dark_prefixes = config.filter.dark_prefix_set()?;
        let rules = IngestRules {
            own_addresses: config.filter.own_address_set()?,
            dark_prefixes: dark_prefixes.clone(),
            research,
            record: RecordOptions { payload_prefix: config.privacy.payload_prefix },
        };
        let privacy = PrivacyTransform::new(config.privacy.destination, &dark_prefixes);
        let collectors = Arc::new(Collectors::new(&config.uplink)?);
        let client = build_client(&config.uplink)?;
        let metrics = Arc::new(Metrics::default());
        Ok(Prepared { token, rules, privacy, collectors, client, metrics })
    }
}

/// A started sensor.
pub struct RunningSensor {
    stop: Stop,
    spool: Arc<Spool>,
    metrics: Arc<Metrics>,
    metrics_address: Option<SocketAddr>,
    capture_thread: Option<JoinHandle<CaptureEnd>>,
    spooler_thread: Option<JoinHandle<()>>,
    tasks: Vec<TaskHandle<()>>,
    exit_after_replay: bool,
}

impl RunningSensor {
    /// The counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// The spool.
    pub fn spool(&self) -> Arc<Spool> {
        Arc::clone(&self.spool)
    }

    /// Where the Prometheus endpoint listens, when enabled.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// Resolves when an offline replay has been read, spooled and uploaded
    /// (with `capture.exit_after_replay`) — or read, spooled and the uplink
    /// stopped on a conflict, the spool kept; never for live capture.
    pub async fn finished(&mut self) {
        if !self.exit_after_replay {
            return std::future::pending().await;
        }
        loop {
            let threads_done = self.capture_thread.as_ref().is_none_or(JoinHandle::is_finished)
                && self.spooler_thread.as_ref().is_none_or(JoinHandle::is_finished);
            let uploaded_or_stopped = self.spool.stats().batches == 0 || self.metrics.uplink_stopped.get() > 0;
            if threads_done && uploaded_or_stopped {
                return;
            }
            tokio::time::sleep(DRAIN_POLL).await;
        }
    }

    /// Stop gracefully: close and spool the open batch, stop every task.
    /// Batches still spooled are uploaded by the next start.
    pub async fn shutdown(mut self) -> MetricsSnapshot {
        self.stop_with(StopMode::Graceful).await;
        let snapshot = self.metrics.snapshot();
        tracing::info!(counters = %snapshot.log_line(), "sensor stopped");
        snapshot
    }

    /// Stop as a crash would: rows not yet spooled are lost, nothing is
    /// flushed. The spool is left exactly as it is on disk.
    pub async fn kill(mut self) {
        self.stop_with(StopMode::Abort).await;
    }

    async fn stop_with(&mut self, mode: StopMode) {
        self.stop.request(mode);
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        let capture = self.capture_thread.take();
        let spooler = self.spooler_thread.take();
        let joined = tokio::task::spawn_blocking(move || {
            // The capture thread ends first and hangs up the queue, which ends the spooler.
            let capture = capture.map(|t| t.join().is_ok());
            let spooler = spooler.map(|t| t.join().is_ok());
            (capture, spooler)
        })
        .await;
        if !matches!(joined, Ok((Some(true) | None, Some(true) | None))) {
            tracing::error!("a sensor worker thread panicked");
        }
    }
}

impl Drop for RunningSensor {
    fn drop(&mut self) {
        // Dropped without shutdown(): stop the workers as a crash would.
        self.stop.request(StopMode::Abort);
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn log_counters(metrics: Arc<Metrics>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let s = metrics.snapshot();
        tracing::info!(
            captured = s.captured,
            kept = s.kept,
            filtered = s.filtered(),
            malformed = s.malformed,
            spooled = s.spooled_batches,
            uploaded = s.uploaded_batches,
            retried = s.upload_retries,
            refused = s.refused(),
            conflicts = s.upload_conflicts,
            uplink_stopped = s.uplink_stopped,
            rejected = s.rejected_batches,
            dropped_spool_full = s.dropped_spool_full_batches,
            spool_write_errors = s.spool_write_errors,
            spool_batches = s.spool_batches,
            spool_bytes = s.spool_bytes,
            "counters: {}",
            s.log_line()
        );
    }
}
