//! The transport layer: TCP (with an options summary), UDP, ICMP and ICMPv6.

use pnet_packet::icmp::IcmpPacket;
use pnet_packet::icmpv6::Icmpv6Packet;
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;
use pnet_packet::tcp::TcpPacket;
use pnet_packet::udp::UdpPacket;

use crate::addr::map_v4;
use crate::error::SkipReason;
use crate::packet::{IcmpHeader, QuotedPacket, TcpHeader, TcpOptions, Transport, ipproto};

/// The transport layer, the payload length it declares, and the payload bytes present.
pub(crate) struct TransportLayer<'a> {
    pub transport: Transport,
    pub payload_len: u32,
    pub payload: &'a [u8],
}

/// Decode the transport header of a first (or only) fragment.
///
/// `bytes` are the upper-layer bytes present in the capture; `declared_len`
/// is the upper-layer length the IP header claims; `more_fragments` says the
/// datagram continues in later fragments, so lengths in the transport header
/// may exceed this fragment.
pub(crate) fn decode_transport(
    protocol: u8,
    bytes: &[u8],
    declared_len: u32,
    more_fragments: bool,
) -> Result<TransportLayer<'_>, SkipReason> {
    match protocol {
        ipproto::TCP => decode_tcp(bytes, declared_len),
        ipproto::UDP => decode_udp(bytes, declared_len, more_fragments),
        ipproto::ICMP => decode_icmp(bytes, declared_len, false),
        ipproto::ICMPV6 => decode_icmp(bytes, declared_len, true),
        _ => Ok(opaque(bytes, declared_len)),
    }
}

/// A layer the decoder does not look into: all of it is payload.
fn opaque(bytes: &[u8], declared_len: u32) -> TransportLayer<'_> {
    TransportLayer { transport: Transport::None, payload_len: declared_len, payload: bytes }
}

fn decode_tcp(bytes: &[u8], declared_len: u32) -> Result<TransportLayer<'_>, SkipReason> {
    let tcp = TcpPacket::new(bytes).ok_or(SkipReason::TruncatedTcpHeader)?;
    let header_len = usize::from(tcp.get_data_offset()) * 4;
    if header_len < TcpPacket::minimum_packet_size() || header_len as u32 > declared_len {
        return Err(SkipReason::BadTcpDataOffset);
    }
    if header_len > bytes.len() {
        return Err(SkipReason::TruncatedTcpHeader);
    }
    let header = TcpHeader {
        flags: tcp.get_flags(),
        seq: tcp.get_sequence(),
        ack: tcp.get_acknowledgement(),
        window: tcp.get_window(),
        options: summarize_tcp_options(&bytes[TcpPacket::minimum_packet_size()..header_len]),
    };
    Ok(TransportLayer {
        transport: Transport::Tcp { src_port: tcp.get_source(), dst_port: tcp.get_destination(), header },
        payload_len: declared_len - header_len as u32,
        payload: &bytes[header_len..],
    })
}

/// Walk the TCP options area. A malformed option ends the walk (what was
/// read stays), as a receiving stack would ignore the rest.
fn summarize_tcp_options(area: &[u8]) -> TcpOptions {
    let mut options = TcpOptions::default();
    let mut i = 0;
    while i < area.len() {
        let kind = area[i];
        match kind {
            0 => {
                options.push_layout(b'E');
                break;
            }
            1 => {
                options.push_layout(b'N');
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = area.get(i + 1) else {
            options.push_layout(b'?');
            break;
        };
        let len = usize::from(len);
        if len < 2 || i + len > area.len() {
            options.push_layout(b'?');
            break;
        }
        let body = &area[i + 2..i + len];
        match (kind, body.len()) {
            (2, 2) => {
                options.mss = Some(u16::from_be_bytes([body[0], body[1]]));
                options.push_layout(b'M');
            }
            (3, 1) => {
                options.window_scale = Some(body[0]);
                options.push_layout(b'W');
            }
            (4, 0) => {
                options.sack_permitted = true;
                options.push_layout(b'S');
            }
            (5, _) => options.push_layout(b'K'),
            (8, 8) => {
                options.timestamps = true;
                options.push_layout(b'T');
            }
            _ => options.push_layout(b'?'),
        }
        i += len;
    }
    options
}

fn decode_udp(bytes: &[u8], declared_len: u32, more_fragments: bool) -> Result<TransportLayer<'_>, SkipReason> {
    let udp = UdpPacket::new(bytes).ok_or(SkipReason::TruncatedUdpHeader)?;
    let header_len = UdpPacket::minimum_packet_size();
    let udp_len = u32::from(udp.get_length());
    // A first fragment carries the whole datagram's length in its UDP header.
    if udp_len < header_len as u32 || (udp_len > declared_len && !more_fragments) {
        return Err(SkipReason::BadUdpLength);
    }
    let present_end = (udp_len as usize).min(bytes.len());
    Ok(TransportLayer {
        transport: Transport::Udp { src_port: udp.get_source(), dst_port: udp.get_destination() },
        payload_len: udp_len - header_len as u32,
        payload: &bytes[header_len..present_end],
    })
}

/// ICMP messages are a 4-byte type/code/checksum, 4 type-specific bytes, then data.
const ICMP_HEADER_LEN: usize = 8;

fn decode_icmp(bytes: &[u8], declared_len: u32, v6: bool) -> Result<TransportLayer<'_>, SkipReason> {
    let (icmp_type, code) = if v6 {
        let icmp = Icmpv6Packet::new(bytes).ok_or(SkipReason::TruncatedIcmpHeader)?;
        (icmp.get_icmpv6_type().0, icmp.get_icmpv6_code().0)
    } else {
        let icmp = IcmpPacket::new(bytes).ok_or(SkipReason::TruncatedIcmpHeader)?;
        (icmp.get_icmp_type().0, icmp.get_icmp_code().0)
    };
    let is_error = if v6 { matches!(icmp_type, 1..=4) } else { matches!(icmp_type, 3 | 4 | 5 | 11 | 12) };
    let data = bytes.get(ICMP_HEADER_LEN..).unwrap_or(&[]);
    let quoted = if is_error { quoted_packet(data) } else { None };
    let header_len = (ICMP_HEADER_LEN as u32).min(declared_len);
    Ok(TransportLayer {
        transport: Transport::Icmp(IcmpHeader { icmp_type, code, quoted }),
        payload_len: declared_len - header_len,
        payload: data,
    })
}

/// Read the invoking packet an ICMP error quotes. The quote is often cut
/// short (RFC 792 asks for the IP header and 8 bytes), so only what is
/// present is read and nothing is required past the IP header.
fn quoted_packet(data: &[u8]) -> Option<QuotedPacket> {
    let version = data.first()? >> 4;
    let (protocol, src, dst, rest) = match version {
        4 => {
            let ip = Ipv4Packet::new(data)?;
            let header_len = usize::from(ip.get_header_length()) * 4;
            if header_len < Ipv4Packet::minimum_packet_size() || header_len > data.len() {
                return None;
            }
            // Ports only exist in the first fragment.
            let rest = if ip.get_fragment_offset() == 0 { &data[header_len..] } else { &[][..] };
            (
                ip.get_next_level_protocol().0,
                map_v4(ip.get_source().octets()),
                map_v4(ip.get_destination().octets()),
                rest,
            )
        }
        6 => {
            let ip = Ipv6Packet::new(data)?;
            let rest = &data[Ipv6Packet::minimum_packet_size()..];
            (ip.get_next_header().0, ip.get_source().octets(), ip.get_destination().octets(), rest)
        }
        _ => return None,
    };
    let ports = match protocol {
        ipproto::TCP | ipproto::UDP if rest.len() >= 4 => {
            Some((u16::from_be_bytes([rest[0], rest[1]]), u16::from_be_bytes([rest[2], rest[3]])))
        }
        _ => None,
    };
    Some(QuotedPacket { protocol, src, dst, src_port: ports.map(|p| p.0), dst_port: ports.map(|p| p.1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_syn_options_layout() {
        // MSS 1460, SACK-permitted, timestamps, NOP, window scale 7.
        let area = [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];
        let o = summarize_tcp_options(&area);
        assert_eq!(o.layout(), "MSTNW");
        assert_eq!(o.mss, Some(1460));
        assert_eq!(o.window_scale, Some(7));
        assert!(o.sack_permitted && o.timestamps);
    }

    #[test]
    fn options_with_bad_length_stop_the_walk() {
        let o = summarize_tcp_options(&[2, 4, 5, 180, 3, 0, 0, 0]);
        assert_eq!(o.layout(), "M?");
        let o = summarize_tcp_options(&[2, 40, 5]);
        assert_eq!(o.layout(), "?");
        assert_eq!(o.mss, None);
    }

    #[test]
    fn forty_nops_fit() {
        let o = summarize_tcp_options(&[1u8; 40]);
        assert_eq!(o.layout().len(), 40);
    }
}
