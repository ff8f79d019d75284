//! Metadata calls: catalogs, schemas, tables with their columns, table types, server info.
//!
//! Tables are listed with the schema clients get from a query, addresses as text (see
//! [`crate::service`]), so `get_table_schema` and a `SELECT *` agree.

use std::sync::LazyLock;

use arrow::array::RecordBatch;
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::{
    CommandGetCatalogs, CommandGetDbSchemas, CommandGetTableTypes, CommandGetTables, SqlInfo, SqlSupportedTransaction,
};
use datafusion::datasource::TableType;
use datafusion::prelude::SessionContext;
use nightjar_query::text_schema;
use tonic::Status;

/// The table types the server lists.
const TABLE_TYPES: [&str; 2] = ["TABLE", "VIEW"];

fn table_type_name(table_type: TableType) -> &'static str {
    match table_type {
        TableType::Base => "TABLE",
        TableType::View => "VIEW",
        TableType::Temporary => "LOCAL TEMPORARY",
    }
}

fn arrow_status(error: arrow_flight::error::FlightError) -> Status {
    Status::internal(format!("cannot encode the metadata: {error}"))
}

/// The catalogs (DataFusion's one, `datafusion`).
pub fn catalogs(ctx: &SessionContext, query: CommandGetCatalogs) -> Result<RecordBatch, Status> {
    let mut builder = query.into_builder();
    for catalog in ctx.catalog_names() {
        builder.append(catalog);
    }
    builder.build().map_err(arrow_status)
}

/// The schemas of every catalog (`public`, `information_schema`), filtered as the client asks.
pub fn db_schemas(ctx: &SessionContext, query: CommandGetDbSchemas) -> Result<RecordBatch, Status> {
    let mut builder = query.into_builder();
    for catalog_name in ctx.catalog_names() {
        let Some(catalog) = ctx.catalog(&catalog_name) else { continue };
        for schema_name in catalog.schema_names() {
            builder.append(&catalog_name, schema_name);
        }
    }
    builder.build().map_err(arrow_status)
}

/// The tables and views, filtered as the client asks, with their Arrow schema when asked.
pub async fn tables(ctx: &SessionContext, query: CommandGetTables) -> Result<RecordBatch, Status> {
    let mut builder = query.into_builder();
    for catalog_name in ctx.catalog_names() {
        let Some(catalog) = ctx.catalog(&catalog_name) else { continue };
        for schema_name in catalog.schema_names() {
            let Some(schema) = catalog.schema(&schema_name) else { continue };
            for table_name in schema.table_names() {
                let table = schema
                    .table(&table_name)
                    .await
                    .map_err(|error| Status::internal(format!("cannot describe table {table_name}: {error}")))?;
                let Some(table) = table else { continue };
                let columns = text_schema(&table.schema());
                builder
                    .append(&catalog_name, &schema_name, &table_name, table_type_name(table.table_type()), &columns)
                    .map_err(arrow_status)?;
            }
        }
    }
    builder.build().map_err(arrow_status)
}

/// The table types: `TABLE` and `VIEW`.
pub fn table_types(query: CommandGetTableTypes) -> Result<RecordBatch, Status> {
    let mut builder = query.into_builder();
    for table_type in TABLE_TYPES {
        builder.append(table_type);
    }
    builder.build().map_err(arrow_status)
}

/// What the server says about itself: its name and version, that it only reads, that it takes
/// SQL (not Substrait) and has no transactions.
pub fn sql_info() -> &'static SqlInfoData {
    static INFO: LazyLock<SqlInfoData> = LazyLock::new(|| {
        let mut builder = SqlInfoDataBuilder::new();
        builder.append(SqlInfo::FlightSqlServerName, "Nightjar");
        builder.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        // The Arrow columnar format version (Schema.fbs), not the arrow crate's.
        builder.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
        builder.append(SqlInfo::FlightSqlServerReadOnly, true);
        builder.append(SqlInfo::FlightSqlServerSql, true);
        builder.append(SqlInfo::FlightSqlServerSubstrait, false);
        builder.append(SqlInfo::FlightSqlServerTransaction, SqlSupportedTransaction::None as i32);
        builder.append(SqlInfo::FlightSqlServerCancel, false);
        builder.append(SqlInfo::SqlDdlCatalog, false);
        builder.append(SqlInfo::SqlDdlSchema, false);
        builder.append(SqlInfo::SqlDdlTable, false);
        builder.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
        builder.build().expect("the server info values have the types of their SqlInfo ids")
    });
    &INFO
}
