//! Nightjar's packet core: link-layer frames in, darknet packet records out.
//!
//! This crate is pure: no I/O, no async, no allocation per packet, and no
//! panic on any input. It knows the link layers a darknet sensor meets
//! (Ethernet with VLAN tags, raw IP, Linux cooked capture v1 and v2, BSD
//! loopback), IPv4 with options and fragments, IPv6 with its extension
//! headers, TCP with an options summary, UDP, ICMP and ICMPv6 with the packet
//! an ICMP error quotes. It classifies what it decoded as backscatter, scan or
//! other, recognises Mirai, Masscan and ZMap by their packet fingerprints, and
//! flags likely spoofed sources.
//!
//! Main types: [`decode()`] → [`Packet`]; [`classify()`] → [`Classification`];
//! [`SkipReason`] and [`SkipCounts`] for frames that give no packet;
//! [`Prefix`], [`PrefixSet`] and [`PrefixMap`] for address blocks;
//! [`ResearchScanners`] for the research scanner list.
//!
//! ```
//! use nightjar_packet::{classify, decode, LinkType, Tool, TrafficClass};
//!
//! // A raw IPv4 TCP SYN from 198.51.100.7 to 192.0.2.10:23 whose sequence
//! // number is the destination address: Mirai's fingerprint.
//! let frame: [u8; 40] = [
//!     0x45, 0, 0, 40, 0x12, 0x34, 0, 0, 64, 6, 0, 0, 198, 51, 100, 7, 192, 0, 2, 10,
//!     0xc3, 0x50, 0, 23, 192, 0, 2, 10, 0, 0, 0, 0, 0x50, 0x02, 0x16, 0xd0, 0, 0, 0, 0,
//! ];
//! let packet = decode(LinkType::Raw, &frame).expect("a well-formed SYN");
//! assert_eq!(packet.dst_port(), Some(23));
//! let class = classify(&packet);
//! assert_eq!(class.class, TrafficClass::Scan);
//! assert_eq!(class.tool, Some(Tool::Mirai));
//! ```

mod addr;
mod classify;
mod decode;
mod error;
mod fingerprint;
mod ip;
mod link;
mod packet;
mod prefix_map;
mod research;
mod transport;

pub use addr::{Addr16, Prefix, PrefixError, PrefixSet, as_v4, from_ip, map_v4, to_ip};
pub use classify::{Classification, SpoofSign, Tool, TrafficClass, classify};
pub use decode::decode;
pub use error::{SkipCounts, SkipReason};
pub use fingerprint::{
    SourceToolTally, TcpEvidence, ToolEvidence, ToolRule, ZMAP_IP_ID, min_source_packets, tool_rule,
};
pub use link::LinkType;
pub use packet::{
    IcmpHeader, Packet, QuotedPacket, TCP_OPTION_LAYOUT_MAX, TcpHeader, TcpOptions, Transport, ipproto, tcp_flags,
};
pub use prefix_map::PrefixMap;
pub use research::{BUNDLED_RESEARCH_LIST, DEFAULT_RESEARCH_LABEL, ResearchListError, ResearchScanners};
