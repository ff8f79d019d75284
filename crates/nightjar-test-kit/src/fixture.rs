//! A small fixed dataset, written row by row, whose every answer can be worked out by hand.
//!
//! Two days (2026-11-20 and 2026-11-21), two sensors, IPv4 and IPv6, scans (Mirai, Masscan,
//! research, likely spoofed), backscatter (SYN-ACK, RST, ICMP error) and an unknown country.
//! Addresses are documentation ranges: 192.0.2.0/24 and 2001:db8:ffff::/48 are the dark
//! prefixes; sources come from 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/48.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, FixedSizeBinaryArray, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use chrono::DateTime;
use nightjar_dataset::{PartitionedWriter, WriterOptions};

/// One packet of the fixture; fields not given are what the record schema says for such a packet.
#[derive(Clone, Copy, Default)]
pub struct Row {
    /// Capture time, RFC 3339 (`2026-11-20T08:00:00Z`).
    pub time: &'static str,
    /// The sensor that saw it.
    pub sensor: &'static str,
    /// Source address.
    pub src: &'static str,
    /// Destination address (in a dark prefix).
    pub dst: &'static str,
    /// IP protocol number.
    pub protocol: u8,
    /// TCP/UDP source port.
    pub src_port: Option<u16>,
    /// TCP/UDP destination port.
    pub dst_port: Option<u16>,
    /// TCP flag byte.
    pub tcp_flags: Option<u8>,
    /// TCP sequence number.
    pub tcp_seq: Option<u32>,
    /// IP TTL / hop limit.
    pub ttl: u8,
    /// ICMP type.
    pub icmp_type: Option<u8>,
    /// ICMP code.
    pub icmp_code: Option<u8>,
    /// The packet an ICMP error quotes.
    pub inner: Option<Inner>,
    /// Traffic class, as the schema spells it.
    pub class: &'static str,
    /// Scanning tool label.
    pub tool: Option<&'static str>,
    /// Likely-spoofed reason.
    pub spoof: Option<&'static str>,
    /// Research scanner organisation.
    pub research: Option<&'static str>,
    /// Source country (ISO code).
    pub country: Option<&'static str>,
    /// Source AS number.
    pub asn: Option<u32>,
    /// Source AS name.
    pub as_name: Option<&'static str>,
}

/// The packet an ICMP error quotes.
#[derive(Clone, Copy)]
pub struct Inner {
    /// IP protocol number of the quoted packet.
    pub protocol: u8,
    /// Its source address (the darknet address).
    pub src: &'static str,
    /// Its destination address (the spoofed victim).
    pub dst: &'static str,
    /// Its source port.
    pub src_port: u16,
    /// Its destination port.
    pub dst_port: u16,
}

const SYN: Option<u8> = Some(0x02);
const SYN_ACK: Option<u8> = Some(0x12);
const RST: Option<u8> = Some(0x04);

fn tcp(time: &'static str, sensor: &'static str, src: &'static str, dst: &'static str, dst_port: u16) -> Row {
    Row {
        time,
        sensor,
        src,
        dst,
        protocol: 6,
        src_port: Some(40000),
        dst_port: Some(dst_port),
        tcp_flags: SYN,
        tcp_seq: Some(1000),
        ttl: 50,
        class: "scan",
        ..Row::default()
    }
}

fn located(row: Row, country: &'static str, asn: u32, as_name: &'static str) -> Row {
    Row { country: Some(country), asn: Some(asn), as_name: Some(as_name), ..row }
}

fn jp(row: Row) -> Row {
    located(row, "JP", 64500, "EXAMPLE-JP")
}
fn us(row: Row) -> Row {
    located(row, "US", 64501, "EXAMPLE-US")
}

/// Mirai sets the sequence number to the destination address.
fn mirai(row: Row) -> Row {
    let seq = match row.dst.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => u32::from(v4),
        _ => 0,
    };
    Row { tcp_seq: Some(seq), tool: Some("mirai"), ..row }
}

fn masscan(row: Row) -> Row {
    Row { tool: Some("masscan"), src_port: Some(61000), ..row }
}

fn backscatter(row: Row, flags: Option<u8>, src_port: u16, dst_port: u16) -> Row {
    Row { tcp_flags: flags, src_port: Some(src_port), dst_port: Some(dst_port), class: "backscatter", ..row }
}

/// The fixture's sixteen packets.
pub fn rows() -> Vec<Row> {
    vec![
        // 2026-11-20
        jp(mirai(tcp("2026-11-20T00:00:01Z", "s1", "198.51.100.7", "192.0.2.10", 23))),
        jp(mirai(tcp("2026-11-20T00:00:02Z", "s1", "198.51.100.7", "192.0.2.11", 2323))),
        jp(tcp("2026-11-20T00:10:00Z", "s1", "198.51.100.8", "192.0.2.12", 5555)),
        us(masscan(tcp("2026-11-20T01:00:00Z", "s2", "203.0.113.5", "192.0.2.200", 22))),
        us(masscan(tcp("2026-11-20T01:00:01Z", "s2", "203.0.113.5", "192.0.2.201", 3389))),
        located(
            Row {
                protocol: 17,
                src_port: Some(5353),
                dst_port: Some(53),
                tcp_flags: None,
                tcp_seq: None,
                ..tcp("2026-11-20T02:00:00Z", "s1", "203.0.113.77", "192.0.2.13", 53)
            },
            "DE",
            64502,
            "EXAMPLE-DE",
        ),
        us(backscatter(tcp("2026-11-20T03:00:00Z", "s1", "198.51.100.200", "192.0.2.14", 0), SYN_ACK, 80, 4444)),
        us(backscatter(tcp("2026-11-20T03:00:01Z", "s1", "198.51.100.200", "192.0.2.15", 0), RST, 80, 4445)),
        located(
            Row { ttl: 60, ..tcp("2026-11-20T04:00:00Z", "s2", "2001:db8::1", "2001:db8:ffff::5", 23) },
            "NL",
            64503,
            "EXAMPLE-NL",
        ),
        jp(Row {
            protocol: 1,
            src_port: None,
            dst_port: None,
            tcp_flags: None,
            tcp_seq: None,
            icmp_type: Some(8),
            icmp_code: Some(0),
            research: Some("Example Research"),
            ..tcp("2026-11-20T05:00:00Z", "s1", "198.51.100.9", "192.0.2.16", 0)
        }),
        located(
            Row {
                ttl: 250,
                spoof: Some("high_ttl"),
                ..tcp("2026-11-20T06:00:00Z", "s1", "198.51.100.10", "192.0.2.17", 445)
            },
            "CN",
            64504,
            "EXAMPLE-CN",
        ),
        Row {
            protocol: 1,
            src_port: None,
            dst_port: None,
            tcp_flags: None,
            tcp_seq: None,
            icmp_type: Some(3),
            icmp_code: Some(3),
            inner: Some(Inner {
                protocol: 17,
                src: "192.0.2.18",
                dst: "198.51.100.251",
                src_port: 53000,
                dst_port: 53,
            }),
            class: "backscatter",
            ..tcp("2026-11-20T07:00:00Z", "s2", "198.51.100.250", "192.0.2.18", 0)
        },
        // 2026-11-21
        jp(mirai(tcp("2026-11-21T00:00:00Z", "s1", "198.51.100.7", "192.0.2.20", 23))),
        us(masscan(tcp("2026-11-21T00:30:00Z", "s1", "203.0.113.5", "192.0.2.21", 22))),
        us(Row {
            protocol: 17,
            src_port: Some(40123),
            tcp_flags: None,
            tcp_seq: None,
            ..tcp("2026-11-21T12:00:00Z", "s2", "203.0.113.6", "192.0.2.22", 123)
        }),
        us(backscatter(tcp("2026-11-21T23:59:59Z", "s1", "198.51.100.200", "192.0.2.23", 0), SYN_ACK, 443, 4446)),
    ]
}

fn address(text: &str) -> [u8; 16] {
    match text.parse::<IpAddr>().expect("fixture addresses are valid") {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn addresses(values: impl Iterator<Item = Option<[u8; 16]>>) -> ArrayRef {
    Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(values, 16).expect("16-byte addresses"))
}

/// The fixture as one batch of the packet record schema.
pub fn batch(rows: &[Row]) -> RecordBatch {
    let schema = nightjar_record::packet_schema();
    let is_tcp = |row: &Row| row.protocol == 6;
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| -> ArrayRef {
            let it = rows.iter();
            match field.name().as_str() {
                "time" => Arc::new(
                    TimestampMicrosecondArray::from_iter_values(it.map(|r| {
                        DateTime::parse_from_rfc3339(r.time).expect("fixture times are RFC 3339").timestamp_micros()
                    }))
                    .with_timezone("UTC"),
                ),
                "sensor" => Arc::new(StringArray::from_iter_values(it.map(|r| r.sensor))),
                "batch_seq" => Arc::new(UInt64Array::from_iter_values(it.map(|_| 1))),
                "ip_version" => {
                    Arc::new(UInt8Array::from_iter_values(it.map(|r| if r.src.contains(':') { 6 } else { 4 })))
                }
                "src_ip" => addresses(it.map(|r| Some(address(r.src)))),
                "dst_ip" => addresses(it.map(|r| Some(address(r.dst)))),
                "protocol" => Arc::new(UInt8Array::from_iter_values(it.map(|r| r.protocol))),
                "src_port" => Arc::new(UInt16Array::from_iter(it.map(|r| r.src_port))),
                "dst_port" => Arc::new(UInt16Array::from_iter(it.map(|r| r.dst_port))),
                "ip_ttl" => Arc::new(UInt8Array::from_iter_values(it.map(|r| r.ttl))),
                "ip_id" => Arc::new(UInt16Array::from_iter(it.map(|r| (!r.src.contains(':')).then_some(4242)))),
                "ip_len" => Arc::new(UInt32Array::from_iter_values(it.map(|_| 40))),
                "ip_options_len" => Arc::new(UInt16Array::from_iter_values(it.map(|_| 0))),
                "ip_flags" | "icmp_type" | "icmp_code" | "inner_protocol" | "tcp_flags" | "tcp_wscale" => {
                    Arc::new(UInt8Array::from_iter(it.map(|r| match field.name().as_str() {
                        "ip_flags" => Some(0),
                        "icmp_type" => r.icmp_type,
                        "icmp_code" => r.icmp_code,
                        "inner_protocol" => r.inner.map(|i| i.protocol),
                        "tcp_flags" => r.tcp_flags,
                        _ => None,
                    })))
                }
                "frag_offset" => Arc::new(UInt16Array::from_iter_values(it.map(|_| 0))),
                "tcp_seq" => Arc::new(UInt32Array::from_iter(it.map(|r| r.tcp_seq))),
                "tcp_ack" => Arc::new(UInt32Array::from_iter(it.map(|r| is_tcp(r).then_some(0)))),
                "tcp_window" => Arc::new(UInt16Array::from_iter(it.map(|r| is_tcp(r).then_some(1024)))),
                "tcp_mss" => Arc::new(UInt16Array::from_iter(it.map(|_| None::<u16>))),
                "tcp_sack_ok" | "tcp_ts" => Arc::new(BooleanArray::from_iter(it.map(|r| is_tcp(r).then_some(false)))),
                "tcp_opts" => Arc::new(StringArray::from_iter(it.map(|r| is_tcp(r).then_some("")))),
                "inner_src_ip" => addresses(it.map(|r| r.inner.map(|i| address(i.src)))),
                "inner_dst_ip" => addresses(it.map(|r| r.inner.map(|i| address(i.dst)))),
                "inner_src_port" => Arc::new(UInt16Array::from_iter(it.map(|r| r.inner.map(|i| i.src_port)))),
                "inner_dst_port" => Arc::new(UInt16Array::from_iter(it.map(|r| r.inner.map(|i| i.dst_port)))),
                "payload_len" => Arc::new(UInt32Array::from_iter_values(it.map(|_| 0))),
                "payload" => Arc::new(BinaryArray::from_iter(it.map(|_| None::<&[u8]>))),
                "class" => Arc::new(StringArray::from_iter_values(it.map(|r| r.class))),
                "tool" => Arc::new(StringArray::from_iter(it.map(|r| r.tool))),
                "spoof" => Arc::new(StringArray::from_iter(it.map(|r| r.spoof))),
                "research" => Arc::new(StringArray::from_iter(it.map(|r| r.research))),
                "country" => Arc::new(StringArray::from_iter(it.map(|r| r.country))),
                "asn" => Arc::new(UInt32Array::from_iter(it.map(|r| r.asn))),
                "as_name" => Arc::new(StringArray::from_iter(it.map(|r| r.as_name))),
                other => panic!("the fixture does not know the column {other}; add it"),
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("the fixture matches the record schema")
}

/// Writes the fixture as a dataset under `root` (one file per day).
pub fn write(root: &Path) {
    write_with(root, WriterOptions::default());
}

/// Writes the fixture with the writer's options, e.g. small row groups to watch statistics prune.
pub fn write_with(root: &Path, options: WriterOptions) {
    let mut writer = PartitionedWriter::new(root, "fixture", options).expect("dataset writer");
    writer.write(&batch(&rows())).expect("fixture rows written");
    writer.commit().expect("fixture committed");
}
