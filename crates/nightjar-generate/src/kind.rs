//! The kinds of traffic the generator writes, their share of the mix, and
//! what Nightjar's decoder and classifier are expected to make of each.

use nightjar_packet::{SkipReason, SpoofSign, Tool, TrafficClass};

/// One kind of generated packet. The crate documentation gives the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrafficKind {
    /// Mirai-family bot: TCP SYN with sequence number = destination address,
    /// no options, TTL 64, random IP id, a random window and source port fixed
    /// per bot; to 23/tcp (80%), 2323/tcp (9%) or another IoT port.
    MiraiSyn,
    /// Masscan: TCP SYN, IP id = (dst ^ dport ^ seq) & 0xffff, TTL 255,
    /// window 1024, MSS 1460, source port fixed per scan; many ports.
    MasscanSyn,
    /// ZMap up to 4.0: TCP SYN, IP id 54321, TTL 255, window 65535, no
    /// options or MSS 1460, one port per scan.
    ZmapSyn,
    /// nmap -sS: TCP SYN, window 1024/2048/3072/4096, MSS 1460, random IP id,
    /// initial TTL 37–59, source port fixed per scan; nmap's top ports.
    NmapSyn,
    /// A Linux connect() scanner: SYN with MSS, SACK-permitted, timestamps,
    /// NOP and window scale 7, window 64240, TTL 64, DF.
    LinuxSyn,
    /// A Windows connect() scanner: SYN with MSS, NOP, window scale 8, NOP,
    /// NOP, SACK-permitted, window 64240, TTL 128, DF, incrementing IP id.
    WindowsSyn,
    /// UDP probes for amplifiers and exposed services with the payloads
    /// scanners send: DNS, NTP, SNMP, SSDP, CLDAP, memcached, WS-Discovery,
    /// CoAP, chargen and QOTD.
    UdpProbe,
    /// ICMP echo request, Linux (56-byte) or Windows (32-byte) ping.
    IcmpEchoRequest,
    /// Backscatter: a SYN flood victim's SYN-ACK from an open port.
    SynAck,
    /// Backscatter: a SYN flood victim's RST-ACK from a closed port.
    RstAck,
    /// Backscatter: a UDP flood victim's ICMP port unreachable, quoting the
    /// flood packet whose spoofed source was a darknet address.
    IcmpPortUnreachable,
    /// Backscatter: a router's ICMP host/network unreachable or
    /// administratively prohibited, quoting a spoofed TCP SYN.
    IcmpHostUnreachable,
    /// Backscatter: DNS answers from port 53 to queries spoofed from the darknet.
    DnsResponse,
    /// Likely spoofed: TCP with a NULL or Xmas (FIN+PSH+URG) flag set.
    OddTcpFlags,
    /// Likely spoofed: a TCP SYN with TTL 200 or more that is not Masscan.
    HighTtlSyn,
    /// Likely spoofed: a TCP SYN from an address ending in .0 or .255.
    SourceOctetSyn,
    /// Likely spoofed: a TCP SYN to or from port 0.
    PortZero,
    /// Likely spoofed: a UDP datagram to port 80.
    UdpToPort80,
    /// Likely spoofed: a later IPv4 fragment of a UDP datagram.
    Fragment,
    /// Likely spoofed: a TCP SYN whose source is its destination (LAND).
    LandSyn,
    /// IPv6 TCP SYN from a Linux stack (only with an IPv6 dark prefix).
    Ipv6Syn,
    /// ICMPv6 echo request (only with an IPv6 dark prefix).
    Ipv6EchoRequest,
    /// Malformed: the frame ends inside the IPv4 header.
    TruncatedIpHeader,
    /// Malformed: IPv4 header length field below 5 words.
    BadIpHeaderLength,
    /// Malformed: the frame ends inside the TCP header.
    TruncatedTcpHeader,
    /// Malformed: TCP data offset below 5 words or past the segment.
    BadTcpDataOffset,
    /// Malformed: UDP length field below 8 or past the IP packet.
    BadUdpLength,
}

/// What the classifier should say about a packet of one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    /// Backscatter, scan or other.
    pub class: TrafficClass,
    /// The tool fingerprint.
    pub tool: Option<Tool>,
    /// The first spoofing sign.
    pub spoof: Option<SpoofSign>,
}

impl TrafficKind {
    /// Every kind, in summary order.
    pub const ALL: [TrafficKind; 27] = [
        TrafficKind::MiraiSyn,
        TrafficKind::MasscanSyn,
        TrafficKind::ZmapSyn,
        TrafficKind::NmapSyn,
        TrafficKind::LinuxSyn,
        TrafficKind::WindowsSyn,
        TrafficKind::UdpProbe,
        TrafficKind::IcmpEchoRequest,
        TrafficKind::SynAck,
        TrafficKind::RstAck,
        TrafficKind::IcmpPortUnreachable,
        TrafficKind::IcmpHostUnreachable,
        TrafficKind::DnsResponse,
        TrafficKind::OddTcpFlags,
        TrafficKind::HighTtlSyn,
        TrafficKind::SourceOctetSyn,
        TrafficKind::PortZero,
        TrafficKind::UdpToPort80,
        TrafficKind::Fragment,
        TrafficKind::LandSyn,
        TrafficKind::Ipv6Syn,
        TrafficKind::Ipv6EchoRequest,
        TrafficKind::TruncatedIpHeader,
        TrafficKind::BadIpHeaderLength,
        TrafficKind::TruncatedTcpHeader,
        TrafficKind::BadTcpDataOffset,
        TrafficKind::BadUdpLength,
    ];

    /// A stable snake_case name for summaries.
    pub fn name(self) -> &'static str {
        use TrafficKind::*;
        match self {
            MiraiSyn => "mirai_syn",
            MasscanSyn => "masscan_syn",
            ZmapSyn => "zmap_syn",
            NmapSyn => "nmap_syn",
            LinuxSyn => "linux_syn",
            WindowsSyn => "windows_syn",
            UdpProbe => "udp_probe",
            IcmpEchoRequest => "icmp_echo_request",
            SynAck => "syn_ack",
            RstAck => "rst_ack",
            IcmpPortUnreachable => "icmp_port_unreachable",
            IcmpHostUnreachable => "icmp_host_unreachable",
            DnsResponse => "dns_response",
            OddTcpFlags => "odd_tcp_flags",
            HighTtlSyn => "high_ttl_syn",
            SourceOctetSyn => "source_octet_syn",
            PortZero => "port_zero",
            UdpToPort80 => "udp_to_port_80",
            Fragment => "fragment",
            LandSyn => "land_syn",
            Ipv6Syn => "ipv6_syn",
            Ipv6EchoRequest => "ipv6_echo_request",
            TruncatedIpHeader => "truncated_ip_header",
            BadIpHeaderLength => "bad_ip_header_length",
            TruncatedTcpHeader => "truncated_tcp_header",
            BadTcpDataOffset => "bad_tcp_data_offset",
            BadUdpLength => "bad_udp_length",
        }
    }

    /// Parts per million of all packets (before IPv6 kinds are dropped when
    /// there is no IPv6 dark prefix; the rest are then scaled up).
    pub fn share_ppm(self) -> u32 {
        use TrafficKind::*;
        match self {
            MiraiSyn => 220_000,
            MasscanSyn => 120_000,
            ZmapSyn => 80_000,
            NmapSyn => 40_000,
            LinuxSyn => 170_000,
            WindowsSyn => 70_000,
            UdpProbe => 110_000,
            IcmpEchoRequest => 70_000,
            SynAck => 40_000,
            RstAck => 35_000,
            IcmpPortUnreachable => 12_000,
            IcmpHostUnreachable => 6_000,
            DnsResponse => 12_000,
            OddTcpFlags => 2_000,
            HighTtlSyn => 3_000,
            SourceOctetSyn => 2_000,
            PortZero => 1_000,
            UdpToPort80 => 1_000,
            Fragment => 1_500,
            LandSyn => 500,
            Ipv6Syn => 2_000,
            Ipv6EchoRequest => 1_000,
            TruncatedIpHeader | BadIpHeaderLength | TruncatedTcpHeader | BadTcpDataOffset | BadUdpLength => 200,
        }
    }

    /// Whether this kind is IPv6 (generated only with an IPv6 dark prefix).
    pub fn is_ipv6(self) -> bool {
        matches!(self, TrafficKind::Ipv6Syn | TrafficKind::Ipv6EchoRequest)
    }

    /// Why the decoder skips a frame of this kind; `None` when it decodes.
    pub fn expected_skip(self) -> Option<SkipReason> {
        use TrafficKind::*;
        match self {
            TruncatedIpHeader => Some(SkipReason::TruncatedIpHeader),
            BadIpHeaderLength => Some(SkipReason::BadIpHeaderLength),
            TruncatedTcpHeader => Some(SkipReason::TruncatedTcpHeader),
            BadTcpDataOffset => Some(SkipReason::BadTcpDataOffset),
            BadUdpLength => Some(SkipReason::BadUdpLength),
            _ => None,
        }
    }

    /// What `nightjar_packet::classify` answers for a packet of this kind;
    /// `None` for the malformed kinds, which do not decode.
    ///
    /// Masscan and ZMap send TTL 255; the classifier exempts recognised
    /// tools from its high-TTL rule, so neither is flagged as spoofed.
    pub fn expected(self) -> Option<Expected> {
        use SpoofSign as S;
        use TrafficClass::*;
        use TrafficKind::*;
        let (class, tool, spoof) = match self {
            MiraiSyn => (Scan, Some(Tool::Mirai), None),
            MasscanSyn => (Scan, Some(Tool::Masscan), None),
            ZmapSyn => (Scan, Some(Tool::Zmap), None),
            NmapSyn | LinuxSyn | WindowsSyn | UdpProbe | IcmpEchoRequest | Ipv6Syn | Ipv6EchoRequest => {
                (Scan, None, None)
            }
            SynAck | RstAck | IcmpPortUnreachable | IcmpHostUnreachable | DnsResponse => (Backscatter, None, None),
            OddTcpFlags => (Other, None, Some(S::AbnormalTcpFlags)),
            HighTtlSyn => (Scan, None, Some(S::HighTtl)),
            SourceOctetSyn => (Scan, None, Some(S::SourceLastOctet)),
            PortZero => (Scan, None, Some(S::PortZero)),
            UdpToPort80 => (Scan, None, Some(S::UdpToPort80)),
            Fragment => (Other, None, Some(S::Fragment)),
            LandSyn => (Scan, None, Some(S::SameSourceAndDestination)),
            TruncatedIpHeader | BadIpHeaderLength | TruncatedTcpHeader | BadTcpDataOffset | BadUdpLength => {
                return None;
            }
        };
        Some(Expected { class, tool, spoof })
    }

    /// Whether the source address is drawn from the source pool (all but
    /// LAND packets, whose source is their darknet destination).
    pub fn source_from_pool(self) -> bool {
        self != TrafficKind::LandSyn
    }

    /// Whether sources of this kind are a fixed, heavy-tailed set (scanners,
    /// victims, routers) rather than a fresh address per packet (spoofed
    /// and malformed packets).
    pub(crate) fn has_persistent_sources(self) -> bool {
        use TrafficKind::*;
        !matches!(
            self,
            OddTcpFlags
                | HighTtlSyn
                | SourceOctetSyn
                | PortZero
                | UdpToPort80
                | Fragment
                | LandSyn
                | TruncatedIpHeader
                | BadIpHeaderLength
                | TruncatedTcpHeader
                | BadTcpDataOffset
                | BadUdpLength
        )
    }

    pub(crate) fn index(self) -> usize {
        // ALL lists every variant once, in declaration order.
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_declaration_order_and_shares_sum_to_a_million() {
        for (i, kind) in TrafficKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i, "{kind:?}");
        }
        let total: u32 = TrafficKind::ALL.iter().map(|k| k.share_ppm()).sum();
        assert_eq!(total, 1_000_000);
        let malformed: u32 =
            TrafficKind::ALL.iter().filter(|k| k.expected_skip().is_some()).map(|k| k.share_ppm()).sum();
        assert_eq!(malformed, 1_000, "0.1% malformed");
    }
}
