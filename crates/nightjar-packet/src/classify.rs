//! Darknet classification: backscatter, scan or other; scanning-tool
//! fingerprints; signs of a spoofed source.
//!
//! The rules follow public telescope practice (CAIDA corsaro3's
//! `libcorsaro_filtering.c`, Merit's darknet-events) as written down in
//! DESIGN.md. Where Nightjar departs from corsaro it says so next to the rule.
//!
//! Tool labels come from the rules of `fingerprint.rs` ([`crate::ToolRule`]), which lists
//! every rule, the fields it checks beyond the tool's signature field, why,
//! and its expected false-match rate. In short:
//! - `mirai`: a SYN whose sequence number is its destination; 2⁻³² per SYN by chance;
//! - `masscan`: Masscan's SYN template (window 1024, ack 0, no DF, no options
//!   or MSS alone) whose IP id is destination ⊕ port ⊕ sequence; 2⁻¹⁶ per SYN
//!   that shares the template (nmap `-sS`), about 2⁻³⁴ per random SYN;
//! - `zmap`: ZMap's SYN template (window 65535, ack 0, no DF) with IP id 54321
//!   (up to 4.0; 2⁻¹⁶ per SYN sharing the template) or with one of ZMap
//!   4.1's option sets (no random field; about 2⁻²³ per random SYN), or a
//!   ZMap UDP/ICMP probe with IP id 54321 and TTL above 128.
//!
//! Counts of sources by tool require a source's packets to agree (see
//! [`crate::min_source_packets`] and [`crate::SourceToolTally`]).

use crate::addr::as_v4;
use crate::fingerprint::fingerprint;
use crate::packet::{Packet, Transport, tcp_flags};

/// What kind of unsolicited traffic a packet is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrafficClass {
    /// A reply from a victim of a spoofed-source attack: SYN-ACK, RST, ICMP
    /// replies and errors, DNS answers. The source is the victim.
    Backscatter,
    /// A probe: TCP SYN, UDP datagram, ICMP request. The source is the scanner.
    Scan,
    /// Everything else (stray ACKs and FINs, other protocols, later fragments).
    Other,
}

impl TrafficClass {
    /// Every class, in the order of the enum.
    pub const ALL: [TrafficClass; 3] = [TrafficClass::Backscatter, TrafficClass::Scan, TrafficClass::Other];

    /// The stored name: `backscatter`, `scan` or `other`.
    pub fn name(self) -> &'static str {
        match self {
            TrafficClass::Backscatter => "backscatter",
            TrafficClass::Scan => "scan",
            TrafficClass::Other => "other",
        }
    }

    /// Its position in [`TrafficClass::ALL`] (for counters kept in an array per class).
    pub fn index(self) -> usize {
        match self {
            TrafficClass::Backscatter => 0,
            TrafficClass::Scan => 1,
            TrafficClass::Other => 2,
        }
    }
}

/// A scanning tool recognised by how it builds its packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tool {
    /// Mirai and its descendants: TCP SYN whose sequence number equals the destination IPv4 address.
    Mirai,
    /// Masscan: its SYN template (window 1024, ack 0, no DF, no options or MSS
    /// alone) with IP id == low 16 bits of (destination ⊕ destination port ⊕ sequence number).
    Masscan,
    /// ZMap: its SYN template (window 65535, ack 0, no DF) with IP id 54321 (up
    /// to 4.0) or one of ZMap 4.1's TCP option sets; its UDP/ICMP probes with IP id 54321.
    Zmap,
}

impl Tool {
    /// Every tool, in the order of the enum.
    pub const ALL: [Tool; 3] = [Tool::Mirai, Tool::Masscan, Tool::Zmap];

    /// The stored name: `mirai`, `masscan` or `zmap`.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Mirai => "mirai",
            Tool::Masscan => "masscan",
            Tool::Zmap => "zmap",
        }
    }

    /// Its position in [`Tool::ALL`] (for counters kept in an array per tool).
    pub fn index(self) -> usize {
        match self {
            Tool::Mirai => 0,
            Tool::Masscan => 1,
            Tool::Zmap => 2,
        }
    }
}

/// Why a packet's source is likely spoofed; the first rule that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpoofSign {
    /// A TCP flag combination no real stack sends (null, Xmas, SYN-RST…).
    AbnormalTcpFlags,
    /// TTL (or hop limit) of 200 or more, outside ICMP and outside packets
    /// with a tool fingerprint (Masscan and ZMap send 255).
    HighTtl,
    /// A later fragment, or the IPv4 reserved flag set.
    Fragment,
    /// IPv4 source ending in .0 or .255.
    SourceLastOctet,
    /// Source equals destination.
    SameSourceAndDestination,
    /// TCP or UDP source or destination port 0.
    PortZero,
    /// UDP to destination port 80.
    UdpToPort80,
}

impl SpoofSign {
    /// Every sign, in the order of the enum.
    pub const ALL: [SpoofSign; 7] = [
        SpoofSign::AbnormalTcpFlags,
        SpoofSign::HighTtl,
        SpoofSign::Fragment,
        SpoofSign::SourceLastOctet,
        SpoofSign::SameSourceAndDestination,
        SpoofSign::PortZero,
        SpoofSign::UdpToPort80,
    ];

    /// The stored name, e.g. `high_ttl`.
    pub fn name(self) -> &'static str {
        match self {
            SpoofSign::AbnormalTcpFlags => "abnormal_tcp_flags",
            SpoofSign::HighTtl => "high_ttl",
            SpoofSign::Fragment => "fragment",
            SpoofSign::SourceLastOctet => "source_last_octet",
            SpoofSign::SameSourceAndDestination => "same_source_destination",
            SpoofSign::PortZero => "port_zero",
            SpoofSign::UdpToPort80 => "udp_to_port_80",
        }
    }
}

/// The classification of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Classification {
    /// Backscatter, scan or other.
    pub class: TrafficClass,
    /// The scanning tool whose fingerprint matched, if any.
    pub tool: Option<Tool>,
    /// The first sign of a spoofed source, if any.
    pub spoof: Option<SpoofSign>,
}

/// Classify one decoded packet.
pub fn classify(packet: &Packet<'_>) -> Classification {
    let tool = fingerprint(packet);
    Classification { class: traffic_class(packet), tool, spoof: spoof_sign(packet, tool) }
}

fn traffic_class(packet: &Packet<'_>) -> TrafficClass {
    use TrafficClass::*;
    match &packet.transport {
        Transport::Tcp { header, .. } => {
            let syn = header.flags & tcp_flags::SYN != 0;
            let ack = header.flags & tcp_flags::ACK != 0;
            let rst = header.flags & tcp_flags::RST != 0;
            if (syn && ack) || (rst && !syn) {
                Backscatter
            } else if syn {
                Scan
            } else {
                Other
            }
        }
        Transport::Udp { src_port, .. } => {
            if *src_port == 53 {
                Backscatter
            } else {
                Scan
            }
        }
        Transport::Icmp(icmp) if packet.ip_version == 4 => match icmp.icmp_type {
            0 | 3 | 4 | 5 | 11 | 12 | 14 | 16 | 18 => Backscatter,
            // Echo request, and (beyond corsaro) the other request types,
            // timestamp, information and address mask: all are probes.
            8 | 13 | 15 | 17 => Scan,
            _ => Other,
        },
        // ICMPv6: errors (1–4) and echo reply answer someone else's packet.
        Transport::Icmp(icmp) => match icmp.icmp_type {
            1..=4 | 129 => Backscatter,
            128 => Scan,
            _ => Other,
        },
        Transport::None => Other,
    }
}

/// Flags a real stack combines (ECE and CWR ignored, as corsaro does).
/// corsaro's list plus RST-ACK, which Linux and Windows send for every
/// SYN to a closed port: calling that spoofed would drop most real backscatter.
fn normal_tcp_flags(flags: u8) -> bool {
    use tcp_flags::*;
    let core = flags & (FIN | SYN | RST | PSH | ACK | URG);
    [SYN, ACK, RST, RST | ACK, FIN, SYN | FIN, SYN | ACK, FIN | ACK, ACK | PSH, FIN | ACK | PSH].contains(&core)
}

fn spoof_sign(packet: &Packet<'_>, tool: Option<Tool>) -> Option<SpoofSign> {
    if let Some(tcp) = packet.tcp()
        && !normal_tcp_flags(tcp.flags)
    {
        return Some(SpoofSign::AbnormalTcpFlags);
    }
    // corsaro exempts ICMP (routers answer with 255) and, through its
    // large-scale-scan rule, Masscan. ZMap sends TTL 255 as well, so any
    // recognised tool is exempt: the fingerprint already explains the TTL.
    let is_icmp = matches!(packet.transport, Transport::Icmp(_));
    if packet.ttl >= 200 && !is_icmp && tool.is_none() {
        return Some(SpoofSign::HighTtl);
    }
    if packet.fragment_offset != 0 || packet.reserved_flag {
        return Some(SpoofSign::Fragment);
    }
    if let Some(src) = as_v4(&packet.src)
        && matches!(src.octets()[3], 0 | 255)
    {
        return Some(SpoofSign::SourceLastOctet);
    }
    if packet.src == packet.dst {
        return Some(SpoofSign::SameSourceAndDestination);
    }
    if packet.src_port() == Some(0) || packet.dst_port() == Some(0) {
        return Some(SpoofSign::PortZero);
    }
    if matches!(packet.transport, Transport::Udp { dst_port: 80, .. }) {
        return Some(SpoofSign::UdpToPort80);
    }
    None
}

#[cfg(test)]
mod name_list_tests {
    use super::*;

    // No wildcard arms (here and in `Tool::index`, `TrafficClass::index`): a new variant does
    // not compile until it gets the next position, and then the test fails until the variant
    // is in its `ALL` list at that position.
    fn sign_position(sign: SpoofSign) -> usize {
        match sign {
            SpoofSign::AbnormalTcpFlags => 0,
            SpoofSign::HighTtl => 1,
            SpoofSign::Fragment => 2,
            SpoofSign::SourceLastOctet => 3,
            SpoofSign::SameSourceAndDestination => 4,
            SpoofSign::PortZero => 5,
            SpoofSign::UdpToPort80 => 6,
        }
    }

    #[test]
    fn every_variant_is_in_its_list() {
        assert!(Tool::ALL.iter().enumerate().all(|(i, t)| t.index() == i));
        assert!(TrafficClass::ALL.iter().enumerate().all(|(i, c)| c.index() == i));
        assert!(SpoofSign::ALL.iter().enumerate().all(|(i, s)| sign_position(*s) == i));
        assert_eq!(Tool::Zmap.index() + 1, Tool::ALL.len());
        assert_eq!(TrafficClass::Other.index() + 1, TrafficClass::ALL.len());
        assert_eq!(sign_position(SpoofSign::UdpToPort80) + 1, SpoofSign::ALL.len());
    }
}
