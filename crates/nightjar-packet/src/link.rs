//! Link-layer framing: from a captured frame to the IP packet inside it.

use pnet_packet::ethernet::{EtherType, EtherTypes, EthernetPacket};
use pnet_packet::sll::SLLPacket;
use pnet_packet::sll2::SLL2Packet;
use pnet_packet::vlan::VlanPacket;

use crate::error::SkipReason;

/// The link-layer framing of a capture, from the pcap `LINKTYPE_*` registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// `LINKTYPE_NULL` (0): BSD loopback, 4-byte address family in host order.
    Null,
    /// `LINKTYPE_ETHERNET` (1): Ethernet II, with any 802.1Q / 802.1ad tags.
    Ethernet,
    /// `LINKTYPE_RAW` (101, and the DLT values 12 and 14 some systems write):
    /// a bare IPv4 or IPv6 packet.
    Raw,
    /// `LINKTYPE_LOOP` (108): OpenBSD loopback, address family in network order.
    Loop,
    /// `LINKTYPE_LINUX_SLL` (113): Linux cooked capture v1 (`tcpdump -i any`).
    LinuxSll,
    /// `LINKTYPE_IPV4` (228): a bare IPv4 packet.
    Ipv4,
    /// `LINKTYPE_IPV6` (229): a bare IPv6 packet.
    Ipv6,
    /// `LINKTYPE_LINUX_SLL2` (276): Linux cooked capture v2 (newer `tcpdump -i any`).
    LinuxSll2,
}

impl LinkType {
    /// The link type for a pcap/pcapng `LINKTYPE_*` number, if supported.
    pub fn from_linktype(value: u32) -> Option<LinkType> {
        Some(match value {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }

    /// The canonical `LINKTYPE_*` number.
    pub fn linktype(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
        }
    }
}

/// Which IP version the link layer says follows, if it says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpHint {
    V4,
    V6,
    /// Raw framing: the version nibble decides.
    Either,
}

/// Linux cooked capture v1 header: type, ARPHRD, address length, 8 address bytes, protocol.
const SLL_HEADER_LEN: usize = 16;
/// Linux cooked capture v2 header: protocol, reserved, ifindex, ARPHRD, type, address length, 8 address bytes.
const SLL2_HEADER_LEN: usize = 20;

/// More tags than this is not a real network (802.1ad uses two).
const MAX_VLAN_TAGS: usize = 8;

fn ip_from_ethertype(ethertype: EtherType) -> Option<IpHint> {
    match ethertype {
        EtherTypes::Ipv4 => Some(IpHint::V4),
        EtherTypes::Ipv6 => Some(IpHint::V6),
        _ => None,
    }
}

/// Strip the link layer: the bytes of the IP packet and which version to expect.
pub(crate) fn strip_link(link: LinkType, frame: &[u8]) -> Result<(&[u8], IpHint), SkipReason> {
    if frame.is_empty() {
        return Err(SkipReason::EmptyFrame);
    }
    match link {
        LinkType::Raw => Ok((frame, IpHint::Either)),
        LinkType::Ipv4 => Ok((frame, IpHint::V4)),
        LinkType::Ipv6 => Ok((frame, IpHint::V6)),
        LinkType::Ethernet => strip_ethernet(frame),
        // pnet's SLL views under-count their fixed 8-byte address field in
        // `minimum_packet_size`, so the header lengths are checked here.
        LinkType::LinuxSll => {
            let header = frame.get(..SLL_HEADER_LEN).ok_or(SkipReason::TruncatedLinkHeader)?;
            let sll = SLLPacket::new(header).ok_or(SkipReason::TruncatedLinkHeader)?;
            let hint = ip_from_ethertype(sll.get_protocol()).ok_or(SkipReason::NotIp)?;
            Ok((&frame[SLL_HEADER_LEN..], hint))
        }
        LinkType::LinuxSll2 => {
            let header = frame.get(..SLL2_HEADER_LEN).ok_or(SkipReason::TruncatedLinkHeader)?;
            let sll2 = SLL2Packet::new(header).ok_or(SkipReason::TruncatedLinkHeader)?;
            let hint = ip_from_ethertype(sll2.get_protocol_type()).ok_or(SkipReason::NotIp)?;
            Ok((&frame[SLL2_HEADER_LEN..], hint))
        }
        LinkType::Null | LinkType::Loop => {
            let family_bytes: [u8; 4] =
                frame.get(..4).and_then(|b| b.try_into().ok()).ok_or(SkipReason::TruncatedLinkHeader)?;
            // NULL is in the writer's byte order, which the file does not
            // record; the values below are unambiguous in either order.
            let family = if link == LinkType::Loop {
                u32::from_be_bytes(family_bytes)
            } else {
                let le = u32::from_le_bytes(family_bytes);
                if le < 256 { le } else { u32::from_be_bytes(family_bytes) }
            };
            let hint = match family {
                2 => IpHint::V4,
                // AF_INET6 differs between BSDs: 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS.
                24 | 28 | 30 => IpHint::V6,
                _ => return Err(SkipReason::NotIp),
            };
            Ok((&frame[4..], hint))
        }
    }
}

fn strip_ethernet(frame: &[u8]) -> Result<(&[u8], IpHint), SkipReason> {
    let eth = EthernetPacket::new(frame).ok_or(SkipReason::TruncatedLinkHeader)?;
    let mut ethertype = eth.get_ethertype();
    let mut offset = EthernetPacket::minimum_packet_size();
    // 802.1Q (0x8100), 802.1ad (0x88a8) and pre-standard QinQ (0x9100).
    let mut tags = 0;
    while matches!(ethertype, EtherTypes::Vlan | EtherTypes::PBridge | EtherTypes::QinQ) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(SkipReason::TooManyVlanTags);
        }
        let tag = VlanPacket::new(&frame[offset..]).ok_or(SkipReason::TruncatedLinkHeader)?;
        ethertype = tag.get_ethertype();
        offset += VlanPacket::minimum_packet_size();
    }
    let hint = ip_from_ethertype(ethertype).ok_or(SkipReason::NotIp)?;
    Ok((&frame[offset..], hint))
}
