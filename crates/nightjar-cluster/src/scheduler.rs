//! `nightjar cluster scheduler`: Ballista's scheduler with Nightjar's session.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use crate::codec::{LogicalCodec, NightjarFunctions, PhysicalCodec};
use crate::{ClusterError, GeoFiles, session};

/// How to run the scheduler.
#[derive(Clone, Debug)]
pub struct SchedulerSettings {
    /// Where clients and executors reach it.
    pub listen: SocketAddr,
    /// The geo databases it plans with (constant `geo_*()` calls are evaluated while planning).
    pub geo: GeoFiles,
    /// How long an executor may go unheard before it counts as lost and its tasks run elsewhere
    /// (executors report every [`crate::executor::HEARTBEAT_SECONDS`] seconds).
    pub executor_timeout_seconds: u64,
}

/// Runs the scheduler until it fails.
pub async fn run(settings: SchedulerSettings) -> Result<(), ClusterError> {
    let (country, asn) = settings.geo.load("scheduler")?;
    let functions = NightjarFunctions::of(&session::state(session::config(), Arc::clone(&country), Arc::clone(&asn))?);
    let mut config = SchedulerConfig::default();
    config.bind_host = settings.listen.ip().to_string();
    config.bind_port = settings.listen.port();
    config.external_host = settings.listen.ip().to_string();
    // Executors ask for tasks: a task they cannot prepare (a function they lack, another
    // version) then fails with its own error, which reaches the client.
    config.scheduling_policy = TaskSchedulingPolicy::PullStaged;
    config.executor_timeout_seconds = settings.executor_timeout_seconds.max(2 * crate::executor::HEARTBEAT_SECONDS);
    config.expire_dead_executor_interval_seconds = crate::executor::HEARTBEAT_SECONDS;
    config.override_config_producer = Some(Arc::new(session::config));
    config.override_session_builder =
        Some(Arc::new(move |config| session::state(config, Arc::clone(&country), Arc::clone(&asn))));
    config.override_logical_codec = Some(Arc::new(LogicalCodec::new(functions.clone(), "scheduler")));
    config.override_physical_codec = Some(Arc::new(PhysicalCodec::new(functions, "scheduler")));
    let ballista = |source| ClusterError::Ballista { role: "scheduler", source };
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(ballista)?;
    tracing::info!("scheduler: listening on {} (Nightjar {})", settings.listen, crate::nightjar_version());
    start_server(cluster, settings.listen, Arc::new(config)).await.map_err(ballista)
}
