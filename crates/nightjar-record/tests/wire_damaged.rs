//! A damaged upload body is an error, never a panic: the body the collector's fuzz target
//! (crates/nightjar-collector/fuzz, decode_upload) found crashing Arrow's IPC reader, and every
//! single-byte corruption of a valid body.

use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::wire::{self, DecodeLimits, WireError};
use nightjar_record::{PacketBatchBuilder, RecordOptions};

/// The fuzz target's template: a valid two-row body, uncompressed Arrow IPC.
fn valid_body() -> Vec<u8> {
    let frames: [&[u8]; 2] = [
        &[
            0x45, 0, 0, 40, 0xd4, 0x31, 0, 0, 250, 6, 0, 0, 198, 51, 100, 7, 192, 0, 2, 9, 0x9c, 0x40, 0, 23, 192, 0,
            2, 9, 0, 0, 0, 0, 0x50, 0x02, 0x16, 0xd0, 0, 0, 0, 0,
        ],
        &[0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 203, 0, 113, 5, 192, 0, 2, 200, 0x9c, 0x41, 0, 53, 0, 8, 0, 0],
    ];
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for (i, frame) in frames.iter().enumerate() {
        let packet = decode(LinkType::Raw, frame).expect("the frames are valid");
        builder.append(1_796_000_000_000_000 + i as i64, &packet, &classify(&packet), None);
    }
    let body = wire::encode(&[builder.finish("fuzz-1", 7)], 1).expect("the batch encodes");
    zstd::bulk::decompress(&body, 1 << 20).expect("wire::encode makes a zstd frame")
}

const LIMITS: DecodeLimits = DecodeLimits { max_decompressed_bytes: 4 << 20, max_rows: 10_000 };

#[test]
fn the_body_that_crashed_arrow_is_refused_as_unreadable() {
    // Fuzz input `qitvKw==`: mode 2 (XOR into the valid body, uncompressed), offset 0x6f2b, mask 0x2b.
    let mut body = valid_body();
    let start = 0x6f2b % body.len();
    body[start] ^= 0x2b;
    match wire::decode(&body, false, LIMITS) {
        Err(WireError::Unreadable(message)) => assert!(!message.is_empty()),
        Err(other) => panic!("refused, but not as unreadable: {other}"),
        Ok(batches) => panic!("a damaged body decoded to {} batches", batches.len()),
    }
}

#[test]
fn no_single_byte_corruption_of_a_valid_body_panics() {
    let valid = valid_body();
    assert_eq!(wire::decode(&valid, false, LIMITS).expect("the valid body decodes")[0].num_rows(), 2);
    let mut refused = 0;
    for position in 0..valid.len() {
        for mask in [0x01u8, 0x2b, 0x80, 0xff] {
            let mut body = valid.clone();
            body[position] ^= mask;
            // Any outcome but a panic is fine here: some flips land in padding or in values.
            if wire::decode(&body, false, LIMITS).is_err() {
                refused += 1;
            }
        }
    }
    assert!(refused > valid.len(), "most corruptions are refused ({refused} of {})", valid.len() * 4);
}
