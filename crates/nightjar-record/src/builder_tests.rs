//! The builder writes each packet field into its column, with nulls where a
//! field does not apply.

use arrow::array::{Array, AsArray, FixedSizeBinaryArray};
use arrow::datatypes::{UInt8Type, UInt16Type, UInt32Type};
use nightjar_packet::{Addr16, LinkType, classify, decode, from_ip};

use crate::builder::{PacketBatchBuilder, RecordOptions};
use crate::schema::col;

/// Raw IPv4 TCP SYN 198.51.100.7:40000 -> 192.0.2.10:23, MSS 1460 + SACK-permitted, 2 payload bytes.
const SYN: [u8; 50] = [
    0x45, 0, 0, 50, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 198, 51, 100, 7, 192, 0, 2, 10, // IPv4
    0x9c, 0x40, 0, 23, 0, 0, 0, 9, 0, 0, 0, 0, 0x70, 0x02, 0x04, 0x00, 0, 0, 0, 0, // TCP, 28-byte header
    2, 4, 5, 180, 4, 2, 1, 1, // MSS, SACK-permitted, NOP NOP
    0xab, 0xcd,
];

/// Raw IPv4 ICMP port unreachable from 203.0.113.5 quoting a UDP packet 192.0.2.10:5353 -> 203.0.113.5:161.
const UNREACHABLE: [u8; 56] = [
    0x45, 0, 0, 56, 0, 2, 0, 0, 64, 1, 0, 0, 203, 0, 113, 5, 192, 0, 2, 10, // IPv4
    3, 3, 0, 0, 0, 0, 0, 0, // ICMP port unreachable
    0x45, 0, 0, 28, 0, 9, 0, 0, 64, 17, 0, 0, 192, 0, 2, 10, 203, 0, 113, 5, // quoted IPv4
    0x14, 0xe9, 0, 161, 0, 8, 0, 0, // quoted UDP
];

/// The stored form of an address written as text.
fn addr(text: &str) -> Addr16 {
    from_ip(text.parse().expect("a test address"))
}

#[test]
fn fields_land_in_their_columns_and_missing_ones_are_null() {
    let mut builder = PacketBatchBuilder::new(RecordOptions { payload_prefix: 1 });
    for (i, frame) in [&SYN[..], &UNREACHABLE[..]].into_iter().enumerate() {
        let packet = decode(LinkType::Raw, frame).expect("test frames are well formed");
        builder.append(1_000 + i as i64, &packet, &classify(&packet), (i == 1).then_some("Example Research"));
    }
    let batch = builder.finish("s1", 42);
    assert_eq!(batch.num_rows(), 2);
    assert!(builder.is_empty());
    let column = |name: &str| batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();

    let src = column(col::SRC_IP);
    let src = src.as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
    assert_eq!(src.value(0), addr("198.51.100.7"));
    assert_eq!(src.value(1), addr("203.0.113.5"));
    let dst_port = column(col::DST_PORT);
    let dst_port = dst_port.as_primitive::<UInt16Type>();
    assert_eq!((dst_port.value(0), dst_port.is_null(1)), (23, true));
    let mss = column(col::TCP_MSS);
    assert_eq!((mss.as_primitive::<UInt16Type>().value(0), mss.is_null(1)), (1460, true));
    assert!(column(col::TCP_WSCALE).is_null(0), "no window scale option was sent");
    assert_eq!(column(col::TCP_OPTS).as_string::<i32>().value(0), "MSNN");
    assert_eq!(column(col::TCP_SEQ).as_primitive::<UInt32Type>().value(0), 9);
    assert_eq!(column(col::IP_FLAGS).as_primitive::<UInt8Type>().value(0), 0b010, "DF");
    assert_eq!(column(col::ICMP_TYPE).as_primitive::<UInt8Type>().value(1), 3);
    assert!(column(col::ICMP_TYPE).is_null(0));
    assert_eq!(column(col::INNER_DST_PORT).as_primitive::<UInt16Type>().value(1), 161);
    let inner_src = column(col::INNER_SRC_IP);
    let inner_src = inner_src.as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
    assert!(inner_src.is_null(0));
    assert_eq!(inner_src.value(1), addr("192.0.2.10"));
    assert_eq!(column(col::PAYLOAD_LEN).as_primitive::<UInt32Type>().value(0), 2);
    assert_eq!(column(col::PAYLOAD).as_binary::<i32>().value(0), [0xab]);
    let class = column(col::CLASS);
    assert_eq!((class.as_string::<i32>().value(0), class.as_string::<i32>().value(1)), ("scan", "backscatter"));
    assert!(column(col::RESEARCH).is_null(0));
    assert_eq!(column(col::RESEARCH).as_string::<i32>().value(1), "Example Research");
    assert_eq!(column(col::SENSOR).as_string::<i32>().value(1), "s1");
    assert!(column(col::COUNTRY).is_null(0), "enrichment is the collector's job");
}

#[test]
fn payload_column_is_null_unless_a_prefix_is_kept() {
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    let packet = decode(LinkType::Raw, &SYN).unwrap();
    builder.append(0, &packet, &classify(&packet), None);
    let batch = builder.finish("s", 0);
    assert_eq!(batch.column_by_name(col::PAYLOAD).unwrap().null_count(), 1);
}
