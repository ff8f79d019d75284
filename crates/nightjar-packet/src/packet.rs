//! The decoded packet: every header field a darknet record keeps.

use crate::addr::Addr16;

/// IP protocol numbers the decoder understands past the IP layer.
pub mod ipproto {
    /// ICMP for IPv4.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMP for IPv6.
    pub const ICMPV6: u8 = 58;
}

/// TCP flag bits as they stand in byte 13 of the TCP header.
pub mod tcp_flags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronise sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push function.
    pub const PSH: u8 = 0x08;
    /// Acknowledgment field significant.
    pub const ACK: u8 = 0x10;
    /// Urgent pointer field significant.
    pub const URG: u8 = 0x20;
    /// ECN echo.
    pub const ECE: u8 = 0x40;
    /// Congestion window reduced.
    pub const CWR: u8 = 0x80;
}

/// The most TCP option kinds kept in the layout string; the longest possible
/// options area (40 bytes of one-byte NOPs) fits.
pub const TCP_OPTION_LAYOUT_MAX: usize = 40;

/// What the TCP options area held.
///
/// `layout` is one letter per option, in order, in the style of p0f
/// signatures: `M` MSS, `W` window scale, `S` SACK permitted, `K` SACK blocks,
/// `T` timestamps, `N` no-op, `E` end of list, `?` any other kind. Scanners
/// differ in exactly this (masscan and zmap send none or `M`; Linux sends
/// `MSTNW`), so it is kept whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum segment size option value.
    pub mss: Option<u16>,
    /// Window scale option shift count.
    pub window_scale: Option<u8>,
    /// SACK-permitted option present.
    pub sack_permitted: bool,
    /// Timestamps option present.
    pub timestamps: bool,
    layout: [u8; TCP_OPTION_LAYOUT_MAX],
    layout_len: u8,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions::EMPTY
    }
}

impl TcpOptions {
    /// No options.
    pub const EMPTY: TcpOptions = TcpOptions {
        mss: None,
        window_scale: None,
        sack_permitted: false,
        timestamps: false,
        layout: [0; TCP_OPTION_LAYOUT_MAX],
        layout_len: 0,
    };

    /// The option layout letters, e.g. `MSTNW`; empty when there were none.
    pub fn layout(&self) -> &str {
        // Only ASCII letters are ever pushed, so this cannot fail.
        std::str::from_utf8(&self.layout[..usize::from(self.layout_len)]).unwrap_or("")
    }

    pub(crate) fn push_layout(&mut self, letter: u8) {
        if usize::from(self.layout_len) < TCP_OPTION_LAYOUT_MAX {
            self.layout[usize::from(self.layout_len)] = letter;
            self.layout_len += 1;
        }
    }
}

/// TCP header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpHeader {
    /// The flag byte (FIN 0x01 … CWR 0x80); see [`tcp_flags`].
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (kept even when ACK is not set).
    pub ack: u32,
    /// Receive window, unscaled.
    pub window: u16,
    /// Options summary.
    pub options: TcpOptions,
}

/// The packet quoted inside an ICMP error (the invoking packet's header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotedPacket {
    /// IP protocol of the quoted packet.
    pub protocol: u8,
    /// Quoted source address (the darknet-facing victim, for backscatter).
    pub src: Addr16,
    /// Quoted destination address.
    pub dst: Addr16,
    /// Quoted source port, when TCP/UDP and quoted far enough.
    pub src_port: Option<u16>,
    /// Quoted destination port, when TCP/UDP and quoted far enough.
    pub dst_port: Option<u16>,
}

/// ICMP or ICMPv6 header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpHeader {
    /// Message type.
    pub icmp_type: u8,
    /// Message code.
    pub code: u8,
    /// For error messages, the quoted packet when it could be read.
    pub quoted: Option<QuotedPacket>,
}

/// The transport layer as far as it was decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP with ports and header.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Header fields.
        header: TcpHeader,
    },
    /// UDP with ports.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
    },
    /// ICMP (IPv4) or ICMPv6 message.
    Icmp(IcmpHeader),
    /// A non-first fragment, or a protocol the decoder does not look into.
    None,
}

/// One decoded packet. Borrows the frame for its payload bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// 4 or 6.
    pub ip_version: u8,
    /// Source address (16 bytes, IPv4 mapped).
    pub src: Addr16,
    /// Destination address (16 bytes, IPv4 mapped).
    pub dst: Addr16,
    /// Upper-layer protocol (after IPv6 extension headers).
    pub protocol: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification; `None` for IPv6.
    pub ip_id: Option<u16>,
    /// Declared IP packet length in bytes: IPv4 total length, IPv6 40 + payload length.
    pub ip_len: u32,
    /// Bytes of IPv4 options or IPv6 extension headers.
    pub ip_options_len: u16,
    /// Don't-fragment flag (IPv4).
    pub dont_fragment: bool,
    /// More-fragments flag (IPv4 flags or IPv6 fragment header).
    pub more_fragments: bool,
    /// The IPv4 reserved ("evil") flag bit.
    pub reserved_flag: bool,
    /// Fragment offset in bytes.
    pub fragment_offset: u32,
    /// The transport layer.
    pub transport: Transport,
    /// Transport payload length in bytes, from the declared lengths.
    pub payload_len: u32,
    /// The payload bytes present in the capture (may be shorter than `payload_len`).
    pub payload: &'a [u8],
}

impl Packet<'_> {
    /// Source port for TCP and UDP.
    #[inline]
    pub fn src_port(&self) -> Option<u16> {
        match self.transport {
            Transport::Tcp { src_port, .. } | Transport::Udp { src_port, .. } => Some(src_port),
            _ => None,
        }
    }

    /// Destination port for TCP and UDP.
    #[inline]
    pub fn dst_port(&self) -> Option<u16> {
        match self.transport {
            Transport::Tcp { dst_port, .. } | Transport::Udp { dst_port, .. } => Some(dst_port),
            _ => None,
        }
    }

    /// TCP header fields, for TCP.
    #[inline]
    pub fn tcp(&self) -> Option<&TcpHeader> {
        match &self.transport {
            Transport::Tcp { header, .. } => Some(header),
            _ => None,
        }
    }

    /// ICMP header fields, for ICMP and ICMPv6.
    #[inline]
    pub fn icmp(&self) -> Option<&IcmpHeader> {
        match &self.transport {
            Transport::Icmp(icmp) => Some(icmp),
            _ => None,
        }
    }

    /// Whether this is a fragment (offset non-zero or more fragments follow).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.fragment_offset != 0 || self.more_fragments
    }
}
