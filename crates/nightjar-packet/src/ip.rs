//! The IP layer: IPv4 (options, fragments) and IPv6 (extension header walk).

use pnet_packet::ip::IpNextHeaderProtocols as Proto;
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::{ExtensionPacket, FragmentPacket, Ipv6Packet};

use crate::addr::map_v4;
use crate::error::SkipReason;
use crate::packet::{Packet, Transport};

/// More extension headers than this is an attack on the decoder, not traffic.
const MAX_IPV6_EXTENSIONS: usize = 8;

/// IPv6 "no next header".
const NO_NEXT_HEADER: u8 = 59;

/// The packet as its IPv4 header tells it, the upper layer not looked into: `transport` is
/// [`Transport::None`], `payload` the upper-layer bytes present (without link-layer padding)
/// and `payload_len` the upper-layer length the header declares.
pub(crate) fn decode_ipv4(bytes: &[u8]) -> Result<Packet<'_>, SkipReason> {
    let ip = Ipv4Packet::new(bytes).ok_or(SkipReason::TruncatedIpHeader)?;
    if ip.get_version() != 4 {
        return Err(SkipReason::BadIpVersion);
    }
    let header_len = usize::from(ip.get_header_length()) * 4;
    if header_len < Ipv4Packet::minimum_packet_size() {
        return Err(SkipReason::BadIpHeaderLength);
    }
    if header_len > bytes.len() {
        return Err(SkipReason::TruncatedIpHeader);
    }
    let total_len = usize::from(ip.get_total_length());
    if total_len < header_len {
        return Err(SkipReason::BadIpTotalLength);
    }
    // Ethernet pads short packets; the IP total length says where the packet ends.
    let present_end = total_len.min(bytes.len());
    let flags = ip.get_flags();
    Ok(Packet {
        ip_version: 4,
        src: map_v4(ip.get_source().octets()),
        dst: map_v4(ip.get_destination().octets()),
        protocol: ip.get_next_level_protocol().0,
        ttl: ip.get_ttl(),
        ip_id: Some(ip.get_identification()),
        ip_len: total_len as u32,
        ip_options_len: (header_len - Ipv4Packet::minimum_packet_size()) as u16,
        reserved_flag: flags & 0b100 != 0,
        dont_fragment: flags & 0b010 != 0,
        more_fragments: flags & 0b001 != 0,
        fragment_offset: u32::from(ip.get_fragment_offset()) * 8,
        transport: Transport::None,
        payload_len: (total_len - header_len) as u32,
        payload: &bytes[header_len..present_end],
    })
}

/// The packet as its IPv6 header and extension headers tell it, the upper layer not looked
/// into (as [`decode_ipv4`]).
pub(crate) fn decode_ipv6(bytes: &[u8]) -> Result<Packet<'_>, SkipReason> {
    let ip = Ipv6Packet::new(bytes).ok_or(SkipReason::TruncatedIpHeader)?;
    if ip.get_version() != 6 {
        return Err(SkipReason::BadIpVersion);
    }
    let fixed = Ipv6Packet::minimum_packet_size();
    let payload_len = usize::from(ip.get_payload_length());
    let present_end = (fixed + payload_len).min(bytes.len());
    let present = &bytes[fixed..present_end];

    let mut next = ip.get_next_header().0;
    let mut offset = 0usize;
    let mut more_fragments = false;
    let mut fragment_offset = 0u32;
    let mut extensions = 0usize;
    loop {
        let header_len = match next {
            n if n == Proto::Hopopt.0 || n == Proto::Ipv6Route.0 || n == Proto::Ipv6Opts.0 => {
                let ext = ExtensionPacket::new(&present[offset..]).ok_or(SkipReason::TruncatedIpv6Extension)?;
                let len = (usize::from(ext.get_hdr_ext_len()) + 1) * 8;
                (ext.get_next_header().0, len)
            }
            n if n == Proto::Ipv6Frag.0 => {
                let frag = FragmentPacket::new(&present[offset..]).ok_or(SkipReason::TruncatedIpv6Extension)?;
                let word = frag.get_fragment_offset_with_flags();
                fragment_offset = u32::from(word >> 3) * 8;
                more_fragments = word & 1 != 0;
                (frag.get_next_header().0, FragmentPacket::minimum_packet_size())
            }
            n if n == Proto::Ah.0 => {
                // AH counts its length in 4-byte words, minus 2.
                let ext = ExtensionPacket::new(&present[offset..]).ok_or(SkipReason::TruncatedIpv6Extension)?;
                let len = (usize::from(ext.get_hdr_ext_len()) + 2) * 4;
                (ext.get_next_header().0, len)
            }
            _ => break,
        };
        let (following, len) = header_len;
        if offset + len > present.len() {
            return Err(SkipReason::TruncatedIpv6Extension);
        }
        extensions += 1;
        if extensions > MAX_IPV6_EXTENSIONS {
            return Err(SkipReason::TooManyIpv6Extensions);
        }
        offset += len;
        next = following;
        if fragment_offset != 0 {
            // Past the first fragment the following bytes are fragment data.
            break;
        }
    }
    let upper_declared_len = payload_len.saturating_sub(offset) as u32;
    Ok(Packet {
        ip_version: 6,
        src: ip.get_source().octets(),
        dst: ip.get_destination().octets(),
        protocol: next,
        ttl: ip.get_hop_limit(),
        ip_id: None,
        ip_len: (fixed + payload_len) as u32,
        ip_options_len: offset as u16,
        dont_fragment: false,
        more_fragments,
        reserved_flag: false,
        fragment_offset,
        transport: Transport::None,
        payload_len: if next == NO_NEXT_HEADER { 0 } else { upper_declared_len },
        payload: if next == NO_NEXT_HEADER { &[] } else { &present[offset..] },
    })
}
