//! Scanners: TCP SYNs from tools and operating systems, over IPv4 and IPv6.
//!
//! Field values follow the tools' sources: Mirai's `scanner.c` (TTL 64,
//! seq = destination, no options, 23/2323), Masscan's `templ-pkt.c`
//! (TTL 255, window 1024, MSS 1460, IP id formula), ZMap's `packet.c`
//! (IP id 54321, TTL 255, window 65535), and the SYN option layouts of
//! Linux and Windows stacks.

use rand::Rng;
use rand_pcg::Pcg64Mcg;

use crate::context::{Cx, masscan_ip_id, plain_ip_id, plain_seq, weighted};
use crate::kind::TrafficKind;
use crate::sources::Source;
use crate::wire::{self, Ip, Ipv4, Ipv6, Tcp, flags};

/// MSS 1460, the only option Masscan (1.3+), ZMap (later versions) and nmap send.
pub(crate) const MSS_1460: [u8; 4] = [2, 4, 0x05, 0xb4];
/// Windows 10/11: MSS 1460, NOP, window scale 8, NOP, NOP, SACK permitted.
const WINDOWS_OPTIONS: [u8; 12] = [2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2];

/// Ports Mirai descendants probe besides telnet.
const MIRAI_OTHER_PORTS: [u16; 10] = [22, 80, 81, 5555, 7547, 8080, 8081, 37215, 52869, 60001];
/// Ports mass scanners sweep most.
const MASS_SCAN_PORTS: [u16; 25] = [
    80, 443, 22, 3389, 8080, 445, 21, 25, 3306, 1433, 5900, 6379, 9200, 27017, 8443, 8888, 5432, 11211, 2375, 9000,
    8000, 111, 135, 139, 23,
];
/// One port per ZMap run, weighted by how often research and attack scans pick it.
const ZMAP_PORTS: [(u16, u32); 13] = [
    (80, 25),
    (443, 20),
    (22, 10),
    (7547, 8),
    (8080, 8),
    (21, 5),
    (3389, 5),
    (445, 5),
    (25, 4),
    (8443, 4),
    (23, 3),
    (502, 2),
    (102, 1),
];
/// nmap's most common ports (from its services frequency list).
const NMAP_TOP_PORTS: [u16; 40] = [
    80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723, 111, 995, 993, 5900, 1025, 587, 8888,
    199, 1720, 465, 548, 113, 81, 6001, 10000, 514, 5060, 179, 1026, 2000, 8443, 8000, 32768, 554,
];
/// What scripted scanners on Linux hosts look for.
const LINUX_SCAN_PORTS: [(u16, u32); 17] = [
    (22, 20),
    (80, 15),
    (443, 10),
    (8080, 8),
    (3389, 6),
    (5555, 5),
    (6379, 5),
    (2375, 4),
    (9200, 4),
    (8000, 4),
    (8888, 4),
    (25, 3),
    (445, 3),
    (5900, 3),
    (1433, 2),
    (3306, 2),
    (27017, 2),
];
/// What infected Windows hosts look for.
const WINDOWS_SCAN_PORTS: [(u16, u32); 8] =
    [(445, 40), (3389, 20), (139, 10), (1433, 10), (135, 8), (80, 6), (5985, 3), (443, 3)];

/// Set the fixed traits of a TCP scanner.
pub(crate) fn persona(kind: TrafficKind, source: &mut Source, rng: &mut Pcg64Mcg) {
    match kind {
        // Mirai draws its source port and window once per bot.
        TrafficKind::MiraiSyn => source.initial_ttl = 64,
        TrafficKind::MasscanSyn => {
            source.initial_ttl = 255;
            source.window = 1024;
            source.port = rng.random_range(32768..=61000);
        }
        TrafficKind::ZmapSyn => {
            source.initial_ttl = 255;
            source.window = 65535;
            source.port = weighted(rng, &ZMAP_PORTS);
        }
        TrafficKind::NmapSyn => source.initial_ttl = rng.random_range(37..=59),
        TrafficKind::WindowsSyn => {
            source.initial_ttl = 128;
            // Windows 7 and older start at 8192.
            source.window = if source.flavor.is_multiple_of(4) { 8192 } else { 64240 };
        }
        _ => {
            source.initial_ttl = 64;
            source.window = 64240;
        }
    }
}

/// Linux SYN options: MSS, SACK permitted, timestamps, NOP, window scale 7.
fn linux_options(mss: u16, tsval: u32) -> [u8; 20] {
    let mss = mss.to_be_bytes();
    let ts = tsval.to_be_bytes();
    [2, 4, mss[0], mss[1], 4, 2, 8, 10, ts[0], ts[1], ts[2], ts[3], 0, 0, 0, 0, 1, 3, 3, 7]
}

/// A Linux TCP timestamp: a millisecond clock with a per-host offset.
fn linux_tsval(source: &Source, now_us: i64) -> u32 {
    ((now_us / 1000) as u32).wrapping_add(source.clock)
}

/// An IPv4 TCP SYN from one of the scanning tools or stacks.
pub(crate) fn tcp_syn(kind: TrafficKind, source: &mut Source, cx: &mut Cx<'_>) {
    let dst = cx.dst_v4();
    let dst_u32 = u32::from_be_bytes(dst);
    let mut ip = Ipv4::new(source.v4(), dst, source.ttl(), 0);
    let mut options_buf = [0u8; 20];
    let mut seg = Tcp {
        src_port: source.port,
        dst_port: 0,
        seq: 0,
        ack: 0,
        flags: flags::SYN,
        window: source.window,
        options: &[],
    };
    let options_len;
    match kind {
        TrafficKind::MiraiSyn => {
            seg.dst_port = match cx.rng.random_range(0..100) {
                0..80 => 23,
                80..89 => 2323,
                _ => cx.pick(&MIRAI_OTHER_PORTS),
            };
            seg.seq = dst_u32;
            ip.id = cx.rng.random();
            options_len = 0;
        }
        TrafficKind::MasscanSyn => {
            seg.dst_port = if cx.percent(80) { cx.pick(&MASS_SCAN_PORTS) } else { cx.port(1, 65535) };
            seg.seq = plain_seq(cx.rng.random(), dst);
            ip.id = masscan_ip_id(dst, seg.dst_port, seg.seq);
            // Masscan 1.3 and later add MSS 1460; 1.0 sent no options.
            options_len = if source.flavor % 10 < 7 { 4 } else { 0 };
            options_buf[..4].copy_from_slice(&MSS_1460);
        }
        TrafficKind::ZmapSyn => {
            seg.src_port = cx.port(32768, 61000);
            seg.dst_port = source.port;
            seg.seq = plain_seq(cx.rng.random(), dst);
            // Masscan's rule is tested first: keep its formula off 54321.
            if masscan_ip_id(dst, seg.dst_port, seg.seq) == nightjar_packet::ZMAP_IP_ID {
                seg.seq ^= 1;
            }
            ip.id = nightjar_packet::ZMAP_IP_ID;
            options_len = if source.flavor.is_multiple_of(2) { 4 } else { 0 };
            options_buf[..4].copy_from_slice(&MSS_1460);
        }
        TrafficKind::NmapSyn => {
            seg.dst_port = if cx.percent(85) { cx.pick(&NMAP_TOP_PORTS) } else { cx.port(1, 65535) };
            seg.window = cx.pick(&[1024, 2048, 3072, 4096]);
            seg.seq = plain_seq(cx.rng.random(), dst);
            ip.id = plain_ip_id(cx.rng.random(), Some(masscan_ip_id(dst, seg.dst_port, seg.seq)));
            options_len = 4;
            options_buf[..4].copy_from_slice(&MSS_1460);
        }
        TrafficKind::WindowsSyn => {
            seg.src_port = cx.port(49152, 65535);
            seg.dst_port = cx.weighted(&WINDOWS_SCAN_PORTS);
            seg.seq = plain_seq(cx.rng.random(), dst);
            ip.id = plain_ip_id(source.next_counter(), Some(masscan_ip_id(dst, seg.dst_port, seg.seq)));
            ip.dont_fragment = true;
            options_len = WINDOWS_OPTIONS.len();
            options_buf[..options_len].copy_from_slice(&WINDOWS_OPTIONS);
        }
        _ => {
            seg.src_port = cx.port(32768, 60999);
            seg.dst_port = if cx.percent(85) { cx.weighted(&LINUX_SCAN_PORTS) } else { cx.port(1, 65535) };
            seg.seq = plain_seq(cx.rng.random(), dst);
            ip.id = plain_ip_id(cx.rng.random(), Some(masscan_ip_id(dst, seg.dst_port, seg.seq)));
            ip.dont_fragment = true;
            options_buf = linux_options(1460, linux_tsval(source, cx.now_us));
            options_len = 20;
        }
    }
    seg.options = &options_buf[..options_len];
    wire::tcp(cx.frame, &Ip::V4(ip), &seg, &[]);
}

/// An IPv6 TCP SYN from a Linux stack.
pub(crate) fn ipv6_syn(source: &mut Source, cx: &mut Cx<'_>) {
    let ip = Ipv6 { src: source.addr, dst: cx.dst_v6(), hop_limit: source.ttl(), flow_label: cx.rng.random() };
    let options = linux_options(1440, linux_tsval(source, cx.now_us));
    let dst_port = if cx.percent(85) { cx.weighted(&LINUX_SCAN_PORTS) } else { cx.port(1, 65535) };
    let seg = Tcp {
        src_port: cx.port(32768, 60999),
        dst_port,
        seq: cx.rng.random(),
        ack: 0,
        flags: flags::SYN,
        window: 64800,
        options: &options,
    };
    wire::tcp(cx.frame, &Ip::V6(ip), &seg, &[]);
}
