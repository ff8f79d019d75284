//! Starting the collector: recover, open the databases, serve until told to stop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use axum_server::tls_rustls::RustlsConfig;
use nightjar_dataset::{PacketTable, TableLocation};
use nightjar_geo::{Enricher, GeoDb};
use nightjar_ops::error_chain;
use tokio::sync::Semaphore;

use crate::body::BodyBudget;
use crate::config::CollectorConfig;
use crate::connections::{ConnectionLimits, Listener, ShutdownSignal};
use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::rate_limited::RateLimited;
use crate::registry::Registry;
use crate::server::{AppState, router};
use crate::store::Store;
use crate::table_sink::TableSink;
use crate::tokens::TokenDirectory;

/// Why the collector could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Recovery of the ledger or dataset failed.
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// A geo database could not be opened.
    #[error(transparent)]
    Geo(#[from] nightjar_geo::GeoError),
    /// The dataset is a Delta table that cannot be opened or compacted.
    #[error("opening the dataset's table")]
    Table(#[source] nightjar_dataset::DatasetError),
    /// The TLS certificate or key could not be loaded.
    #[error("loading TLS certificate {cert} and key {key}")]
    Tls {
        /// Certificate file.
        cert: PathBuf,
        /// Key file.
        key: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed (the address is in use, for instance).
    #[error("serving on {addr}")]
    Serve {
        /// The listen address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A folder could not be created.
    #[error("creating {path}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Storing slots: decoding and writing take a core each.
fn storing_slots() -> usize {
    std::thread::available_parallelism().map(|n| n.get() * 2).unwrap_or(4)
}

fn open_enricher(config: &CollectorConfig) -> Result<Enricher, nightjar_geo::GeoError> {
    let country = GeoDb::country_or_embedded(config.country_db.as_deref())?;
    let asn = GeoDb::asn_or_embedded(config.asn_db.as_deref())?;
    Ok(Enricher::new(Arc::new(country), Some(Arc::new(asn))))
}

fn modified(path: Option<&Path>) -> Option<SystemTime> {
    path.and_then(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
}

/// A running collector: where it listens and how to stop it.
pub struct RunningCollector {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    shutdown: ShutdownSignal,
    server: tokio::task::JoinHandle<()>,
    housekeeping: tokio::task::JoinHandle<()>,
    registry: Arc<Registry>,
}

impl RunningCollector {
    /// Stop accepting, finish requests in flight (up to `grace`), save the registry.
    pub async fn shutdown(self, grace: Duration) -> Result<(), RunError> {
        self.shutdown.shutdown();
        let server = self.server;
        tokio::pin!(server);
        if tokio::time::timeout(grace, &mut server).await.is_err() {
            // Connections still open after the grace period are dropped with the task.
            server.abort();
        }
        self.housekeeping.abort();
        if let Err(error) = self.registry.persist() {
            tracing::warn!(error = %error_chain(&error), "could not save the sensor registry");
        }
        Ok(())
    }
}

/// The table batches are committed to: the one in object storage (`dataset_dir = "s3://…"`,
/// created when absent, files staged in `state_dir/staging`), or the local dataset folder, made a
/// table when it holds no data yet; `None` for a plain folder of layout version 1.
async fn open_table(config: &CollectorConfig) -> Result<Option<TableSink>, RunError> {
    let staging = config.state_dir.join("staging");
    let (location, mut table) = match config.remote_dataset() {
        Some(url) => {
            let location = TableLocation::parse(url).map_err(RunError::Table)?;
            let table = PacketTable::open_or_create(&location).await.map_err(RunError::Table)?;
            // What a crash left in staging was never committed: the sensors send it again.
            match std::fs::remove_dir_all(&staging) {
                Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                    return Err(RunError::Folder { path: staging, source });
                }
                _ => {}
            }
            (location, table)
        }
        None if nightjar_dataset::has_partitions(&config.dataset_dir)
            && !config.dataset_dir.join(nightjar_dataset::table::LOG_DIR).is_dir() =>
        {
            tracing::info!(
                dataset = %config.dataset_dir.display(),
                "the dataset is a plain folder (layout version 1); `nightjar convert` makes it a table"
            );
            return Ok(None);
        }
        // A table, or a new dataset, which starts as one.
        None => {
            let dir = &config.dataset_dir;
            std::fs::create_dir_all(dir).map_err(|source| RunError::Folder { path: dir.clone(), source })?;
            let location = TableLocation::parse(&dir.to_string_lossy()).map_err(RunError::Table)?;
            let table = PacketTable::open_or_create(&location).await.map_err(RunError::Table)?;
            (location, table)
        }
    };
    table.set_staging(staging);
    tracing::info!(table = %location.given, version = table.version(), "committing batches to the Delta table");
    TableSink::new(table, tokio::runtime::Handle::current()).map(Some).map_err(RunError::Table)
}

/// Recover, then start serving in the background.
pub async fn start(config: CollectorConfig) -> Result<RunningCollector, RunError> {
    let table = open_table(&config).await?;
    // Where batches are written: the dataset folder, or the staging folder of a table in object storage.
    let write_root = match &table {
        Some(sink) => sink.write_root().to_path_buf(),
        None => config.dataset_dir.clone(),
    };
    for dir in [&write_root, &config.state_dir] {
        std::fs::create_dir_all(dir).map_err(|source| RunError::Folder { path: dir.clone(), source })?;
    }
    let (ledger, recovery) = Ledger::open(&config.state_dir, &write_root)?;
    // The collector is its dataset's only compactor: leftovers are garbage.
    let compaction_leftovers = nightjar_dataset::clean_compaction_leftovers(&write_root)
        .map_err(|e| RunError::Ledger(crate::ledger::LedgerError::Dataset(e)))?;
    tracing::info!(
        batches = recovery.batches,
        published = recovery.published,
        removed = recovery.removed,
        torn_lines = recovery.torn_lines,
        compaction_leftovers,
        "ledger recovered"
    );
    // Reloaded while running: each batch enriches with the databases current when it started.
    let enricher = Arc::new(ArcSwap::from_pointee(open_enricher(&config)?));
    let registry = Arc::new(Registry::open(&config.state_dir).with_silent_after(config.silent_after_s));
    let mut store = Store::new(write_root, ledger, Arc::clone(&enricher), config.limits);
    if let Some(sink) = table {
        store = store.with_table(sink);
    }
    let store = Arc::new(store);
    let state = Arc::new(AppState {
        store: Arc::clone(&store),
        tokens: Arc::new(TokenDirectory::new(&config.state_dir)),
        registry: Arc::clone(&registry),
        metrics: Arc::new(Metrics::with_sensors(Arc::clone(&registry), &config.state_dir)),
        limits: config.limits,
        storing: Semaphore::new(storing_slots()),
        body_budget: BodyBudget::new(config.limits.max_buffered_body_bytes),
        healthy: AtomicBool::new(true),
        unauthorized_log: RateLimited::new(Duration::from_secs(10)),
    });

    let addr = config.listen;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            // Both sensor and collector use ring; installing twice is harmless.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = RustlsConfig::from_pem_file(cert, key).await.map_err(|source| RunError::Tls {
                cert: cert.clone(),
                key: key.clone(),
                source,
            })?;
            Some(tls.get_inner())
        }
        _ => None,
    };
    let limits = &config.limits;
    let connection_limits = ConnectionLimits {
        max_connections: limits.max_connections,
        max_connections_per_address: limits.max_connections_per_address,
        tls_handshake_timeout: Duration::from_secs(limits.tls_handshake_timeout_s),
        header_timeout: Duration::from_secs(limits.header_timeout_s),
        idle_timeout: Duration::from_secs(limits.idle_timeout_s),
    };
    let listener = Listener::bind(addr, tls, connection_limits, state.metrics.connections.clone())
        .await
        .map_err(|source| RunError::Serve { addr, source })?;
    let bound = listener.local_addr().map_err(|source| RunError::Serve { addr, source })?;
    let (shutdown, server) = listener.serve(router(state));
    tracing::info!(addr = %bound, tls = config.tls_cert.is_some(), "collector listening");

    let housekeeping = tokio::spawn(housekeeping(config, enricher, Arc::clone(&registry), store));
    Ok(RunningCollector { addr: bound, shutdown, server, housekeeping, registry })
}

/// Compact every day partition that has enough small files.
fn compact_all(
    root: &Path,
    lock: &std::sync::RwLock<()>,
    min_files: usize,
) -> Result<(), nightjar_dataset::DatasetError> {
    let options = nightjar_dataset::CompactOptions { min_files, ..Default::default() };
    for day in nightjar_dataset::partitions(root)? {
        nightjar_dataset::compact_day(root, day, &options, lock)?;
    }
    Ok(())
}

/// Every two seconds: log sensors that went silent or stalled, save the
/// registry; reload a geo database whose file changed; every
/// `compact_interval_s`, compact.
async fn housekeeping(
    config: CollectorConfig,
    enricher: Arc<ArcSwap<Enricher>>,
    registry: Arc<Registry>,
    store: Arc<Store>,
) {
    let mut seen = (modified(config.country_db.as_deref()), modified(config.asn_db.as_deref()));
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    // Compact once right at start (catching up after downtime), then every interval.
    let interval = Duration::from_secs(config.compact_interval_s);
    let mut last_compaction =
        tokio::time::Instant::now().checked_sub(interval).unwrap_or_else(tokio::time::Instant::now);
    loop {
        tick.tick().await;
        if config.compact_interval_s > 0 && last_compaction.elapsed() >= Duration::from_secs(config.compact_interval_s)
        {
            last_compaction = tokio::time::Instant::now();
            let (root, lock, min_files) = (config.dataset_dir.clone(), store.publish_lock(), config.compact_min_files);
            let (retention_days, vacuum_grace_s) = (config.retention_days, config.vacuum_grace_s);
            let rollup_retention_days = config.rollup_retention_days;
            let store = Arc::clone(&store);
            let compacted = tokio::task::spawn_blocking(move || match store.table() {
                Some(table) => table.upkeep(min_files, retention_days, rollup_retention_days, vacuum_grace_s),
                None => compact_all(&root, &lock, min_files).map_err(Into::into),
            })
            .await;
            if let Ok(Err(error)) = compacted {
                tracing::warn!(error = %error_chain(&error), "compaction failed; the small files stay as they are");
            }
        }
        registry.check_states(chrono::Utc::now().timestamp());
        if let Err(error) = registry.persist() {
            tracing::warn!(error = %error_chain(&error), "could not save the sensor registry");
        }
        let now = (modified(config.country_db.as_deref()), modified(config.asn_db.as_deref()));
        if now != seen {
            match open_enricher(&config) {
                Ok(fresh) => {
                    enricher.store(Arc::new(fresh));
                    seen = now;
                    tracing::info!("geo databases reloaded");
                }
                // A file caught half-copied: keep the old databases and try again.
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "geo database changed but cannot be opened yet")
                }
            }
        }
    }
}
