//! Backscatter: replies from victims of attacks whose spoofed sources fell
//! in the darknet. The source is the victim (or a router near it); the
//! destination is the darknet address the attacker forged.

use rand::Rng;
use rand_pcg::Pcg64Mcg;

use crate::context::{Cx, plain_ip_id, weighted};
use crate::error::GenerateError;
use crate::kind::TrafficKind;
use crate::payloads;
use crate::scans::MSS_1460;
use crate::sources::Source;
use crate::wire::{self, Ip, Ipv4, Tcp, flags, proto};

/// Services SYN floods hit, weighted.
const FLOODED_SERVICES: [(u16, u32); 9] =
    [(80, 45), (443, 30), (22, 5), (8080, 4), (25, 3), (3389, 3), (21, 3), (53, 4), (3306, 3)];

/// Linux answers with TOS 0xc0 (internetwork control) on ICMP errors.
const ICMP_ERROR_TOS: u8 = 0xc0;

/// Set the fixed traits of a victim or router.
pub(crate) fn persona(kind: TrafficKind, source: &mut Source, rng: &mut Pcg64Mcg) {
    let windows = source.flavor.is_multiple_of(5);
    source.initial_ttl = if windows { 128 } else { 64 };
    match kind {
        TrafficKind::SynAck => {
            source.port = weighted(rng, &FLOODED_SERVICES);
            source.window = if windows { 8192 } else { 64240 };
        }
        // Cisco and Juniper routers start at 255; ICMP is exempt from the high-TTL rule.
        TrafficKind::IcmpHostUnreachable => source.initial_ttl = 255,
        TrafficKind::DnsResponse => source.ident = rng.random_range(0..5),
        _ => {}
    }
}

fn is_windows(source: &Source) -> bool {
    source.initial_ttl == 128
}

/// The victim's IP header: Linux sends replies with DF and IP id 0,
/// Windows with an incrementing id.
fn victim_ip(source: &mut Source, dst: [u8; 4]) -> Ipv4 {
    let mut ip = Ipv4::new(source.v4(), dst, source.ttl(), 0);
    if is_windows(source) {
        ip.id = plain_ip_id(source.next_counter(), None);
    } else {
        ip.dont_fragment = true;
    }
    ip
}

/// SYN-ACK from an open port to the forged source port.
pub(crate) fn syn_ack(source: &mut Source, cx: &mut Cx<'_>) {
    let dst = cx.dst_v4();
    let ip = victim_ip(source, dst);
    let seg = Tcp {
        src_port: source.port,
        dst_port: cx.port(1024, 65535),
        seq: cx.rng.random(),
        ack: cx.rng.random(),
        flags: flags::SYN | flags::ACK,
        window: source.window,
        // Flood SYNs carry no options; a stack then offers only its MSS.
        options: &MSS_1460,
    };
    wire::tcp(cx.frame, &Ip::V4(ip), &seg, &[]);
}

/// RST-ACK from a closed port: the flood hit one port (half the victims) or random ones.
pub(crate) fn rst_ack(source: &mut Source, cx: &mut Cx<'_>) {
    let dst = cx.dst_v4();
    let ip = victim_ip(source, dst);
    let src_port = if source.flavor.is_multiple_of(2) { source.port } else { cx.port(1, 65535) };
    let seg = Tcp {
        src_port,
        dst_port: cx.port(1024, 65535),
        seq: 0,
        ack: cx.rng.random(),
        flags: flags::RST | flags::ACK,
        window: 0,
        options: &[],
    };
    wire::tcp(cx.frame, &Ip::V4(ip), &seg, &[]);
}

/// ICMP port unreachable for a UDP flood packet forged from the darknet.
/// Linux quotes as much of it as fits in 576 bytes; Windows the header and 8 bytes.
pub(crate) fn port_unreachable(source: &mut Source, cx: &mut Cx<'_>) {
    let dark = cx.dst_v4();
    let flood_payload: u16 = cx.rng.random_range(0..=1400);
    let inner = Ipv4::new(dark, source.v4(), cx.rng.random_range(30..=120), cx.rng.random());
    let mut l4 = [0u8; 8 + 520];
    l4[0..2].copy_from_slice(&cx.port(1024, 65535).to_be_bytes());
    l4[2..4].copy_from_slice(&cx.port(1, 65535).to_be_bytes());
    l4[4..6].copy_from_slice(&(8 + flood_payload).to_be_bytes());
    l4[6..8].copy_from_slice(&cx.rng.random::<u16>().to_be_bytes());
    let quoted_payload = if is_windows(source) { 0 } else { usize::from(flood_payload).min(520) };
    let fill = cx.rng.random::<u8>();
    l4[8..8 + quoted_payload].fill(fill);
    let mut quote = [0u8; 20 + 8 + 520];
    let quote_len = wire::quote_ipv4(&mut quote, &inner, proto::UDP, 28 + flood_payload, &l4[..8 + quoted_payload]);
    let mut ip = Ipv4::new(source.v4(), dark, source.ttl(), plain_ip_id(cx.rng.random(), None));
    ip.tos = ICMP_ERROR_TOS;
    wire::icmp(cx.frame, &Ip::V4(ip), 3, 3, [0; 4], &quote[..quote_len]);
}

/// A router's unreachable for a SYN forged from the darknet toward a host
/// behind it: host unreachable, administratively prohibited or network unreachable.
pub(crate) fn host_unreachable(source: &mut Source, cx: &mut Cx<'_>) -> Result<(), GenerateError> {
    let dark = cx.dst_v4();
    let victim = cx.fresh_v4()?;
    let code = cx.weighted(&[(1u8, 60), (13, 25), (0, 10), (10, 5)]);
    let inner = Ipv4::new(dark, victim, cx.rng.random_range(30..=120), cx.rng.random());
    let mut l4 = [0u8; 8];
    l4[0..2].copy_from_slice(&cx.port(1024, 65535).to_be_bytes());
    l4[2..4].copy_from_slice(&cx.weighted(&FLOODED_SERVICES).to_be_bytes());
    l4[4..8].copy_from_slice(&cx.rng.random::<u32>().to_be_bytes());
    let mut quote = [0u8; 28];
    let quote_len = wire::quote_ipv4(&mut quote, &inner, proto::TCP, 40, &l4);
    let mut ip = Ipv4::new(source.v4(), dark, source.ttl(), plain_ip_id(cx.rng.random(), None));
    ip.tos = ICMP_ERROR_TOS;
    wire::icmp(cx.frame, &Ip::V4(ip), 3, code, [0; 4], &quote[..quote_len]);
    Ok(())
}

/// A resolver's answer to a query forged from the darknet (DNS reflection).
pub(crate) fn dns_answer(source: &mut Source, cx: &mut Cx<'_>) {
    let dst = cx.dst_v4();
    let mut answer = [0u8; payloads::MAX_DNS_ANSWER];
    let len = payloads::dns_answer(usize::from(source.ident), cx.rng, &mut answer);
    let mut ip = Ipv4::new(source.v4(), dst, source.ttl(), plain_ip_id(cx.rng.random(), None));
    ip.dont_fragment = !is_windows(source);
    let dst_port = cx.port(1024, 65535);
    wire::udp(cx.frame, &Ip::V4(ip), 53, dst_port, &answer[..len]);
}
