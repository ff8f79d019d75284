//! Upload bodies: round trip, and every way a body can be refused.

use std::sync::Arc;

use arrow::array::{ArrayRef, BinaryArray, FixedSizeBinaryArray, Int32Array, RecordBatch, StringArray, UInt8Array};
use arrow::datatypes::{DataType, Field, Schema};
use nightjar_packet::{LinkType, classify, decode};

use crate::builder::{PacketBatchBuilder, RecordOptions};
use crate::schema::{col, packet_schema};
use crate::wire::{self, DecodeLimits, RowExpectations, WireError};

fn batch(sensor: &str, seq: u64, rows: usize) -> RecordBatch {
    let frame: [u8; 28] =
        [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 198, 51, 100, 7, 192, 0, 2, 10, 8, 0, 0, 0, 0, 1, 0, 1];
    let packet = decode(LinkType::Raw, &frame).unwrap();
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for i in 0..rows {
        builder.append(1_000_000 + i as i64, &packet, &classify(&packet), None);
    }
    builder.finish(sensor, seq)
}

#[test]
fn encoded_batches_decode_to_the_same_rows() {
    let sent = vec![batch("s1", 7, 100), batch("s1", 7, 50)];
    let body = wire::encode(&sent, 3).unwrap();
    let got = wire::decode(&body, true, DecodeLimits::default()).unwrap();
    assert_eq!(got, sent);
    wire::check_rows(&got, &expect("s1", 7, 0, i64::MAX)).unwrap();
}

fn expect(sensor: &str, batch_seq: u64, earliest_us: i64, latest_us: i64) -> RowExpectations<'_> {
    RowExpectations { sensor, batch_seq, earliest_us, latest_us }
}

#[test]
fn rows_of_another_sensor_or_batch_or_time_are_named() {
    let got = vec![batch("s1", 7, 3)];
    let err = wire::check_rows(&got, &expect("s2", 7, 0, i64::MAX)).unwrap_err();
    assert!(matches!(err, WireError::Row { row: 0, .. }), "{err}");
    let err = wire::check_rows(&got, &expect("s1", 8, 0, i64::MAX)).unwrap_err();
    assert!(err.to_string().contains("batch_seq"), "{err}");
    let err = wire::check_rows(&got, &expect("s1", 7, 0, 1_000_001)).unwrap_err();
    assert!(matches!(err, WireError::Row { row: 2, .. }), "{err}");
}

#[test]
fn a_compression_bomb_stops_at_the_limit() {
    let body = zstd::bulk::compress(&vec![0u8; 4 << 20], 19).unwrap();
    assert!(body.len() < 4096, "4 MiB of zeros compress to {} bytes", body.len());
    let limits = DecodeLimits { max_decompressed_bytes: 1 << 20, max_rows: 10 };
    assert!(matches!(wire::decode(&body, true, limits), Err(WireError::DecompressedTooLarge { limit: 1_048_576 })));
}

#[test]
fn too_many_rows_are_refused() {
    let body = wire::encode(&[batch("s", 1, 20)], 1).unwrap();
    let limits = DecodeLimits { max_rows: 10, ..DecodeLimits::default() };
    assert!(matches!(wire::decode(&body, true, limits), Err(WireError::TooManyRows { limit: 10 })));
}

#[test]
fn garbage_truncated_and_foreign_bodies_are_refused() {
    let body = wire::encode(&[batch("s", 1, 20)], 1).unwrap();
    for bad in [&b"garbage"[..], &body[..body.len() / 2]] {
        let err = wire::decode(bad, true, DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, WireError::Unreadable(_)), "{err}");
    }
    // A valid IPC stream of another schema.
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, false)]));
    let other = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int32Array::from(vec![1]))]).unwrap();
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(Vec::new(), &schema).unwrap();
    writer.write(&other).unwrap();
    let ipc = writer.into_inner().unwrap();
    let err = wire::decode(&ipc, false, DecodeLimits::default()).unwrap_err();
    assert!(matches!(err, WireError::Schema(_)), "{err}");
    assert!(err.to_string().contains("columns"), "{err}");
}

/// `batch` with column `name` replaced by `values` (same type), in the packet schema.
fn with_column(batch: &RecordBatch, name: &str, values: ArrayRef) -> RecordBatch {
    let index = packet_schema().index_of(name).unwrap();
    let mut columns = batch.columns().to_vec();
    columns[index] = values;
    RecordBatch::try_new(packet_schema(), columns).unwrap()
}

fn strings(value: Option<&str>, rows: usize) -> ArrayRef {
    Arc::new(StringArray::from(vec![value; rows]))
}

#[test]
fn values_outside_their_domains_are_refused_naming_the_column() {
    let good = batch("s1", 7, 3);
    let long_label = "x".repeat(wire::MAX_LABEL_BYTES + 1);
    let long_layout = "N".repeat(wire::MAX_TCP_OPTION_LETTERS + 1);
    let big_payload = vec![0u8; wire::MAX_PAYLOAD_BYTES + 1];
    let mut unmapped = [0u8; 16];
    unmapped[15] = 1;
    let cases: Vec<(&str, ArrayRef)> = vec![
        (col::IP_VERSION, Arc::new(UInt8Array::from(vec![9u8; 3]))),
        (col::CLASS, strings(Some("pwned"), 3)),
        (col::TOOL, strings(Some("nmap"), 3)),
        (col::SPOOF, strings(Some("maybe"), 3)),
        (col::RESEARCH, strings(Some(&long_label), 3)),
        (col::RESEARCH, strings(Some("lab\u{1b}[2J"), 3)),
        (col::RESEARCH, strings(Some(""), 3)),
        (col::TCP_OPTS, strings(Some(&long_layout), 3)),
        (col::TCP_OPTS, strings(Some("M S"), 3)),
        (col::PAYLOAD, Arc::new(BinaryArray::from(vec![Some(&big_payload[..]); 3]))),
        (col::SRC_IP, Arc::new(FixedSizeBinaryArray::try_from_iter(std::iter::repeat_n(unmapped, 3)).unwrap())),
    ];
    for (name, values) in cases {
        let bad = with_column(&good, name, values);
        let err = wire::check_rows(&[bad], &expect("s1", 7, 0, i64::MAX)).unwrap_err();
        assert!(matches!(err, WireError::Row { row: 0, .. }), "{name}: {err}");
        let column = if name == col::SRC_IP { col::IP_VERSION } else { name };
        assert!(err.to_string().contains(column), "{name}: {err}");
        assert!(!err.to_string().contains('\u{1b}'), "{name}: the error echoes a raw escape: {err}");
        assert!(err.to_string().len() < 400, "{name}: the error echoes too much: {err}");
    }
    // Every name the classifier can produce is accepted, and null where nullable.
    for tool in nightjar_packet::Tool::ALL {
        let ok = with_column(&good, col::TOOL, strings(Some(tool.name()), 3));
        wire::check_rows(&[ok], &expect("s1", 7, 0, i64::MAX)).unwrap();
    }
    for sign in nightjar_packet::SpoofSign::ALL {
        let ok = with_column(&good, col::SPOOF, strings(Some(sign.name()), 3));
        wire::check_rows(&[ok], &expect("s1", 7, 0, i64::MAX)).unwrap();
    }
    let ok = with_column(&good, col::RESEARCH, strings(Some("Example Research Lab"), 3));
    wire::check_rows(&[ok], &expect("s1", 7, 0, i64::MAX)).unwrap();
}

#[test]
fn field_metadata_from_the_sender_is_dropped_not_stored() {
    let good = batch("s1", 7, 3);
    let fields: Vec<Field> = packet_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_metadata([("x".repeat(100), "y".repeat(100))].into()))
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, [("other".to_string(), "z".to_string())].into()));
    let decorated = RecordBatch::try_new(schema.clone(), good.columns().to_vec()).unwrap();
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(Vec::new(), &schema).unwrap();
    writer.write(&decorated).unwrap();
    let ipc = writer.into_inner().unwrap();
    let got = wire::decode(&ipc, false, DecodeLimits::default()).unwrap();
    assert_eq!(got[0].schema(), packet_schema(), "decoded batches carry exactly the record schema");
    assert_eq!(got[0].columns(), good.columns());
}

#[test]
fn another_schema_version_in_the_metadata_is_refused() {
    let good = batch("s1", 7, 1);
    let mut metadata = packet_schema().metadata().clone();
    metadata.insert(crate::SCHEMA_VERSION_KEY.to_string(), "2".to_string());
    let schema = Arc::new(packet_schema().as_ref().clone().with_metadata(metadata));
    let relabelled = RecordBatch::try_new(schema.clone(), good.columns().to_vec()).unwrap();
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(Vec::new(), &schema).unwrap();
    writer.write(&relabelled).unwrap();
    let err = wire::decode(&writer.into_inner().unwrap(), false, DecodeLimits::default()).unwrap_err();
    assert!(matches!(err, WireError::Schema(_)), "{err}");
}

#[test]
fn bytes_after_the_end_of_stream_or_a_missing_end_are_refused() {
    let body = wire::encode(&[batch("s", 1, 5)], 1).unwrap();
    let ipc = wire::inflate(&body, true, DecodeLimits::default()).unwrap();
    let mut trailing = ipc.clone();
    trailing.extend_from_slice(b"more rows nobody would read");
    let err = wire::decode(&trailing, false, DecodeLimits::default()).unwrap_err();
    assert!(err.to_string().contains("follow the end-of-stream"), "{err}");
    // The end-of-stream marker is 8 bytes (continuation, length 0).
    let cut = &ipc[..ipc.len() - 8];
    let err = wire::decode(cut, false, DecodeLimits::default()).unwrap_err();
    assert!(err.to_string().contains("end-of-stream marker"), "{err}");
}
