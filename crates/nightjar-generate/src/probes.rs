//! Scanners that are not TCP: UDP service probes and ICMP echo requests.

use rand::Rng;
use rand_pcg::Pcg64Mcg;

use crate::context::{Cx, plain_ip_id};
use crate::kind::TrafficKind;
use crate::payloads;
use crate::sources::Source;
use crate::wire::{self, Ip, Ipv4, Ipv6};

/// The services UDP scanners probe, weighted by how often darknets see them.
const UDP_PROBE_PORTS: [(u16, u32); 10] =
    [(53, 25), (123, 15), (161, 12), (1900, 12), (389, 8), (11211, 6), (3702, 6), (5683, 6), (19, 5), (17, 5)];

/// Windows ping's payload.
const WINDOWS_PING: &[u8; 32] = b"abcdefghijklmnopqrstuvwabcdefghi";

/// Set the fixed traits of a prober: a Linux host most of the time, else Windows.
pub(crate) fn persona(kind: TrafficKind, source: &mut Source, _rng: &mut Pcg64Mcg) {
    source.initial_ttl = if is_windows(source) && kind != TrafficKind::Ipv6EchoRequest { 128 } else { 64 };
}

fn is_windows(source: &Source) -> bool {
    source.flavor.is_multiple_of(4)
}

/// A UDP probe to an amplifier or exposed-service port.
pub(crate) fn udp_probe(source: &mut Source, cx: &mut Cx<'_>) {
    let dst = cx.dst_v4();
    let dst_port = cx.weighted(&UDP_PROBE_PORTS);
    let mut payload = [0u8; payloads::MAX_PROBE];
    let len = payloads::probe(dst_port, cx.rng, &mut payload);
    let ip = Ipv4::new(source.v4(), dst, source.ttl(), plain_ip_id(cx.rng.random(), None));
    // Source ports stay clear of 53 (a DNS answer) and 0 (likely spoofed).
    let src_port = cx.port(32768, 60999);
    wire::udp(cx.frame, &Ip::V4(ip), src_port, dst_port, &payload[..len]);
}

/// An ICMP echo request as Linux or Windows `ping` sends it.
pub(crate) fn echo_request(source: &mut Source, cx: &mut Cx<'_>) {
    let dst = cx.dst_v4();
    let seq = source.next_counter();
    let mut data = [0u8; 56];
    let (ident, id, len) = if is_windows(source) {
        data[..32].copy_from_slice(WINDOWS_PING);
        (1, plain_ip_id(seq, None), 32)
    } else {
        linux_ping_data(&mut data, cx.now_us);
        (source.ident, plain_ip_id(cx.rng.random(), None), 56)
    };
    let mut ip = Ipv4::new(source.v4(), dst, source.ttl(), id);
    ip.dont_fragment = !is_windows(source);
    let rest = echo_rest(ident, seq);
    wire::icmp(cx.frame, &Ip::V4(ip), 8, 0, rest, &data[..len]);
}

/// An ICMPv6 echo request from Linux `ping`.
pub(crate) fn ipv6_echo_request(source: &mut Source, cx: &mut Cx<'_>) {
    let ip = Ipv6 { src: source.addr, dst: cx.dst_v6(), hop_limit: source.ttl(), flow_label: cx.rng.random() };
    let mut data = [0u8; 56];
    linux_ping_data(&mut data, cx.now_us);
    let rest = echo_rest(source.ident, source.next_counter());
    wire::icmp(cx.frame, &Ip::V6(ip), 128, 0, rest, &data);
}

fn echo_rest(ident: u16, seq: u16) -> [u8; 4] {
    let (i, s) = (ident.to_be_bytes(), seq.to_be_bytes());
    [i[0], i[1], s[0], s[1]]
}

/// iputils `ping` data: a `struct timeval` (little-endian on x86-64), then
/// the bytes 0x10, 0x11, … that fill the rest.
fn linux_ping_data(data: &mut [u8; 56], now_us: i64) {
    for (i, byte) in data.iter_mut().enumerate() {
        *byte = i as u8;
    }
    data[..8].copy_from_slice(&(now_us / 1_000_000).to_le_bytes());
    data[8..16].copy_from_slice(&(now_us % 1_000_000).to_le_bytes());
}
