//! `nightjar cluster executor`: Ballista's executor with Nightjar's functions and object stores.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};

use crate::codec::{LogicalCodec, NightjarFunctions, PhysicalCodec};
use crate::{ClusterError, GeoFiles, session};

/// How often an executor tells the scheduler it is alive, in seconds.
pub const HEARTBEAT_SECONDS: u64 = 5;

/// How to run an executor.
#[derive(Clone, Debug)]
pub struct ExecutorSettings {
    /// The scheduler's host name or address.
    pub scheduler_host: String,
    /// The scheduler's port.
    pub scheduler_port: u16,
    /// The address it listens on, and the one it gives the scheduler and other executors.
    pub host: IpAddr,
    /// The port of its Arrow Flight service (other executors fetch shuffle data there).
    pub flight_port: u16,
    /// The port of its gRPC service (the scheduler hands it tasks there).
    pub grpc_port: u16,
    /// Where shuffle files go; `None`: a temporary folder.
    pub work_dir: Option<PathBuf>,
    /// Tasks run at once; `None`: one per core.
    pub task_slots: Option<usize>,
    /// The geo databases its `geo_*()` functions read.
    pub geo: GeoFiles,
    /// `false` runs Ballista's executor as it comes, without Nightjar's functions and stores:
    /// what a cluster not set up by Nightjar has, to check that its queries fail clearly.
    pub nightjar: bool,
}

/// Runs the executor until it fails.
pub async fn run(settings: ExecutorSettings) -> Result<(), ClusterError> {
    let mut config = ExecutorProcessConfig {
        scheduler_host: settings.scheduler_host.clone(),
        scheduler_port: settings.scheduler_port,
        bind_host: settings.host.to_string(),
        external_host: Some(settings.host.to_string()),
        port: settings.flight_port,
        grpc_port: settings.grpc_port,
        work_dir: settings.work_dir.as_ref().map(|dir| dir.display().to_string()),
        vcores: settings.task_slots.unwrap_or(0),
        // It asks the scheduler for tasks (see the scheduler's policy).
        task_scheduling_policy: TaskSchedulingPolicy::PullStaged,
        executor_heartbeat_interval_seconds: HEARTBEAT_SECONDS,
        ..ExecutorProcessConfig::default()
    };
    if settings.nightjar {
        let (country, asn) = settings.geo.load("executor")?;
        let state = session::state(session::config(), country, asn)?;
        let functions = NightjarFunctions::of(&state);
        let work_dir = settings.work_dir.clone();
        config.override_function_registry = Some(Arc::new(BallistaFunctionRegistry::from(&state)));
        config.override_config_producer = Some(Arc::new(session::config));
        config.override_runtime_producer = Some(Arc::new(move |config| session::runtime(config, work_dir.as_deref())));
        config.override_logical_codec = Some(Arc::new(LogicalCodec::new(functions.clone(), "executor")));
        config.override_physical_codec = Some(Arc::new(PhysicalCodec::new(functions, "executor")));
    } else {
        tracing::warn!("executor: without Nightjar's functions and stores (Ballista's own executor)");
    }
    tracing::info!(
        "executor: Nightjar {}, scheduler {}:{}, flight {}:{}, grpc {}:{}",
        crate::nightjar_version(),
        settings.scheduler_host,
        settings.scheduler_port,
        settings.host,
        settings.flight_port,
        settings.host,
        settings.grpc_port
    );
    start_executor_process(Arc::new(config)).await.map_err(|source| ClusterError::Ballista { role: "executor", source })
}
