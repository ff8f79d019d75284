//! The `packets` table: every Parquet file of the dataset, with the record schema and the `day` partition.

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::prelude::SessionContext;
use object_store::aws::AmazonS3Builder;
use object_store::client::SpawnedReqwestConnector;
use url::Url;

use crate::QueryError;

/// The name analysts query every packet by.
pub const PACKETS_TABLE: &str = "packets";

/// The hive partition column that the dataset's folder names (`day=2026-11-22/`) carry.
pub const DAY_COLUMN: &str = "day";

/// The columns of `packets` as analysts see them: the packet record schema, then `day`.
pub fn packets_schema() -> SchemaRef {
    let record = nightjar_record::packet_schema();
    let mut fields: Vec<Field> = record.fields().iter().map(|field| field.as_ref().clone()).collect();
    fields.push(Field::new(DAY_COLUMN, DataType::Date32, false));
    Arc::new(Schema::new_with_metadata(fields, record.metadata().clone()))
}

/// Registers the dataset at `location` as the table [`PACKETS_TABLE`].
///
/// The schema is the record schema (not inferred from whichever file is listed first), files are
/// listed anew by every query (a collector adds files all the time), and only `day=…/*.parquet`
/// files are read, so the writers' `_inprogress/` and `_compact/` work folders stay invisible.
pub(crate) fn register_packets(ctx: &SessionContext, location: &str) -> Result<(), QueryError> {
    let url = dataset_url(location)?;
    if url.scheme() == "s3" {
        register_s3(ctx, &url, location)?;
    }
    let table_url = ListingTableUrl::parse(url.as_str()).map_err(|error| dataset_error(location, error))?;
    let record_fields = nightjar_record::packet_schema();
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![(DAY_COLUMN.to_owned(), DataType::Date32)]);
    let config = ListingTableConfig::new(table_url).with_listing_options(options).with_schema(record_fields);
    let table = ListingTable::try_new(config).map_err(|error| dataset_error(location, error))?;
    ctx.register_table(PACKETS_TABLE, Arc::new(table))?;
    Ok(())
}

/// The dataset location as a URL ending in `/`: `file:///abs/path/` for a folder, or the URL as given.
fn dataset_url(location: &str) -> Result<Url, QueryError> {
    let with_slash = |mut url: Url| {
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        url
    };
    if let Ok(url) = Url::parse(location)
        && url.scheme().len() > 1
    {
        return match url.scheme() {
            "s3" | "file" => Ok(with_slash(url)),
            other => Err(dataset_error(location, format!("unsupported URL scheme `{other}` (use a folder or s3://)"))),
        };
    }
    let path = Path::new(location);
    if !path.is_dir() {
        let reason = if path.exists() { "not a folder" } else { "no such folder" };
        return Err(dataset_error(location, reason));
    }
    let absolute = path.canonicalize().map_err(|error| dataset_error(location, error))?;
    Url::from_directory_path(&absolute).map_err(|()| dataset_error(location, "not an absolute path"))
}

/// Makes `s3://bucket/…` readable, with credentials, region and endpoint from the `AWS_*` variables
/// (`AWS_ENDPOINT` and `AWS_ALLOW_HTTP=true` for S3-compatible stores such as MinIO or Ceph).
fn register_s3(ctx: &SessionContext, url: &Url, location: &str) -> Result<(), QueryError> {
    let bucket = url.host_str().ok_or_else(|| dataset_error(location, "the s3:// URL names no bucket"))?;
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    // Queries run on runtimes of their own that end with them; the store's connections live on
    // the runtime that opened the dataset, which lasts as long as the engine.
    if let Ok(io_runtime) = tokio::runtime::Handle::try_current() {
        builder = builder.with_http_connector(SpawnedReqwestConnector::new(io_runtime));
    }
    let store = builder.build().map_err(|error| dataset_error(location, error))?;
    let bucket_url = Url::parse(&format!("s3://{bucket}")).map_err(|error| dataset_error(location, error))?;
    ctx.register_object_store(&bucket_url, Arc::new(store));
    Ok(())
}

fn dataset_error(location: &str, reason: impl ToString) -> QueryError {
    QueryError::Dataset { location: location.to_owned(), reason: reason.to_string() }
}
