//! What tells two packets apart, read from stored rows and from decoded
//! packets alike, so a test can hold what a collector stand-in stored against
//! what the sensor kept or what tcpdump saw.
//!
//! A [`PacketKey`] leaves out the capture time (tcpdump's clock and the
//! sensor's differ); [`timed_keys`] puts it back where both sides come from
//! the same capture file.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, PrimitiveArray};
use arrow::datatypes::{ArrowPrimitiveType, TimestampMicrosecondType, UInt16Type, UInt32Type};
use arrow::record_batch::RecordBatch;
use nightjar_packet::Packet;
use nightjar_record::col;

/// Source, destination, IP id, TCP sequence number, destination port and IP length.
pub type PacketKey = (Vec<u8>, Vec<u8>, Option<u16>, Option<u32>, Option<u16>, u32);

/// A stored row's capture time (µs since the epoch) and its [`PacketKey`].
pub type TimedKey = (i64, PacketKey);

/// The key of a decoded packet.
pub fn packet_key(packet: &Packet<'_>) -> PacketKey {
    (
        packet.src.to_vec(),
        packet.dst.to_vec(),
        packet.ip_id,
        packet.tcp().map(|tcp| tcp.seq),
        packet.dst_port(),
        packet.ip_len,
    )
}

/// The key of every row of `batches` with its capture time, sorted.
pub fn timed_keys(batches: &[RecordBatch]) -> Vec<TimedKey> {
    let mut keys = Vec::new();
    for batch in batches {
        let time = column(batch, col::TIME).as_primitive::<TimestampMicrosecondType>();
        let src = column(batch, col::SRC_IP).as_fixed_size_binary();
        let dst = column(batch, col::DST_IP).as_fixed_size_binary();
        let ip_id = column(batch, col::IP_ID).as_primitive::<UInt16Type>();
        let seq = column(batch, col::TCP_SEQ).as_primitive::<UInt32Type>();
        let port = column(batch, col::DST_PORT).as_primitive::<UInt16Type>();
        let len = column(batch, col::IP_LEN).as_primitive::<UInt32Type>();
        for row in 0..batch.num_rows() {
            let key = (
                src.value(row).to_vec(),
                dst.value(row).to_vec(),
                value(ip_id, row),
                value(seq, row),
                value(port, row),
                len.value(row),
            );
            keys.push((time.value(row), key));
        }
    }
    keys.sort();
    keys
}

/// How often each key occurs among the rows of `batches`, capture times left out.
pub fn key_counts(batches: &[RecordBatch]) -> BTreeMap<PacketKey, usize> {
    let mut counts = BTreeMap::new();
    for (_, key) in timed_keys(batches) {
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a dyn Array {
    batch.column_by_name(name).unwrap_or_else(|| panic!("a `{name}` column")).as_ref()
}

fn value<T: ArrowPrimitiveType>(array: &PrimitiveArray<T>, row: usize) -> Option<T::Native> {
    (!array.is_null(row)).then(|| array.value(row))
}
