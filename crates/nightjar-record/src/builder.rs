//! Columnar accumulation of decoded packets into record batches.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, FixedSizeBinaryArray, FixedSizeBinaryBuilder, PrimitiveArray,
    PrimitiveBuilder, StringArray, StringBuilder, TimestampMicrosecondArray, UInt64Array, new_null_array,
};
use arrow::buffer::Buffer;
use arrow::datatypes::{DataType, UInt8Type, UInt16Type, UInt32Type};
use arrow::record_batch::RecordBatch;
use nightjar_packet::{Classification, Packet, Transport};

use crate::schema::{ADDRESS_WIDTH, packet_schema};

/// How records are built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordOptions {
    /// Bytes of transport payload kept per packet in the `payload` column;
    /// 0 (the default) keeps none and leaves the column null.
    pub payload_prefix: usize,
}

/// Accumulates packets column by column and emits [`RecordBatch`]es of the
/// packet record schema. Enrichment columns (country, ASN, AS name) are left
/// null: the collector fills them.
pub struct PacketBatchBuilder {
    options: RecordOptions,
    time_us: Vec<i64>,
    ip_version: Vec<u8>,
    src_ip: Vec<u8>,
    dst_ip: Vec<u8>,
    protocol: Vec<u8>,
    src_port: PrimitiveBuilder<UInt16Type>,
    dst_port: PrimitiveBuilder<UInt16Type>,
    ip_ttl: Vec<u8>,
    ip_id: PrimitiveBuilder<UInt16Type>,
    ip_len: Vec<u32>,
    ip_options_len: Vec<u16>,
    ip_flags: Vec<u8>,
    frag_offset: Vec<u16>,
    tcp_flags: PrimitiveBuilder<UInt8Type>,
    tcp_seq: PrimitiveBuilder<UInt32Type>,
    tcp_ack: PrimitiveBuilder<UInt32Type>,
    tcp_window: PrimitiveBuilder<UInt16Type>,
    tcp_mss: PrimitiveBuilder<UInt16Type>,
    tcp_wscale: PrimitiveBuilder<UInt8Type>,
    tcp_sack_ok: BooleanBuilder,
    tcp_ts: BooleanBuilder,
    tcp_opts: StringBuilder,
    icmp_type: PrimitiveBuilder<UInt8Type>,
    icmp_code: PrimitiveBuilder<UInt8Type>,
    inner_protocol: PrimitiveBuilder<UInt8Type>,
    inner_src_ip: FixedSizeBinaryBuilder,
    inner_dst_ip: FixedSizeBinaryBuilder,
    inner_src_port: PrimitiveBuilder<UInt16Type>,
    inner_dst_port: PrimitiveBuilder<UInt16Type>,
    payload_len: Vec<u32>,
    payload: BinaryBuilder,
    class: StringBuilder,
    tool: StringBuilder,
    spoof: StringBuilder,
    research: StringBuilder,
}

impl PacketBatchBuilder {
    /// An empty builder.
    pub fn new(options: RecordOptions) -> Self {
        PacketBatchBuilder {
            options,
            time_us: Vec::new(),
            ip_version: Vec::new(),
            src_ip: Vec::new(),
            dst_ip: Vec::new(),
            protocol: Vec::new(),
            src_port: PrimitiveBuilder::new(),
            dst_port: PrimitiveBuilder::new(),
            ip_ttl: Vec::new(),
            ip_id: PrimitiveBuilder::new(),
            ip_len: Vec::new(),
            ip_options_len: Vec::new(),
            ip_flags: Vec::new(),
            frag_offset: Vec::new(),
            tcp_flags: PrimitiveBuilder::new(),
            tcp_seq: PrimitiveBuilder::new(),
            tcp_ack: PrimitiveBuilder::new(),
            tcp_window: PrimitiveBuilder::new(),
            tcp_mss: PrimitiveBuilder::new(),
            tcp_wscale: PrimitiveBuilder::new(),
            tcp_sack_ok: BooleanBuilder::new(),
            tcp_ts: BooleanBuilder::new(),
            tcp_opts: StringBuilder::new(),
            icmp_type: PrimitiveBuilder::new(),
            icmp_code: PrimitiveBuilder::new(),
            inner_protocol: PrimitiveBuilder::new(),
            inner_src_ip: FixedSizeBinaryBuilder::new(ADDRESS_WIDTH),
            inner_dst_ip: FixedSizeBinaryBuilder::new(ADDRESS_WIDTH),
            inner_src_port: PrimitiveBuilder::new(),
            inner_dst_port: PrimitiveBuilder::new(),
            payload_len: Vec::new(),
            payload: BinaryBuilder::new(),
            class: StringBuilder::new(),
            tool: StringBuilder::new(),
            spoof: StringBuilder::new(),
            research: StringBuilder::new(),
        }
    }

    /// Packets appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.time_us.len()
    }

    /// Whether no packet was appended since the last finish.
    pub fn is_empty(&self) -> bool {
        self.time_us.is_empty()
    }

    /// Append one packet captured at `timestamp_us` (µs since the epoch, UTC).
    pub fn append(
        &mut self,
        timestamp_us: i64,
        packet: &Packet<'_>,
        classification: &Classification,
        research: Option<&str>,
    ) {
        self.time_us.push(timestamp_us);
        self.ip_version.push(packet.ip_version);
        self.src_ip.extend_from_slice(&packet.src);
        self.dst_ip.extend_from_slice(&packet.dst);
        self.protocol.push(packet.protocol);
        self.src_port.append_option(packet.src_port());
        self.dst_port.append_option(packet.dst_port());
        self.ip_ttl.push(packet.ttl);
        self.ip_id.append_option(packet.ip_id);
        self.ip_len.push(packet.ip_len);
        self.ip_options_len.push(packet.ip_options_len);
        self.ip_flags.push(
            (u8::from(packet.reserved_flag) << 2)
                | (u8::from(packet.dont_fragment) << 1)
                | u8::from(packet.more_fragments),
        );
        // Offsets are multiples of 8 below 2^16 by construction of both IP headers.
        self.frag_offset.push(u16::try_from(packet.fragment_offset).unwrap_or(u16::MAX));
        self.append_transport(&packet.transport);
        self.payload_len.push(packet.payload_len);
        if self.options.payload_prefix == 0 {
            self.payload.append_null();
        } else {
            let keep = packet.payload.len().min(self.options.payload_prefix);
            self.payload.append_value(&packet.payload[..keep]);
        }
        self.class.append_value(classification.class.name());
        self.tool.append_option(classification.tool.map(|t| t.name()));
        self.spoof.append_option(classification.spoof.map(|s| s.name()));
        self.research.append_option(research);
    }

    fn append_transport(&mut self, transport: &Transport) {
        let tcp = match transport {
            Transport::Tcp { header, .. } => Some(header),
            _ => None,
        };
        self.tcp_flags.append_option(tcp.map(|t| t.flags));
        self.tcp_seq.append_option(tcp.map(|t| t.seq));
        self.tcp_ack.append_option(tcp.map(|t| t.ack));
        self.tcp_window.append_option(tcp.map(|t| t.window));
        self.tcp_mss.append_option(tcp.and_then(|t| t.options.mss));
        self.tcp_wscale.append_option(tcp.and_then(|t| t.options.window_scale));
        self.tcp_sack_ok.append_option(tcp.map(|t| t.options.sack_permitted));
        self.tcp_ts.append_option(tcp.map(|t| t.options.timestamps));
        self.tcp_opts.append_option(tcp.map(|t| t.options.layout()));

        let icmp = match transport {
            Transport::Icmp(icmp) => Some(icmp),
            _ => None,
        };
        self.icmp_type.append_option(icmp.map(|i| i.icmp_type));
        self.icmp_code.append_option(icmp.map(|i| i.code));
        let quoted = icmp.and_then(|i| i.quoted.as_ref());
        self.inner_protocol.append_option(quoted.map(|q| q.protocol));
        match quoted {
            Some(q) => {
                append_address(&mut self.inner_src_ip, &q.src);
                append_address(&mut self.inner_dst_ip, &q.dst);
            }
            None => {
                self.inner_src_ip.append_null();
                self.inner_dst_ip.append_null();
            }
        }
        self.inner_src_port.append_option(quoted.and_then(|q| q.src_port));
        self.inner_dst_port.append_option(quoted.and_then(|q| q.dst_port));
    }

    /// Emit the packets appended so far as one batch from `sensor`, numbered
    /// `batch_seq`, and start empty again.
    pub fn finish(&mut self, sensor: &str, batch_seq: u64) -> RecordBatch {
        let rows = self.len();
        let enrichment_null = |data_type: &DataType| new_null_array(data_type, rows);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMicrosecondArray::from(std::mem::take(&mut self.time_us)).with_timezone("UTC")),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(sensor, rows))),
            Arc::new(UInt64Array::from_value(batch_seq, rows)),
            Arc::new(PrimitiveArray::<UInt8Type>::from(std::mem::take(&mut self.ip_version))),
            Arc::new(addresses(std::mem::take(&mut self.src_ip))),
            Arc::new(addresses(std::mem::take(&mut self.dst_ip))),
            Arc::new(PrimitiveArray::<UInt8Type>::from(std::mem::take(&mut self.protocol))),
            Arc::new(self.src_port.finish()),
            Arc::new(self.dst_port.finish()),
            Arc::new(PrimitiveArray::<UInt8Type>::from(std::mem::take(&mut self.ip_ttl))),
            Arc::new(self.ip_id.finish()),
            Arc::new(PrimitiveArray::<UInt32Type>::from(std::mem::take(&mut self.ip_len))),
            Arc::new(PrimitiveArray::<UInt16Type>::from(std::mem::take(&mut self.ip_options_len))),
            Arc::new(PrimitiveArray::<UInt8Type>::from(std::mem::take(&mut self.ip_flags))),
            Arc::new(PrimitiveArray::<UInt16Type>::from(std::mem::take(&mut self.frag_offset))),
            Arc::new(self.tcp_flags.finish()),
            Arc::new(self.tcp_seq.finish()),
            Arc::new(self.tcp_ack.finish()),
            Arc::new(self.tcp_window.finish()),
            Arc::new(self.tcp_mss.finish()),
            Arc::new(self.tcp_wscale.finish()),
            Arc::new(self.tcp_sack_ok.finish()),
            Arc::new(self.tcp_ts.finish()),
            Arc::new(self.tcp_opts.finish()),
            Arc::new(self.icmp_type.finish()),
            Arc::new(self.icmp_code.finish()),
            Arc::new(self.inner_protocol.finish()),
            Arc::new(self.inner_src_ip.finish()),
            Arc::new(self.inner_dst_ip.finish()),
            Arc::new(self.inner_src_port.finish()),
            Arc::new(self.inner_dst_port.finish()),
            Arc::new(PrimitiveArray::<UInt32Type>::from(std::mem::take(&mut self.payload_len))),
            Arc::new(self.payload.finish()),
            Arc::new(self.class.finish()),
            Arc::new(self.tool.finish()),
            Arc::new(self.spoof.finish()),
            Arc::new(self.research.finish()),
            enrichment_null(&DataType::Utf8),
            enrichment_null(&DataType::UInt32),
            enrichment_null(&DataType::Utf8),
        ];
        RecordBatch::try_new(packet_schema(), columns)
            .expect("every column is built to the schema's type and the same row count")
    }
}

fn append_address(builder: &mut FixedSizeBinaryBuilder, address: &[u8; 16]) {
    builder.append_value(address).expect("address builders are ADDRESS_WIDTH (16) bytes wide, as every address is");
}

fn addresses(flat: Vec<u8>) -> FixedSizeBinaryArray {
    FixedSizeBinaryArray::new(ADDRESS_WIDTH, Buffer::from_vec(flat), None)
}
