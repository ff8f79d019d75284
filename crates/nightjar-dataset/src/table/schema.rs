//! The packet table's schema as the Delta log states it.
//!
//! Delta has no unsigned integers and no fixed-width binary, so the log declares each column with
//! the narrowest Delta type that holds every value of the Parquet column: `UInt8` → `short`,
//! `UInt16` → `integer`, `UInt32` and `UInt64` → `long`, 16-byte addresses → `binary`. The data
//! files keep the record schema's own types (readers widen on read); Nightjar reads them with the
//! record schema.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake_core::kernel::{StructField, StructType};

use crate::error::DatasetError;
use crate::layout::DAY_PARTITION_KEY;

/// The Delta type declared for a record column of type `data_type`.
pub(crate) fn declared_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::FixedSizeBinary(_) => DataType::Binary,
        other => other.clone(),
    }
}

/// The columns the log declares: the record schema's columns with Delta types, then `day`.
pub fn declared_arrow_schema() -> Schema {
    let record = nightjar_record::packet_schema();
    let mut fields: Vec<Field> = record
        .fields()
        .iter()
        .map(|field| Field::new(field.name(), declared_type(field.data_type()), field.is_nullable()))
        .collect();
    fields.push(Field::new(DAY_PARTITION_KEY, DataType::Date32, false));
    Schema::new(fields)
}

/// The declared schema as a Delta struct type.
pub fn declared_schema() -> Result<StructType, DatasetError> {
    let arrow_schema = Arc::new(declared_arrow_schema());
    arrow_schema.as_ref().try_into_kernel().map_err(|source| DatasetError::Declared(source.to_string()))
}

/// Why `found` is not the packet table's schema, naming the first difference; `None` when it is.
pub fn schema_difference(found: &StructType, expected: &StructType) -> Option<String> {
    let found_fields: Vec<&StructField> = found.fields().collect();
    let expected_fields: Vec<&StructField> = expected.fields().collect();
    for expected_field in &expected_fields {
        match found_fields.iter().find(|field| field.name() == expected_field.name()) {
            None => return Some(format!("it has no column `{}`", expected_field.name())),
            Some(field) if field.data_type() != expected_field.data_type() => {
                return Some(format!(
                    "column `{}` is {} where the packet table has {}",
                    field.name(),
                    field.data_type(),
                    expected_field.data_type()
                ));
            }
            Some(_) => {}
        }
    }
    found_fields
        .iter()
        .find(|field| !expected_fields.iter().any(|expected| expected.name() == field.name()))
        .map(|extra| format!("it has a column `{}` the packet table does not", extra.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_column_is_declared_with_a_type_that_holds_its_values() {
        let declared = declared_schema().expect("the declared schema converts");
        let record = nightjar_record::packet_schema();
        assert_eq!(declared.fields().count(), record.fields().len() + 1);
        let kinds: Vec<String> = ["ip_ttl", "dst_port", "tcp_seq", "batch_seq", "src_ip", "time", "day"]
            .iter()
            .map(|name| declared.field(name).expect("declared").data_type().to_string())
            .collect();
        assert_eq!(kinds, ["short", "integer", "long", "long", "binary", "timestamp", "date"]);
        assert_eq!(schema_difference(&declared, &declared), None);
    }

    #[test]
    fn another_schema_is_described_by_its_first_difference() {
        let expected = declared_schema().expect("the declared schema converts");
        let fields: Vec<Field> = declared_arrow_schema()
            .fields()
            .iter()
            .map(
                |f| if f.name() == "ip_ttl" { Field::new("ip_ttl", DataType::Int8, false) } else { f.as_ref().clone() },
            )
            .collect();
        let found: StructType = (&Schema::new(fields)).try_into_kernel().expect("converts");
        let reason = schema_difference(&found, &expected).expect("a difference");
        assert_eq!(reason, "column `ip_ttl` is byte where the packet table has short");
    }
}
