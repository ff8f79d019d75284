//! `nightjar serve-sql`: the Arrow Flight SQL server for remote tools (ADBC, JDBC, dashboards),
//! and `nightjar serve-sql add-token NAME` to let an analyst in.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use nightjar_flight::{FlightSqlConfig, tokens};
use nightjar_query::{QueryConfig, QueryEngine, QueryLimits};

/// Arguments of `nightjar serve-sql`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeSqlArgs {
    /// The tokens file: one `NAME SHA256-OF-TOKEN` line per analyst, read again when it changes.
    /// `serve-sql add-token NAME` adds one, `serve-sql revoke-token NAME` removes one.
    #[arg(long, value_name = "FILE", global = true)]
    tokens: Option<PathBuf>,
    /// The dataset: a folder written by the collector or `nightjar import`, or an `s3://bucket/prefix`
    /// URL (credentials and endpoint from the AWS_* environment variables).
    #[arg(long, default_value = "data", value_name = "DIR|URL")]
    data: String,
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:50051", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM). Without `--tls-cert` and `--tls-key` the server speaks plain
    /// gRPC, allowed only on a loopback address unless `--allow-insecure`.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Allow plain gRPC on a non-loopback address (behind a TLS-terminating proxy).
    #[arg(long)]
    allow_insecure: bool,
    /// Country database for geo_country() (MaxMind format). Default: the bundled one.
    #[arg(long, value_name = "FILE.mmdb")]
    country_db: Option<PathBuf>,
    /// ASN database for geo_asn() and geo_as_name() (MaxMind format). Default: the bundled one.
    #[arg(long, value_name = "FILE.mmdb")]
    asn_db: Option<PathBuf>,
    /// The most memory one query may use, e.g. 512MiB or 8GiB; beyond it the query stops with an error.
    #[arg(long, default_value = "4GiB", value_parser = crate::sql::parse_bytes, value_name = "SIZE")]
    memory_limit: usize,
    /// The longest one query may run, e.g. 30s or 10m.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    time_limit: Duration,
    /// How many queries run at once; more wait for their turn within their time limit. Each
    /// query runs on threads of its own, so a heavy one slows the others only by sharing the CPU.
    #[arg(long, default_value_t = nightjar_query::DEFAULT_CONCURRENT_QUERIES, value_name = "N")]
    concurrent_queries: usize,
    /// Run the queries on a Nightjar cluster (`nightjar cluster scheduler`): the scheduler's
    /// address. Its executors read the dataset with their own AWS_* settings.
    #[arg(long, value_name = "df://HOST:PORT")]
    cluster: Option<String>,
    #[command(subcommand)]
    action: Option<ServeSqlAction>,
}

#[derive(clap::Subcommand, Debug)]
enum ServeSqlAction {
    /// Add an analyst to the tokens file (created if missing) and print the new token, shown only
    /// now. The running server accepts it at once.
    AddToken {
        /// The analyst's name: 1–64 letters, digits, `.`, `_`, `-` or `@`.
        name: String,
    },
    /// Remove an analyst's token from the tokens file. The running server refuses it from the
    /// next call on.
    RevokeToken {
        /// The analyst's name.
        name: String,
    },
}

/// Run `nightjar serve-sql`.
pub fn run(args: ServeSqlArgs) -> Result<()> {
    let tokens_file = args.tokens.clone().context("`--tokens FILE` is required")?;
    match &args.action {
        Some(ServeSqlAction::AddToken { name }) => {
            let token = tokens::add_token(&tokens_file, name)?;
            eprintln!(
                "token `{name}` added to {}; the token (shown only now; clients send it as \
                 `authorization: Bearer TOKEN`, or as the password of a handshake):",
                tokens_file.display()
            );
            println!("{token}");
            return Ok(());
        }
        Some(ServeSqlAction::RevokeToken { name }) => {
            tokens::revoke_token(&tokens_file, name)?;
            eprintln!("token `{name}` revoked: removed from {}", tokens_file.display());
            return Ok(());
        }
        None => {}
    }
    let runtime = nightjar_ops::runtime("nj-serve-sql", None).context("starting tokio")?;
    runtime.block_on(serve(args, tokens_file))
}

async fn serve(args: ServeSqlArgs, tokens_file: PathBuf) -> Result<()> {
    let mut query = QueryConfig::new(args.data.clone());
    query.country_db = args.country_db;
    query.asn_db = args.asn_db;
    query.limits = QueryLimits { memory_bytes: args.memory_limit, time: args.time_limit };
    query.concurrent_queries = args.concurrent_queries;
    query.upgrade = crate::dataset::cluster_upgrade(args.cluster.as_deref(), &args.data)?;
    let config = FlightSqlConfig {
        listen: args.listen,
        tokens: tokens_file,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        allow_insecure: args.allow_insecure,
    };
    // Refuse a bad configuration before the dataset is opened.
    config.check()?;
    crate::dataset::check_location(&args.data)?;
    let engine = QueryEngine::open(query).await.with_context(|| format!("opening the dataset {}", args.data))?;
    let mut server = nightjar_flight::start(config, Arc::new(engine)).await?;
    let scheme = if server.tls { "grpc+tls" } else { "grpc" };
    crate::say::say(&format!("nightjar serve-sql listening on {scheme}://{}", server.addr));
    let signalled = tokio::select! {
        () = nightjar_ops::shutdown_signal() => true,
        failed = server.wait() => {
            failed?;
            false
        }
    };
    if signalled {
        crate::say::say("nightjar serve-sql stopping");
        server.shutdown(Duration::from_secs(10)).await?;
    }
    Ok(())
}
