//! How to open the dataset: where it is, which geo databases the SQL functions use, per-query limits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use datafusion::error::DataFusionError;
use datafusion::execution::SessionState;

/// Limits that apply to every query on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    /// The most memory one query may hold for its operators (hash tables, sorts, buffers), in bytes.
    /// Nothing spills to disk: a query that needs more stops with [`crate::QueryError::MemoryLimit`].
    pub memory_bytes: usize,
    /// The longest one query may run, from planning to its last row.
    pub time: Duration,
}

impl QueryLimits {
    /// 4 GiB of memory and 10 minutes per query.
    pub const DEFAULT: QueryLimits = QueryLimits { memory_bytes: 4 << 30, time: Duration::from_secs(600) };
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits::DEFAULT
    }
}

/// Where the query layer finds the dataset and its geo databases.
#[derive(Clone, Debug)]
pub struct QueryConfig {
    /// A local folder (`data/` or `/srv/nightjar/data`) or an object storage URL
    /// (`s3://bucket/prefix/`, read with the usual `AWS_*` environment variables).
    pub dataset: String,
    /// The country database for `geo_country()`; `None`: the bundled one.
    pub country_db: Option<PathBuf>,
    /// The ASN database for `geo_asn()` and `geo_as_name()`; `None`: the bundled one.
    pub asn_db: Option<PathBuf>,
    /// Per-query limits.
    pub limits: QueryLimits,
    /// How many partitions a query runs in parallel; `None`: one per core. Each query gets as
    /// many threads of its own.
    pub target_partitions: Option<usize>,
    /// How many queries run at once; more wait for their turn (within their time limit).
    pub concurrent_queries: usize,
    /// Which version of a Delta table to read; the latest by default, read anew by each query.
    pub as_of: nightjar_dataset::AsOf,
    /// Where plans run: `None`, in this process; or a change to the session made before the
    /// dataset, functions and views are registered (the `nightjar-cluster` crate's, which sends
    /// the plans to a cluster).
    pub upgrade: Option<SessionUpgrade>,
}

/// A change to a new session's state (see [`QueryConfig::upgrade`]).
#[derive(Clone)]
pub struct SessionUpgrade(pub Arc<dyn Fn(SessionState) -> Result<SessionState, DataFusionError> + Send + Sync>);

impl std::fmt::Debug for SessionUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionUpgrade")
    }
}

/// By default, 16 queries run at once.
pub const DEFAULT_CONCURRENT_QUERIES: usize = 16;

impl QueryConfig {
    /// The dataset at `dataset`, with the bundled geo databases and default limits.
    pub fn new(dataset: impl Into<String>) -> QueryConfig {
        QueryConfig {
            dataset: dataset.into(),
            country_db: None,
            asn_db: None,
            limits: QueryLimits::DEFAULT,
            target_partitions: None,
            concurrent_queries: DEFAULT_CONCURRENT_QUERIES,
            as_of: nightjar_dataset::AsOf::Latest,
            upgrade: None,
        }
    }
}
