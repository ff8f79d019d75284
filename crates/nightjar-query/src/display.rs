//! Results for people: addresses as text.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use nightjar_packet::Addr16;

use crate::functions::address_text;

/// Whether a column holds addresses in the stored 16-byte form.
fn is_address(data_type: &DataType) -> bool {
    *data_type == DataType::FixedSizeBinary(16)
}

/// The schema with every address column turned into text.
pub fn text_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match is_address(field.data_type()) {
            true => field.as_ref().clone().with_data_type(DataType::Utf8),
            false => field.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The batch with every address column (16-byte `FixedSizeBinary`) turned into text, as
/// `ip_text()` prints it; other columns are kept as they are.
pub fn addresses_as_text(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    if !batch.schema().fields().iter().any(|field| is_address(field.data_type())) {
        return Ok(batch.clone());
    }
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|column| match is_address(column.data_type()) {
            true => address_column_text(column),
            false => Arc::clone(column),
        })
        .collect();
    RecordBatch::try_new(text_schema(&batch.schema()), columns)
}

fn address_column_text(column: &ArrayRef) -> ArrayRef {
    let values = column.as_fixed_size_binary();
    let mut out = StringBuilder::with_capacity(values.len(), values.len() * 15);
    for value in values.iter() {
        out.append_option(value.and_then(|bytes| <Addr16>::try_from(bytes).ok()).map(|addr| address_text(&addr)));
    }
    Arc::new(out.finish())
}
