//! The rollup tables beside `packets`: `source_days`, `country_hours` and `port_days`
//! (`schemas/rollups-v1.md`), each a Delta table under the dataset's `_rollups/` folder that
//! Nightjar writes as days complete (`nightjar rollup`, the collector's maintenance).
//!
//! A rollup table is registered when it exists (a dataset nothing rolled up yet has none), with
//! the column types its Parquet files hold (addresses as 16 bytes, as in `packets`), and read
//! through its latest snapshot, which each query moves to the newest commit: a day rewritten
//! meanwhile is seen whole, old rows or new. `--as-of` pins `packets` only.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use nightjar_dataset::table::{DayTable, ROLLUP_TABLES, derived_location};
use nightjar_dataset::{SnapshotStore, TableLocation};
use tokio::sync::Mutex;
use url::Url;

use super::{DAY_COLUMN, dataset_error};
use crate::QueryError;

/// Registers every rollup table of the dataset at `dataset` that exists.
pub(crate) async fn register(ctx: &SessionContext, dataset: &TableLocation) -> Result<(), QueryError> {
    for rollup in ROLLUP_TABLES {
        let location = derived_location(dataset, rollup.name)?;
        let Some(table) = DayTable::open(&location).await? else { continue };
        let files = table.files()?;
        let has_files = !files.is_empty();
        let store = Arc::new(SnapshotStore::new(table.store(), files, &location.given));
        // One object-store URL per table; a host has no `_`.
        let url_text = format!("nightjar-snapshot://{}/", rollup.name.replace('_', "-"));
        let url = Url::parse(&url_text).map_err(|error| dataset_error(&url_text, error))?;
        ctx.register_object_store(&url, Arc::clone(&store) as Arc<dyn object_store::ObjectStore>);
        let table_url = ListingTableUrl::parse(&url_text)?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(vec![(DAY_COLUMN.to_owned(), DataType::Date32)]);
        // The files' own types (the log states Delta's wider ones); the log's for a table whose
        // days were all rewritten to no rows.
        let schema: SchemaRef =
            if has_files { options.infer_schema(&ctx.state(), &table_url).await? } else { table.declared_columns()? };
        let config = ListingTableConfig::new(table_url).with_listing_options(options).with_schema(schema);
        let listing = ListingTable::try_new(config)?;
        let provider = DeltaRollup {
            listing,
            store,
            table: Mutex::new(table),
            name: rollup.name,
            dataset: dataset.url.to_string(),
        };
        ctx.register_table(rollup.name, Arc::new(provider))?;
    }
    Ok(())
}

/// A rollup table: the listing table over its snapshot store, moved to the newest commit by each
/// query.
pub(crate) struct DeltaRollup {
    listing: ListingTable,
    store: Arc<SnapshotStore>,
    table: Mutex<DayTable>,
    /// Which rollup (`source_days`, …).
    name: &'static str,
    /// The dataset's location as a URL, for a process elsewhere.
    dataset: String,
}

impl std::fmt::Debug for DeltaRollup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaRollup").field("store", &self.store).finish()
    }
}

impl DeltaRollup {
    /// The dataset's location (a URL) and the rollup's name.
    pub(crate) fn source(&self) -> (String, &'static str) {
        (self.dataset.clone(), self.name)
    }

    async fn follow_latest(&self) -> Result<(), DataFusionError> {
        let mut table = self.table.lock().await;
        table.refresh().await.map_err(|error| DataFusionError::External(Box::new(error)))?;
        let files = table.files().map_err(|error| DataFusionError::External(Box::new(error)))?;
        self.store.set_files(files);
        Ok(())
    }
}

#[async_trait]
impl TableProvider for DeltaRollup {
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
