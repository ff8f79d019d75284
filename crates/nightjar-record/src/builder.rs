//! Columnar accumulation of decoded packets into record batches.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, UInt64Array, new_null_array};
use arrow::datatypes::{DataType, TimestampMicrosecondType, UInt8Type, UInt16Type, UInt32Type};
use arrow::record_batch::RecordBatch;
use nightjar_packet::{Classification, Packet, TcpOptions, Transport};

use crate::columns::{Bytes, Fixed, Flags, Optional, Validity, Values};
use crate::schema::packet_schema;

/// How records are built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordOptions {
    /// Bytes of transport payload kept per packet in the `payload` column;
    /// 0 (the default) keeps none and leaves the column null.
    pub payload_prefix: usize,
}

/// Rows reserved for a builder's first batch; later batches reserve what the
/// previous one held.
const INITIAL_CAPACITY: usize = 4096;

/// Accumulates packets column by column and emits [`RecordBatch`]es of the
/// packet record schema. Enrichment columns (country, ASN, AS name) are left
/// null: the collector fills them.
pub struct PacketBatchBuilder {
    options: RecordOptions,
    time_us: Values<TimestampMicrosecondType>,
    ip_version: Values<UInt8Type>,
    src_ip: Fixed<16>,
    dst_ip: Fixed<16>,
    protocol: Values<UInt8Type>,
    src_port: Values<UInt16Type>,
    dst_port: Values<UInt16Type>,
    /// TCP or UDP, first fragment.
    has_ports: Validity,
    ip_ttl: Values<UInt8Type>,
    ip_id: Optional<UInt16Type>,
    ip_len: Values<UInt32Type>,
    ip_options_len: Values<UInt16Type>,
    ip_flags: Values<UInt8Type>,
    frag_offset: Values<UInt16Type>,
    /// TCP: flags, seq, ack, window, SACK-permitted, timestamps.
    is_tcp: Validity,
    tcp_flags: Values<UInt8Type>,
    tcp_seq: Values<UInt32Type>,
    tcp_ack: Values<UInt32Type>,
    tcp_window: Values<UInt16Type>,
    tcp_mss: Optional<UInt16Type>,
    tcp_wscale: Optional<UInt8Type>,
    tcp_sack_ok: Flags,
    tcp_ts: Flags,
    tcp_opts: Bytes,
    is_icmp: Validity,
    icmp_type: Values<UInt8Type>,
    icmp_code: Values<UInt8Type>,
    /// An ICMP error whose quoted packet was read.
    has_quoted: Validity,
    inner_protocol: Values<UInt8Type>,
    inner_src_ip: Fixed<16>,
    inner_dst_ip: Fixed<16>,
    has_quoted_ports: Validity,
    inner_src_port: Values<UInt16Type>,
    inner_dst_port: Values<UInt16Type>,
    payload_len: Values<UInt32Type>,
    payload: Bytes,
    class: Bytes,
    tool: Bytes,
    spoof: Bytes,
    research: Bytes,
    rows: usize,
}

impl PacketBatchBuilder {
    /// An empty builder.
    pub fn new(options: RecordOptions) -> Self {
        Self::with_capacity(options, INITIAL_CAPACITY)
    }

    fn with_capacity(options: RecordOptions, rows: usize) -> Self {
        PacketBatchBuilder {
            options,
            time_us: Values::with_capacity(rows),
            ip_version: Values::with_capacity(rows),
            src_ip: Fixed::with_capacity(rows),
            dst_ip: Fixed::with_capacity(rows),
            protocol: Values::with_capacity(rows),
            src_port: Values::with_capacity(rows),
            dst_port: Values::with_capacity(rows),
            has_ports: Validity::with_capacity(rows),
            ip_ttl: Values::with_capacity(rows),
            ip_id: Optional::with_capacity(rows),
            ip_len: Values::with_capacity(rows),
            ip_options_len: Values::with_capacity(rows),
            ip_flags: Values::with_capacity(rows),
            frag_offset: Values::with_capacity(rows),
            is_tcp: Validity::with_capacity(rows),
            tcp_flags: Values::with_capacity(rows),
            tcp_seq: Values::with_capacity(rows),
            tcp_ack: Values::with_capacity(rows),
            tcp_window: Values::with_capacity(rows),
            tcp_mss: Optional::with_capacity(rows),
            tcp_wscale: Optional::with_capacity(rows),
            tcp_sack_ok: Flags::with_capacity(rows),
            tcp_ts: Flags::with_capacity(rows),
            tcp_opts: Bytes::with_capacity(rows, 4),
            is_icmp: Validity::with_capacity(rows),
            icmp_type: Values::with_capacity(rows),
            icmp_code: Values::with_capacity(rows),
            has_quoted: Validity::with_capacity(rows),
            inner_protocol: Values::with_capacity(rows),
            inner_src_ip: Fixed::with_capacity(rows),
            inner_dst_ip: Fixed::with_capacity(rows),
            has_quoted_ports: Validity::with_capacity(rows),
            inner_src_port: Values::with_capacity(rows),
            inner_dst_port: Values::with_capacity(rows),
            payload_len: Values::with_capacity(rows),
            payload: Bytes::with_capacity(rows, options.payload_prefix),
            class: Bytes::with_capacity(rows, 5),
            tool: Bytes::with_capacity(rows, 1),
            spoof: Bytes::with_capacity(rows, 1),
            research: Bytes::with_capacity(rows, 0),
            rows: 0,
        }
    }

    /// Packets appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no packet was appended since the last finish.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Append one packet captured at `timestamp_us` (µs since the epoch, UTC).
    #[inline]
    pub fn append(
        &mut self,
        timestamp_us: i64,
        packet: &Packet<'_>,
        classification: &Classification,
        research: Option<&str>,
    ) {
        self.rows += 1;
        self.time_us.push(timestamp_us);
        self.ip_version.push(packet.ip_version);
        self.src_ip.push(&packet.src);
        self.dst_ip.push(&packet.dst);
        self.protocol.push(packet.protocol);
        let (src_port, dst_port) = match packet.transport {
            Transport::Tcp { src_port, dst_port, .. } | Transport::Udp { src_port, dst_port } => {
                (Some(src_port), Some(dst_port))
            }
            _ => (None, None),
        };
        self.has_ports.push(src_port.is_some());
        self.src_port.push(src_port.unwrap_or(0));
        self.dst_port.push(dst_port.unwrap_or(0));
        self.ip_ttl.push(packet.ttl);
        self.ip_id.push(packet.ip_id);
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
            self.payload.push(None);
        } else {
            let keep = packet.payload.len().min(self.options.payload_prefix);
            self.payload.push(Some(&packet.payload[..keep]));
        }
        self.class.push(Some(classification.class.name().as_bytes()));
        self.tool.push(classification.tool.map(|t| t.name().as_bytes()));
        self.spoof.push(classification.spoof.map(|s| s.name().as_bytes()));
        self.research.push(research.map(str::as_bytes));
    }

    #[inline]
    fn append_transport(&mut self, transport: &Transport) {
        const NO_OPTIONS: TcpOptions = TcpOptions::EMPTY;
        let (tcp, options) = match transport {
            Transport::Tcp { header, .. } => (Some(header), &header.options),
            _ => (None, &NO_OPTIONS),
        };
        self.is_tcp.push(tcp.is_some());
        self.tcp_flags.push(tcp.map_or(0, |t| t.flags));
        self.tcp_seq.push(tcp.map_or(0, |t| t.seq));
        self.tcp_ack.push(tcp.map_or(0, |t| t.ack));
        self.tcp_window.push(tcp.map_or(0, |t| t.window));
        self.tcp_mss.push(options.mss);
        self.tcp_wscale.push(options.window_scale);
        self.tcp_sack_ok.push(options.sack_permitted);
        self.tcp_ts.push(options.timestamps);
        self.tcp_opts.push(tcp.map(|_| options.layout().as_bytes()));

        let icmp = match transport {
            Transport::Icmp(icmp) => Some(icmp),
            _ => None,
        };
        self.is_icmp.push(icmp.is_some());
        self.icmp_type.push(icmp.map_or(0, |i| i.icmp_type));
        self.icmp_code.push(icmp.map_or(0, |i| i.code));
        let quoted = icmp.and_then(|i| i.quoted.as_ref());
        self.has_quoted.push(quoted.is_some());
        self.inner_protocol.push(quoted.map_or(0, |q| q.protocol));
        self.inner_src_ip.push(quoted.map_or(&[0; 16], |q| &q.src));
        self.inner_dst_ip.push(quoted.map_or(&[0; 16], |q| &q.dst));
        let ports = quoted.and_then(|q| q.src_port.zip(q.dst_port));
        self.has_quoted_ports.push(ports.is_some());
        self.inner_src_port.push(ports.map_or(0, |p| p.0));
        self.inner_dst_port.push(ports.map_or(0, |p| p.1));
    }

    /// Emit the packets appended so far as one batch from `sensor`, numbered
    /// `batch_seq`, and start empty again.
    pub fn finish(&mut self, sensor: &str, batch_seq: u64) -> RecordBatch {
        let rows = std::mem::take(&mut self.rows);
        // The next batch will likely be as large as this one.
        let next = rows.max(INITIAL_CAPACITY);
        let has_ports = self.has_ports.finish(next);
        let is_tcp = self.is_tcp.finish(next);
        let is_icmp = self.is_icmp.finish(next);
        let has_quoted = self.has_quoted.finish(next);
        let has_quoted_ports = self.has_quoted_ports.finish(next);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.time_us.finish(next).with_timezone("UTC")),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(sensor, rows))),
            Arc::new(UInt64Array::from_value(batch_seq, rows)),
            Arc::new(self.ip_version.finish(next)),
            Arc::new(self.src_ip.finish_with(next, None)),
            Arc::new(self.dst_ip.finish_with(next, None)),
            Arc::new(self.protocol.finish(next)),
            Arc::new(self.src_port.finish_with(next, has_ports.clone())),
            Arc::new(self.dst_port.finish_with(next, has_ports)),
            Arc::new(self.ip_ttl.finish(next)),
            Arc::new(self.ip_id.finish(next)),
            Arc::new(self.ip_len.finish(next)),
            Arc::new(self.ip_options_len.finish(next)),
            Arc::new(self.ip_flags.finish(next)),
            Arc::new(self.frag_offset.finish(next)),
            Arc::new(self.tcp_flags.finish_with(next, is_tcp.clone())),
            Arc::new(self.tcp_seq.finish_with(next, is_tcp.clone())),
            Arc::new(self.tcp_ack.finish_with(next, is_tcp.clone())),
            Arc::new(self.tcp_window.finish_with(next, is_tcp.clone())),
            Arc::new(self.tcp_mss.finish(next)),
            Arc::new(self.tcp_wscale.finish(next)),
            Arc::new(self.tcp_sack_ok.finish_with(next, is_tcp.clone())),
            Arc::new(self.tcp_ts.finish_with(next, is_tcp)),
            self.tcp_opts.finish_text(next),
            Arc::new(self.icmp_type.finish_with(next, is_icmp.clone())),
            Arc::new(self.icmp_code.finish_with(next, is_icmp)),
            Arc::new(self.inner_protocol.finish_with(next, has_quoted.clone())),
            Arc::new(self.inner_src_ip.finish_with(next, has_quoted.clone())),
            Arc::new(self.inner_dst_ip.finish_with(next, has_quoted)),
            Arc::new(self.inner_src_port.finish_with(next, has_quoted_ports.clone())),
            Arc::new(self.inner_dst_port.finish_with(next, has_quoted_ports)),
            Arc::new(self.payload_len.finish(next)),
            self.payload.finish_binary(next),
            self.class.finish_text(next),
            self.tool.finish_text(next),
            self.spoof.finish_text(next),
            self.research.finish_text(next),
            new_null_array(&DataType::Utf8, rows),
            new_null_array(&DataType::UInt32, rows),
            new_null_array(&DataType::Utf8, rows),
        ];
        RecordBatch::try_new(packet_schema(), columns)
            .expect("every column is built to the schema's type and the same row count")
    }
}
