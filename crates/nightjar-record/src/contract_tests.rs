//! The code's schema against the contract in `schemas/packet-record-v1.json`.

use arrow::datatypes::{DataType, TimeUnit};

use crate::schema::{SCHEMA_VERSION, SCHEMA_VERSION_KEY, packet_schema};

const CONTRACT: &str = include_str!("../../../schemas/packet-record-v1.json");

/// The contract's spelling of an Arrow type.
fn contract_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) => format!("timestamp[us, {tz}]"),
        DataType::Utf8 => "utf8".into(),
        DataType::Binary => "binary".into(),
        DataType::Boolean => "bool".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::FixedSizeBinary(n) => format!("fixed_size_binary[{n}]"),
        other => format!("unexpected:{other}"),
    }
}

#[test]
fn schema_matches_the_contract_file_column_for_column() {
    let contract: serde_json::Value = serde_json::from_str(CONTRACT).expect("the contract is JSON");
    assert_eq!(contract["version"], SCHEMA_VERSION);
    assert_eq!(contract["metadata"][SCHEMA_VERSION_KEY], SCHEMA_VERSION.to_string());
    let columns = contract["columns"].as_array().expect("columns is a list");
    let schema = packet_schema();
    assert_eq!(columns.len(), schema.fields().len(), "column count differs from the contract");
    for (documented, field) in columns.iter().zip(schema.fields()) {
        assert_eq!(documented["name"], field.name().as_str());
        assert_eq!(documented["type"], contract_type(field.data_type()), "type of {}", field.name());
        assert_eq!(documented["nullable"], field.is_nullable(), "nullability of {}", field.name());
        assert!(!documented["description"].as_str().unwrap_or("").is_empty(), "{} is undocumented", field.name());
    }
    assert_eq!(schema.metadata().get(SCHEMA_VERSION_KEY), Some(&SCHEMA_VERSION.to_string()));
}

#[test]
fn the_markdown_contract_names_every_column() {
    let doc = include_str!("../../../schemas/packet-record-v1.md");
    for field in packet_schema().fields() {
        assert!(doc.contains(&format!("`{}`", field.name())), "schemas/packet-record-v1.md misses `{}`", field.name());
    }
}
