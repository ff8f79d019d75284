//! Classification rules of DESIGN.md on hand-built packets.

use nightjar_packet::{LinkType, SpoofSign, Tool, TrafficClass, classify, decode, tcp_flags::*};

const SCANNER: [u8; 4] = [198, 51, 100, 7];
const DARK: [u8; 4] = [192, 0, 2, 10];

fn ipv4(src: [u8; 4], dst: [u8; 4], protocol: u8, ttl: u8, ip_id: u16, frag: u16, upper: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&((20 + upper.len()) as u16).to_be_bytes());
    p.extend_from_slice(&ip_id.to_be_bytes());
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[ttl, protocol, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(upper);
    p
}

fn tcp(sport: u16, dport: u16, seq: u32, flags: u8) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0x04, 0x00, 0, 0, 0, 0]);
    t
}

fn udp(sport: u16, dport: u16) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&[0, 8, 0, 0]);
    u
}

fn syn(ip_id: u16, ttl: u8, seq: u32, dport: u16) -> Vec<u8> {
    ipv4(SCANNER, DARK, 6, ttl, ip_id, 0, &tcp(40000, dport, seq, SYN))
}

fn class_of(frame: &[u8]) -> nightjar_packet::Classification {
    classify(&decode(LinkType::Raw, frame).expect("test frames are well formed"))
}

#[test]
fn syn_is_a_scan_and_syn_ack_or_rst_is_backscatter() {
    assert_eq!(class_of(&syn(1, 64, 5, 22)).class, TrafficClass::Scan);
    for flags in [SYN | ACK, RST, RST | ACK] {
        let f = ipv4(SCANNER, DARK, 6, 50, 1, 0, &tcp(80, 40000, 5, flags));
        let c = class_of(&f);
        assert_eq!(c.class, TrafficClass::Backscatter, "flags {flags:#x}");
        assert_eq!(c.spoof, None, "flags {flags:#x} are what a real stack sends");
    }
    assert_eq!(class_of(&ipv4(SCANNER, DARK, 6, 50, 1, 0, &tcp(80, 40000, 5, ACK))).class, TrafficClass::Other);
}

#[test]
fn udp_from_port_53_is_backscatter_other_udp_a_probe() {
    assert_eq!(class_of(&ipv4(SCANNER, DARK, 17, 50, 1, 0, &udp(53, 40000))).class, TrafficClass::Backscatter);
    assert_eq!(class_of(&ipv4(SCANNER, DARK, 17, 50, 1, 0, &udp(40000, 123))).class, TrafficClass::Scan);
}

#[test]
fn icmp_replies_and_errors_are_backscatter_requests_are_scans() {
    for (icmp_type, expected) in [
        (0u8, TrafficClass::Backscatter),
        (3, TrafficClass::Backscatter),
        (11, TrafficClass::Backscatter),
        (8, TrafficClass::Scan),
        (13, TrafficClass::Scan),
        (9, TrafficClass::Other),
    ] {
        let f = ipv4(SCANNER, DARK, 1, 50, 1, 0, &[icmp_type, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(class_of(&f).class, expected, "ICMP type {icmp_type}");
    }
}

#[test]
fn port_unreachable_quotes_the_spoofed_probe() {
    let probe = ipv4(DARK, [203, 0, 113, 5], 17, 64, 9, 0, &udp(5353, 161));
    let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&probe[..28]);
    let frame = ipv4([203, 0, 113, 5], DARK, 1, 64, 2, 0, &icmp);
    let packet = decode(LinkType::Raw, &frame).unwrap();
    let quoted = packet.icmp().and_then(|i| i.quoted).expect("the error quotes a packet");
    assert_eq!((quoted.protocol, quoted.src_port, quoted.dst_port), (17, Some(5353), Some(161)));
    assert_eq!(quoted.src, nightjar_packet::map_v4(DARK));
    assert_eq!(classify(&packet).class, TrafficClass::Backscatter);
}

#[test]
fn tool_fingerprints() {
    let dst = u32::from_be_bytes(DARK);
    assert_eq!(class_of(&syn(77, 64, dst, 23)).tool, Some(Tool::Mirai));
    let seq = 0xdead_beef;
    let masscan_id = (dst ^ 443 ^ seq) as u16;
    let masscan = class_of(&syn(masscan_id, 255, seq, 443));
    assert_eq!(masscan.tool, Some(Tool::Masscan));
    assert_eq!(masscan.spoof, None, "Masscan's TTL 255 is not a spoofing sign");
    // ZMap's template has window 65535 where this helper's has Masscan's 1024.
    let mut zmap_syn = syn(54321, 255, 99, 80);
    zmap_syn[34..36].copy_from_slice(&u16::MAX.to_be_bytes());
    let zmap = class_of(&zmap_syn);
    assert_eq!(zmap.tool, Some(Tool::Zmap));
    assert_eq!(class_of(&syn(54321, 255, 99, 80)).tool, None, "IP id 54321 on a window-1024 SYN is not ZMap");
    assert_eq!(zmap.spoof, None, "ZMap's TTL 255 is not a spoofing sign");
    assert_eq!(class_of(&syn(1234, 64, 99, 80)).tool, None);
    // A SYN-ACK whose sequence equals the destination is not Mirai.
    let synack = ipv4(SCANNER, DARK, 6, 64, 1, 0, &tcp(23, 40000, dst, SYN | ACK));
    assert_eq!(class_of(&synack).tool, None);
}

#[test]
fn spoofing_signs() {
    let sign = |frame: &[u8]| class_of(frame).spoof;
    assert_eq!(sign(&ipv4(SCANNER, DARK, 6, 64, 1, 0, &tcp(1, 2, 3, 0))), Some(SpoofSign::AbnormalTcpFlags));
    assert_eq!(sign(&ipv4(SCANNER, DARK, 6, 64, 1, 0, &tcp(1, 2, 3, SYN | RST))), Some(SpoofSign::AbnormalTcpFlags));
    assert_eq!(sign(&syn(1, 230, 5, 22)), Some(SpoofSign::HighTtl));
    assert_eq!(sign(&ipv4(SCANNER, DARK, 1, 250, 1, 0, &[8, 0, 0, 0, 0, 0, 0, 0])), None, "ICMP is exempt from TTL");
    assert_eq!(sign(&ipv4(SCANNER, DARK, 17, 64, 1, 0x0010, &udp(1, 2))), Some(SpoofSign::Fragment));
    assert_eq!(
        sign(&ipv4([198, 51, 100, 255], DARK, 6, 64, 1, 0, &tcp(1, 2, 3, SYN))),
        Some(SpoofSign::SourceLastOctet)
    );
    assert_eq!(sign(&ipv4(DARK, DARK, 6, 64, 1, 0, &tcp(1, 2, 3, SYN))), Some(SpoofSign::SameSourceAndDestination));
    assert_eq!(sign(&ipv4(SCANNER, DARK, 6, 64, 1, 0, &tcp(0, 2, 3, SYN))), Some(SpoofSign::PortZero));
    assert_eq!(sign(&ipv4(SCANNER, DARK, 17, 64, 1, 0, &udp(5000, 80))), Some(SpoofSign::UdpToPort80));
    assert_eq!(sign(&syn(1, 64, 5, 22)), None);
}

#[test]
fn later_fragments_have_no_ports_and_are_other() {
    let frame = ipv4(SCANNER, DARK, 17, 64, 1, 0x0003, &[1, 2, 3, 4, 5, 6, 7, 8]);
    let packet = decode(LinkType::Raw, &frame).unwrap();
    assert_eq!(packet.src_port(), None);
    assert_eq!(packet.fragment_offset, 24);
    assert_eq!(packet.payload_len, 8);
    assert_eq!(classify(&packet).class, TrafficClass::Other);
}

/// Regression: the first fragment of a UDP datagram carries the whole
/// datagram's UDP length, longer than the fragment; it was skipped as
/// `bad_udp_length` instead of decoded (found against tshark on scapy fragments).
#[test]
fn first_fragment_of_a_udp_datagram_keeps_its_ports() {
    let mut udp = vec![0xa0, 0x8c, 0x13, 0xc4, 0x0b, 0xc0, 0, 0]; // 41100 -> 5060, length 3008
    udp.extend_from_slice(&[0u8; 992]);
    let first = ipv4(SCANNER, DARK, 17, 64, 0x4e4a, 0x2000, &udp); // MF set, offset 0
    let packet = decode(LinkType::Raw, &first).expect("a first fragment decodes");
    assert_eq!((packet.src_port(), packet.dst_port()), (Some(41100), Some(5060)));
    assert_eq!(packet.payload_len, 3000, "the datagram's payload, from its UDP header");
    assert_eq!(packet.payload.len(), 992, "the bytes this fragment carries");
    assert!(packet.more_fragments);
    assert_eq!(classify(&packet).class, TrafficClass::Scan);
    // Without MF the same length is a lie and the frame is skipped.
    let unfragmented = ipv4(SCANNER, DARK, 17, 64, 0x4e4a, 0, &udp);
    assert_eq!(decode(LinkType::Raw, &unfragmented).unwrap_err(), nightjar_packet::SkipReason::BadUdpLength);
}
