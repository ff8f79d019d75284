//! The `packets` table: the dataset's Parquet files, with the record schema and the `day` partition.
//!
//! A dataset is a Delta table (layout v2: the files its log names, at the latest version or one
//! chosen with [`AsOf`]) or a plain folder of layout v1 (every `day=…/*.parquet` file listed anew
//! by each query). Both are read by DataFusion's listing table with the same Parquet options; for
//! a Delta table the listing comes from the snapshot ([`SnapshotStore`]), so files outside it
//! (uncommitted, or compacted away and not yet vacuumed) are never read.

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use nightjar_dataset::table::{LOG_DIR, s3_store};
use nightjar_dataset::{AsOf, DatasetError, PacketTable, SnapshotStore, TableLocation};
use tokio::sync::Mutex;
use url::Url;

use crate::QueryError;

pub(crate) mod rollups;

/// The name analysts query every packet by.
pub const PACKETS_TABLE: &str = "packets";

/// The hive partition column that the dataset's folder names (`day=2026-11-22/`) carry.
pub const DAY_COLUMN: &str = "day";

/// The URL a Delta table's snapshot is listed under inside the engine.
const SNAPSHOT_URL: &str = "nightjar-snapshot://packets/";

/// The columns of `packets` as analysts see them: the packet record schema, then `day`.
pub fn packets_schema() -> SchemaRef {
    let record = nightjar_record::packet_schema();
    let mut fields: Vec<Field> = record.fields().iter().map(|field| field.as_ref().clone()).collect();
    fields.push(Field::new(DAY_COLUMN, DataType::Date32, false));
    Arc::new(Schema::new_with_metadata(fields, record.metadata().clone()))
}

/// Which table version the engine reads, when the dataset is a Delta table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The table version.
    pub version: u64,
    /// When it was committed, in milliseconds since the epoch.
    pub committed_ms: Option<i64>,
}

/// Registers the dataset at `location` as the table [`PACKETS_TABLE`]; returns the snapshot read
/// when it is a Delta table. `as_of` other than the latest needs a Delta table.
pub(crate) async fn register_packets(
    ctx: &SessionContext,
    location: &str,
    as_of: &AsOf,
) -> Result<Option<SnapshotInfo>, QueryError> {
    let table_location = TableLocation::parse(location)?;
    if table_location.local_dir.as_deref().is_some_and(|dir| !dir.is_dir()) {
        let reason = if table_location.local_dir.as_deref().is_some_and(Path::exists) {
            "not a folder"
        } else {
            "no such folder"
        };
        return Err(dataset_error(location, reason));
    }
    let is_table = match &table_location.local_dir {
        Some(dir) => dir.join(LOG_DIR).is_dir(),
        None => true,
    };
    if is_table {
        match PacketTable::open(&table_location, as_of).await {
            Ok(table) => {
                let info = register_snapshot(ctx, table, as_of).await?;
                rollups::register(ctx, &table_location).await?;
                return Ok(Some(info));
            }
            // An object-store prefix without a log is read as a layout v1 folder.
            Err(DatasetError::NotATable { .. }) if table_location.local_dir.is_none() => {}
            Err(error) => return Err(error.into()),
        }
    }
    if *as_of != AsOf::Latest {
        return Err(dataset_error(location, "--as-of needs a Delta table (see `nightjar convert`)"));
    }
    if table_location.local_dir.is_none() {
        let store = s3_store(&table_location.url).map_err(|error| dataset_error(location, error))?;
        let bucket_url = Url::parse(&format!("s3://{}", table_location.url.host_str().unwrap_or_default()))
            .map_err(|error| dataset_error(location, error))?;
        ctx.register_object_store(&bucket_url, Arc::new(store));
    }
    let listing = listing_table(table_location.url.as_str()).map_err(|error| dataset_error(location, error))?;
    ctx.register_table(PACKETS_TABLE, Arc::new(listing))?;
    Ok(None)
}

/// A listing table over `url` with the record schema, the `day` partition and only `.parquet`
/// files; the writers' `_inprogress/` and `_compact/` work folders stay invisible.
pub(crate) fn listing_table(url: &str) -> Result<ListingTable, DataFusionError> {
    let table_url = ListingTableUrl::parse(url)?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![(DAY_COLUMN.to_owned(), DataType::Date32)]);
    let config =
        ListingTableConfig::new(table_url).with_listing_options(options).with_schema(nightjar_record::packet_schema());
    ListingTable::try_new(config)
}

async fn register_snapshot(ctx: &SessionContext, table: PacketTable, as_of: &AsOf) -> Result<SnapshotInfo, QueryError> {
    let info =
        SnapshotInfo { version: table.version(), committed_ms: table.version_time().map(|t| t.timestamp_millis()) };
    let store = Arc::new(SnapshotStore::new(table.store(), table.files()?, &table.location().given));
    let snapshot_url = Url::parse(SNAPSHOT_URL).map_err(|error| dataset_error(SNAPSHOT_URL, error))?;
    ctx.register_object_store(&snapshot_url, Arc::clone(&store) as Arc<dyn object_store::ObjectStore>);
    let listing = listing_table(SNAPSHOT_URL).map_err(|error| dataset_error(&table.location().given, error))?;
    let dataset = table.location().url.to_string();
    let follow = (*as_of == AsOf::Latest).then(|| Mutex::new(table));
    ctx.register_table(PACKETS_TABLE, Arc::new(DeltaPackets { listing, store, follow, dataset }))?;
    Ok(info)
}

/// `packets` over a Delta table: the listing table over the snapshot store, which each query
/// moves to the newest commit first unless the engine reads a fixed version.
pub(crate) struct DeltaPackets {
    listing: ListingTable,
    store: Arc<SnapshotStore>,
    /// The table to follow, when reading the latest version.
    follow: Option<Mutex<PacketTable>>,
    /// The table's location as a URL (`file:///…/` or `s3://bucket/prefix/`): the same table for
    /// a process in another folder.
    dataset: String,
}

impl std::fmt::Debug for DeltaPackets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaPackets")
            .field("store", &self.store)
            .field("follows_latest", &self.follow.is_some())
            .finish()
    }
}

impl DeltaPackets {
    /// Where the table is and which version it reads: `None` for the latest.
    pub(crate) fn source(&self) -> (String, Option<u64>) {
        let pinned = self.follow.is_none().then(|| self.store.files().version);
        (self.dataset.clone(), pinned)
    }

    /// Moves the snapshot store to the newest commit.
    async fn follow_latest(&self) -> Result<(), DataFusionError> {
        let Some(follow) = &self.follow else { return Ok(()) };
        let mut table = follow.lock().await;
        table.refresh().await.map_err(|error| DataFusionError::External(Box::new(error)))?;
        let files = table.files().map_err(|error| DataFusionError::External(Box::new(error)))?;
        self.store.set_files(files);
        Ok(())
    }
}

#[async_trait]
impl TableProvider for DeltaPackets {
    fn schema(&self) -> SchemaRef {
        self.listing.schema()
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
    ) -> Result<Arc<dyn ExecutionPlan>, DataFusionError> {
        self.follow_latest().await?;
        self.listing.scan(state, projection, filters, limit).await
    }

    async fn scan_with_args<'a>(&self, state: &dyn Session, args: ScanArgs<'a>) -> Result<ScanResult, DataFusionError> {
        self.follow_latest().await?;
        self.listing.scan_with_args(state, args).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>, DataFusionError> {
        self.listing.supports_filters_pushdown(filters)
    }
}

fn dataset_error(location: &str, reason: impl ToString) -> QueryError {
    QueryError::Dataset { location: location.to_owned(), reason: reason.to_string() }
}
