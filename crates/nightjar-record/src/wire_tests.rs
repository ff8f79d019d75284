//! Upload bodies: round trip, and every way a body can be refused.

use std::sync::Arc;

use arrow::array::{Int32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use nightjar_packet::{LinkType, classify, decode};

use crate::builder::{PacketBatchBuilder, RecordOptions};
use crate::wire::{self, DecodeLimits, WireError};

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
    wire::check_rows(&got, "s1", 7, 0, i64::MAX).unwrap();
}

#[test]
fn rows_of_another_sensor_or_batch_or_time_are_named() {
    let got = vec![batch("s1", 7, 3)];
    let err = wire::check_rows(&got, "s2", 7, 0, i64::MAX).unwrap_err();
    assert!(matches!(err, WireError::Row { row: 0, .. }), "{err}");
    let err = wire::check_rows(&got, "s1", 8, 0, i64::MAX).unwrap_err();
    assert!(err.to_string().contains("batch_seq"), "{err}");
    let err = wire::check_rows(&got, "s1", 7, 0, 1_000_001).unwrap_err();
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
