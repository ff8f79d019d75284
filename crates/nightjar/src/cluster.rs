//! `nightjar cluster scheduler` and `nightjar cluster executor`: the processes of a DataFusion
//! Ballista cluster that runs Nightjar's SQL (`--cluster df://HOST:PORT` on `sql`, `risk`,
//! `publish`, `lookup`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, Result};
use nightjar_cluster::GeoFiles;
use nightjar_cluster::executor::ExecutorSettings;
use nightjar_cluster::scheduler::SchedulerSettings;

/// Which cluster process to run.
#[derive(clap::Args, Debug)]
pub struct ClusterArgs {
    #[command(subcommand)]
    role: Role,
}

#[derive(clap::Subcommand, Debug)]
enum Role {
    /// Run the scheduler: clients send it their queries, it splits each into stages and hands
    /// their tasks to the executors.
    Scheduler(SchedulerArgs),
    /// Run an executor: it registers with the scheduler and runs the tasks it is given, reading
    /// the dataset with this machine's AWS_* settings.
    Executor(ExecutorArgs),
}

/// The geo databases of a cluster process: every process of one cluster must load the same.
#[derive(clap::Args, Debug)]
struct GeoArgs {
    /// Country database (MaxMind format) for geo_country(). Default: the bundled one.
    #[arg(long, value_name = "FILE.mmdb")]
    country_db: Option<PathBuf>,
    /// ASN database (MaxMind format) for geo_asn() and geo_as_name(). Default: the bundled one.
    #[arg(long, value_name = "FILE.mmdb")]
    asn_db: Option<PathBuf>,
}

impl GeoArgs {
    fn files(&self) -> GeoFiles {
        GeoFiles { country: self.country_db.clone(), asn: self.asn_db.clone() }
    }
}

#[derive(clap::Args, Debug)]
struct SchedulerArgs {
    /// Address and port clients (`--cluster df://HOST:PORT`) and executors reach it on.
    #[arg(long, default_value = "127.0.0.1:50050", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// How long an executor may go unheard before it counts as lost and its tasks run on the
    /// others, e.g. 20s or 2m (at least 10s: executors report every 5 s).
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    executor_timeout: std::time::Duration,
    #[command(flatten)]
    geo: GeoArgs,
}

#[derive(clap::Args, Debug)]
struct ExecutorArgs {
    /// The scheduler to register with.
    #[arg(long, default_value = "df://127.0.0.1:50050", value_name = "df://HOST:PORT")]
    scheduler: String,
    /// The address it listens on and gives the others (not 0.0.0.0: the others connect to it).
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    host: IpAddr,
    /// Port of its Arrow Flight service, where other executors fetch shuffle data.
    #[arg(long, default_value_t = 50051, value_name = "PORT")]
    flight_port: u16,
    /// Port of its gRPC service, where the scheduler hands it tasks.
    #[arg(long, default_value_t = 50052, value_name = "PORT")]
    grpc_port: u16,
    /// Folder for shuffle files. Default: a temporary folder.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Tasks it runs at once. Default: one per core.
    #[arg(long, value_name = "N")]
    task_slots: Option<usize>,
    #[command(flatten)]
    geo: GeoArgs,
    /// Run Ballista's executor without Nightjar's functions and stores (to check how a cluster
    /// not set up by Nightjar refuses Nightjar's queries).
    #[arg(long, hide = true)]
    without_nightjar: bool,
}

/// Run `nightjar cluster`.
pub fn run(args: ClusterArgs) -> Result<()> {
    let runtime = nightjar_ops::runtime("nj-cluster", None)?;
    match args.role {
        Role::Scheduler(args) => {
            let settings = SchedulerSettings {
                listen: args.listen,
                geo: args.geo.files(),
                executor_timeout_seconds: args.executor_timeout.as_secs(),
            };
            runtime.block_on(nightjar_cluster::scheduler::run(settings)).context("the cluster scheduler stopped")
        }
        Role::Executor(args) => {
            let scheduler = nightjar_cluster::client::scheduler_url(&args.scheduler)?;
            let url = url_parts(&scheduler).with_context(|| format!("the scheduler address {}", args.scheduler))?;
            let settings = ExecutorSettings {
                scheduler_host: url.0,
                scheduler_port: url.1,
                host: args.host,
                flight_port: args.flight_port,
                grpc_port: args.grpc_port,
                work_dir: args.work_dir,
                task_slots: args.task_slots,
                geo: args.geo.files(),
                nightjar: !args.without_nightjar,
            };
            runtime.block_on(nightjar_cluster::executor::run(settings)).context("the cluster executor stopped")
        }
    }
}

/// Host and port of an `http://HOST:PORT` URL.
fn url_parts(url: &str) -> Result<(String, u16)> {
    let rest = url.strip_prefix("http://").context("not an http:// URL")?;
    let (host, port) = rest.rsplit_once(':').context("no port")?;
    Ok((host.trim_matches(['[', ']']).to_owned(), port.parse().context("the port is not a number")?))
}
