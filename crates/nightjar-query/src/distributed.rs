//! What other processes need to plan and run the plans of a Nightjar session: the scheduler and
//! the executors of a distributed engine (DataFusion Ballista, see the `nightjar-cluster` crate).
//!
//! - [`nightjar_state`]: a session with Nightjar's SQL functions (bound to the geo databases the
//!   process loaded), its `count`, the rule that keeps distinct counts in one aggregate, and its
//!   Parquet scan options: the same planning a local engine does.
//! - [`TableSource`]: how `packets` or a rollup table over a Delta table travels in a plan: the
//!   dataset, the table and the version read. [`table_at`] rebuilds the table where the plan is
//!   decoded, over the same snapshot, so files outside it (uncommitted, or compacted away) are
//!   never read there either.
//! - [`DatasetStores`]: the object stores a plan's file scans name, found by URL: the dataset's
//!   bucket, and the snapshot URLs (`nightjar-snapshot://…/`) whose reads go to the table's root.

use std::sync::Arc;

use arrow::datatypes::{DataType, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionState;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use nightjar_dataset::table::{DayTable, ROLLUP_TABLES, derived_location};
use nightjar_dataset::{AsOf, DatasetError, PacketTable, SnapshotFiles, SnapshotStore, TableLocation};
use nightjar_geo::GeoDb;
use object_store::ObjectStore;
use url::Url;

use crate::table::rollups::DeltaRollup;
use crate::table::{DAY_COLUMN, DeltaPackets, PACKETS_TABLE};

/// The URL scheme under which a Delta table's snapshot is listed and read inside an engine.
pub const SNAPSHOT_SCHEME: &str = "nightjar-snapshot";

/// Where a plan's Delta table comes from: `packets` or a rollup table of a dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSource {
    /// The dataset's location as a URL (`file:///…/` or `s3://bucket/prefix/`).
    pub dataset: String,
    /// [`PACKETS_TABLE`] or a rollup table's name (`source_days`, …).
    pub table: String,
    /// The version read; `None`: the newest when the plan is decoded.
    pub version: Option<u64>,
}

/// The source of `provider` when it is `packets` or a rollup table over a Delta table.
pub fn table_source(provider: &dyn TableProvider) -> Option<TableSource> {
    if let Some(packets) = provider.downcast_ref::<DeltaPackets>() {
        let (dataset, version) = packets.source();
        return Some(TableSource { dataset, table: PACKETS_TABLE.to_owned(), version });
    }
    let rollup = provider.downcast_ref::<DeltaRollup>()?;
    let (dataset, name) = rollup.source();
    Some(TableSource { dataset, table: name.to_owned(), version: None })
}

/// The table `source` names, with the columns `schema`, opened at its snapshot when first scanned.
pub fn table_at(source: TableSource, schema: SchemaRef) -> Result<Arc<dyn TableProvider>> {
    if source.table != PACKETS_TABLE && !ROLLUP_TABLES.iter().any(|rollup| rollup.name == source.table) {
        return Err(DataFusionError::Plan(format!("no Nightjar table `{}`", source.table)));
    }
    // Answers which filters it takes the way the table it opens will.
    let shape = listing_over(&format!("{SNAPSHOT_SCHEME}://shape/"), &schema)?;
    Ok(Arc::new(TableAt { source, schema, shape }))
}

/// A listing table over `url` with the columns of `schema`, `day` being the partition.
fn listing_over(url: &str, schema: &SchemaRef) -> Result<ListingTable> {
    let files: Vec<_> = schema.fields().iter().filter(|field| field.name() != DAY_COLUMN).cloned().collect();
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![(DAY_COLUMN.to_owned(), DataType::Date32)]);
    let config = ListingTableConfig::new(ListingTableUrl::parse(url)?)
        .with_listing_options(options)
        .with_schema(Arc::new(Schema::new_with_metadata(files, schema.metadata().clone())));
    ListingTable::try_new(config)
}

/// The host of the snapshot URL of `table` at `version`: `packets-v12`, `source-days-v3`.
fn snapshot_host(table: &str, version: u64) -> String {
    format!("{}-v{version}", table.replace('_', "-"))
}

/// The table a snapshot URL's host names (see [`snapshot_host`]).
fn snapshot_table(host: &str) -> &str {
    host.rsplit_once("-v").filter(|(_, version)| version.parse::<u64>().is_ok()).map_or(host, |(table, _)| table)
}

/// The table [`table_at`] returns.
#[derive(Debug)]
struct TableAt {
    source: TableSource,
    schema: SchemaRef,
    shape: ListingTable,
}

impl TableAt {
    /// The snapshot's store (reads go to the table's root) and its file set.
    async fn open(&self) -> std::result::Result<(Arc<dyn ObjectStore>, SnapshotFiles, String), DatasetError> {
        let location = TableLocation::parse(&self.source.dataset)?;
        if self.source.table == PACKETS_TABLE {
            let as_of = self.source.version.map_or(AsOf::Latest, AsOf::Version);
            let table = PacketTable::open(&location, &as_of).await?;
            return Ok((table.store(), table.files()?, location.given));
        }
        let rollup = derived_location(&location, &self.source.table)?;
        let table = DayTable::open(&rollup).await?.ok_or_else(|| DatasetError::Location {
            location: rollup.given.clone(),
            reason: "the rollup table is gone".to_owned(),
        })?;
        Ok((table.store(), table.files()?, rollup.given))
    }
}

#[async_trait]
impl TableProvider for TableAt {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
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
        let (root, files, name) = self.open().await.map_err(|error| DataFusionError::External(Box::new(error)))?;
        // One URL per table and version: plans of several versions may share this runtime.
        let url = format!("{SNAPSHOT_SCHEME}://{}/", snapshot_host(&self.source.table, files.version));
        let store = SnapshotStore::new(root, files, &name);
        let parsed = Url::parse(&url).map_err(|error| DataFusionError::External(Box::new(error)))?;
        state.runtime_env().register_object_store(&parsed, Arc::new(store));
        listing_over(&url, &self.schema)?.scan(state, projection, filters, limit).await
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
                let table = snapshot_table(url.host_str().unwrap_or_default()).replace('-', "_");
                let location = if ROLLUP_TABLES.iter().any(|rollup| rollup.name == table) {
                    derived_location(dataset, &table).map_err(external)?
                } else {
                    dataset.clone()
                };
                let (_, table_root) = location.stores().map_err(external)?;
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
