//! What other processes need to plan and run the plans of a Nightjar session: the scheduler and
//! the executors of a distributed engine (DataFusion Ballista, see the `nightjar-cluster` crate).
//!
//! - [`nightjar_state`]: a session with Nightjar's SQL functions (bound to the geo databases the
//!   process loaded), its `count`, the rule that keeps distinct counts in one aggregate, and its
//!   Parquet scan options: the same planning a local engine does.
//! - [`PacketsSource`]: how `packets` over a Delta table travels in a plan: its location and the
//!   version read. [`packets_at`] rebuilds the table where the plan is decoded, over the same
//!   snapshot, so files outside it (uncommitted, or compacted away) are never read there either.
//! - [`DatasetStores`]: the object stores a plan's file scans name, found by URL: the dataset's
//!   bucket, and the snapshot URLs (`nightjar-snapshot://…/`) whose reads go to the table's root.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionState;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use nightjar_dataset::{AsOf, PacketTable, SnapshotStore, TableLocation};
use nightjar_geo::GeoDb;
use object_store::ObjectStore;
use url::Url;

use crate::table::{DeltaPackets, listing_table};

/// The URL scheme under which a Delta table's snapshot is listed and read inside an engine.
pub const SNAPSHOT_SCHEME: &str = "nightjar-snapshot";

/// Where a plan's `packets` table comes from, when it is a Delta table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketsSource {
    /// The table's location as the user gave it (a folder or `s3://bucket/prefix`).
    pub dataset: String,
    /// The version read; `None`: the newest when the plan is decoded.
    pub version: Option<u64>,
}

/// The source of `provider` when it is Nightjar's `packets` over a Delta table.
pub fn packets_source(provider: &dyn TableProvider) -> Option<PacketsSource> {
    let delta = provider.downcast_ref::<DeltaPackets>()?;
    let (dataset, version) = delta.source();
    Some(PacketsSource { dataset, version })
}

/// `packets` over the snapshot `source` names, opened when it is first scanned.
pub fn packets_at(source: PacketsSource) -> Result<Arc<dyn TableProvider>> {
    // Answers which filters it takes the way the table it opens will.
    let shape = listing_table(&format!("{SNAPSHOT_SCHEME}://packets/"))?;
    Ok(Arc::new(PacketsAt { source, shape }))
}

/// The table [`packets_at`] returns.
#[derive(Debug)]
struct PacketsAt {
    source: PacketsSource,
    shape: datafusion::datasource::listing::ListingTable,
}

#[async_trait]
impl TableProvider for PacketsAt {
    fn schema(&self) -> SchemaRef {
        self.shape.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let external = |error: nightjar_dataset::DatasetError| DataFusionError::External(Box::new(error));
        let location = TableLocation::parse(&self.source.dataset).map_err(external)?;
        let as_of = self.source.version.map_or(AsOf::Latest, AsOf::Version);
        let table = PacketTable::open(&location, &as_of).await.map_err(external)?;
        let files = table.files().map_err(external)?;
        // One URL per version: plans of several versions may share this runtime.
        let url = format!("{SNAPSHOT_SCHEME}://v{}/", files.version);
        let store = SnapshotStore::new(table.store(), files, &location.given);
        let parsed = Url::parse(&url).map_err(|error| DataFusionError::External(Box::new(error)))?;
        state.runtime_env().register_object_store(&parsed, Arc::new(store));
        listing_table(&url)?.scan(state, projection, filters, limit).await
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        self.shape.supports_filters_pushdown(filters)
    }
}

/// Object stores by URL for a process that runs plans over one dataset: those registered, the
/// dataset's bucket (`s3://bucket`, with the `AWS_*` settings of this process), and reads of any
/// snapshot URL, which go to the dataset's root (a plan carries each file it reads, so a snapshot
/// needs no listing there).
#[derive(Debug)]
pub struct DatasetStores {
    registered: DefaultObjectStoreRegistry,
    dataset: Option<TableLocation>,
}

impl DatasetStores {
    /// The stores for plans over `dataset` (`None`: only local files and registered stores).
    pub fn new(dataset: Option<&str>) -> Result<DatasetStores> {
        let dataset = dataset
            .map(TableLocation::parse)
            .transpose()
            .map_err(|error| DataFusionError::External(Box::new(error)))?;
        Ok(DatasetStores { registered: DefaultObjectStoreRegistry::new(), dataset })
    }

    fn found(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        let external = |error: nightjar_dataset::DatasetError| DataFusionError::External(Box::new(error));
        match url.scheme() {
            SNAPSHOT_SCHEME => {
                let dataset = self.dataset.as_ref().ok_or_else(|| {
                    DataFusionError::Configuration(format!(
                        "{url} names a table snapshot, but this process was given no dataset"
                    ))
                })?;
                let (_, table_root) = dataset.stores().map_err(external)?;
                Ok(table_root)
            }
            "s3" => {
                let store = nightjar_dataset::table::s3_store(url)
                    .map_err(|error| DataFusionError::ObjectStore(Box::new(error)))?;
                Ok(Arc::new(store))
            }
            other => Err(DataFusionError::Configuration(format!("no object store for `{other}` URLs ({url})"))),
        }
    }
}

impl ObjectStoreRegistry for DatasetStores {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.registered.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.registered.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.registered.get_store(url) {
            return Ok(store);
        }
        let store = self.found(url)?;
        let root = Url::parse(&format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()))
            .map_err(|error| DataFusionError::External(Box::new(error)))?;
        self.registered.register_store(&root, Arc::clone(&store));
        Ok(store)
    }
}

/// `state` with Nightjar's SQL functions (country and ASN from `country` and `asn`), its `count`
/// and bounded functions (within `memory_limit_bytes`), and the distinct-count rule: the planning
/// and functions of a local engine, for a process that runs plans a client sent.
pub fn nightjar_state(
    state: SessionState,
    country: Arc<GeoDb>,
    asn: Arc<GeoDb>,
    memory_limit_bytes: usize,
) -> SessionState {
    let ctx = crate::distinct_plan::keep_counted_distinct(SessionContext::new_with_state(state));
    crate::functions::register(&ctx, country, asn);
    crate::functions::bounded::register(&ctx, memory_limit_bytes);
    ctx.state()
}

/// The names of the functions [`nightjar_state`] adds or replaces (scalar and aggregate): a plan
/// that names one needs Nightjar's, not DataFusion's function of that name, wherever it runs.
pub fn nightjar_function_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = crate::FUNCTIONS.iter().map(crate::FunctionDoc::name).collect();
    names.extend(crate::functions::bounded::names());
    names.push(crate::functions::distinct_count::NAME);
    names
}
