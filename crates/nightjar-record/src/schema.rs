//! The packet record schema, version 1, as an Arrow schema.
//!
//! The contract is `schemas/packet-record-v1.json` (machine-readable, with a
//! description and unit for every column) and `schemas/packet-record-v1.md`;
//! a test holds this module to that file.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The schema version written into every batch's and file's metadata.
pub const SCHEMA_VERSION: u32 = 1;

/// The metadata key holding [`SCHEMA_VERSION`].
pub const SCHEMA_VERSION_KEY: &str = "nightjar.schema_version";

/// The width of an address column: 16 bytes, IPv4 in IPv4-mapped form.
pub const ADDRESS_WIDTH: i32 = 16;

/// Column names, so that code never spells them twice.
pub mod col {
    /// Capture time, UTC, microseconds.
    pub const TIME: &str = "time";
    /// Sensor id.
    pub const SENSOR: &str = "sensor";
    /// The batch sequence number the record arrived in.
    pub const BATCH_SEQ: &str = "batch_seq";
    /// 4 or 6.
    pub const IP_VERSION: &str = "ip_version";
    /// Source address.
    pub const SRC_IP: &str = "src_ip";
    /// Destination address.
    pub const DST_IP: &str = "dst_ip";
    /// Upper-layer protocol number.
    pub const PROTOCOL: &str = "protocol";
    /// TCP/UDP source port.
    pub const SRC_PORT: &str = "src_port";
    /// TCP/UDP destination port.
    pub const DST_PORT: &str = "dst_port";
    /// TTL or hop limit.
    pub const IP_TTL: &str = "ip_ttl";
    /// IPv4 identification.
    pub const IP_ID: &str = "ip_id";
    /// Declared IP packet length.
    pub const IP_LEN: &str = "ip_len";
    /// Bytes of IPv4 options or IPv6 extension headers.
    pub const IP_OPTIONS_LEN: &str = "ip_options_len";
    /// Reserved/DF/MF bits.
    pub const IP_FLAGS: &str = "ip_flags";
    /// Fragment offset in bytes.
    pub const FRAG_OFFSET: &str = "frag_offset";
    /// TCP flag byte.
    pub const TCP_FLAGS: &str = "tcp_flags";
    /// TCP sequence number.
    pub const TCP_SEQ: &str = "tcp_seq";
    /// TCP acknowledgment number.
    pub const TCP_ACK: &str = "tcp_ack";
    /// TCP window.
    pub const TCP_WINDOW: &str = "tcp_window";
    /// TCP MSS option.
    pub const TCP_MSS: &str = "tcp_mss";
    /// TCP window scale option.
    pub const TCP_WSCALE: &str = "tcp_wscale";
    /// TCP SACK-permitted option.
    pub const TCP_SACK_OK: &str = "tcp_sack_ok";
    /// TCP timestamps option.
    pub const TCP_TS: &str = "tcp_ts";
    /// TCP option layout letters.
    pub const TCP_OPTS: &str = "tcp_opts";
    /// ICMP type.
    pub const ICMP_TYPE: &str = "icmp_type";
    /// ICMP code.
    pub const ICMP_CODE: &str = "icmp_code";
    /// Quoted packet's protocol.
    pub const INNER_PROTOCOL: &str = "inner_protocol";
    /// Quoted packet's source.
    pub const INNER_SRC_IP: &str = "inner_src_ip";
    /// Quoted packet's destination.
    pub const INNER_DST_IP: &str = "inner_dst_ip";
    /// Quoted packet's source port.
    pub const INNER_SRC_PORT: &str = "inner_src_port";
    /// Quoted packet's destination port.
    pub const INNER_DST_PORT: &str = "inner_dst_port";
    /// Transport payload length.
    pub const PAYLOAD_LEN: &str = "payload_len";
    /// Retained payload prefix.
    pub const PAYLOAD: &str = "payload";
    /// backscatter / scan / other.
    pub const CLASS: &str = "class";
    /// Tool fingerprint.
    pub const TOOL: &str = "tool";
    /// Spoofing sign.
    pub const SPOOF: &str = "spoof";
    /// Research scanner label.
    pub const RESEARCH: &str = "research";
    /// Source country.
    pub const COUNTRY: &str = "country";
    /// Source ASN.
    pub const ASN: &str = "asn";
    /// Source AS name.
    pub const AS_NAME: &str = "as_name";
}

fn field(name: &str, data_type: DataType, nullable: bool) -> Field {
    Field::new(name, data_type, nullable)
}

fn address() -> DataType {
    DataType::FixedSizeBinary(ADDRESS_WIDTH)
}

static PACKET_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    use DataType::*;
    let fields = vec![
        field(col::TIME, Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
        field(col::SENSOR, Utf8, false),
        field(col::BATCH_SEQ, UInt64, false),
        field(col::IP_VERSION, UInt8, false),
        field(col::SRC_IP, address(), false),
        field(col::DST_IP, address(), false),
        field(col::PROTOCOL, UInt8, false),
        field(col::SRC_PORT, UInt16, true),
        field(col::DST_PORT, UInt16, true),
        field(col::IP_TTL, UInt8, false),
        field(col::IP_ID, UInt16, true),
        field(col::IP_LEN, UInt32, false),
        field(col::IP_OPTIONS_LEN, UInt16, false),
        field(col::IP_FLAGS, UInt8, false),
        field(col::FRAG_OFFSET, UInt16, false),
        field(col::TCP_FLAGS, UInt8, true),
        field(col::TCP_SEQ, UInt32, true),
        field(col::TCP_ACK, UInt32, true),
        field(col::TCP_WINDOW, UInt16, true),
        field(col::TCP_MSS, UInt16, true),
        field(col::TCP_WSCALE, UInt8, true),
        field(col::TCP_SACK_OK, Boolean, true),
        field(col::TCP_TS, Boolean, true),
        field(col::TCP_OPTS, Utf8, true),
        field(col::ICMP_TYPE, UInt8, true),
        field(col::ICMP_CODE, UInt8, true),
        field(col::INNER_PROTOCOL, UInt8, true),
        field(col::INNER_SRC_IP, address(), true),
        field(col::INNER_DST_IP, address(), true),
        field(col::INNER_SRC_PORT, UInt16, true),
        field(col::INNER_DST_PORT, UInt16, true),
        field(col::PAYLOAD_LEN, UInt32, false),
        field(col::PAYLOAD, Binary, true),
        field(col::CLASS, Utf8, false),
        field(col::TOOL, Utf8, true),
        field(col::SPOOF, Utf8, true),
        field(col::RESEARCH, Utf8, true),
        field(col::COUNTRY, Utf8, true),
        field(col::ASN, UInt32, true),
        field(col::AS_NAME, Utf8, true),
    ];
    let metadata = HashMap::from([(SCHEMA_VERSION_KEY.to_string(), SCHEMA_VERSION.to_string())]);
    Arc::new(Schema::new_with_metadata(fields, metadata))
});

/// The packet record schema v1.
pub fn packet_schema() -> SchemaRef {
    Arc::clone(&PACKET_SCHEMA)
}
