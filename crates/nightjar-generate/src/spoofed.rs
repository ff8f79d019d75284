//! Packets whose source is likely forged, one per spoofing rule of the
//! classifier (corsaro's rules as written down in DESIGN.md). Their sources
//! are fresh pool addresses, not persistent senders: a forger picks a new
//! address for every packet.

use rand::Rng;

use crate::context::{Cx, masscan_ip_id, plain_ip_id, plain_seq};
use crate::error::GenerateError;
use crate::kind::TrafficKind;
use crate::wire::{self, Ip, Ipv4, Tcp, flags, proto};

/// Ports forged SYNs and LAND packets aim at.
const TARGET_PORTS: [u16; 6] = [80, 443, 22, 139, 445, 23];

/// A TTL as it arrives from an ordinary stack some hops away.
fn ordinary_ttl(cx: &mut Cx<'_>) -> u8 {
    let initial = if cx.rng.random::<bool>() { 64 } else { 128 };
    initial - cx.rng.random_range(6..=22)
}

/// Write a packet of a spoofed kind. Returns the kind written: when the
/// pool or darknet cannot give what a kind needs (a `.0` source inside a
/// pool network; a darknet address not ending in .0/.255 for LAND), a
/// high-TTL SYN is written instead.
pub(crate) fn build(kind: TrafficKind, cx: &mut Cx<'_>) -> Result<TrafficKind, GenerateError> {
    let dst = cx.dst_v4();
    let ttl = ordinary_ttl(cx);
    let mut seg = Tcp {
        src_port: cx.port(1024, 65535),
        dst_port: cx.pick(&TARGET_PORTS),
        seq: 0,
        ack: 0,
        flags: flags::SYN,
        window: cx.rng.random_range(512..=65535),
        options: &[],
    };
    seg.seq = plain_seq(cx.rng.random(), dst);
    let (src, ttl, built) = match kind {
        TrafficKind::OddTcpFlags => {
            // NULL and Xmas scans: no flags, or FIN+PSH+URG.
            seg.flags = if cx.rng.random::<bool>() { 0 } else { flags::FIN | flags::PSH | flags::URG };
            (cx.fresh_v4()?, ttl, kind)
        }
        TrafficKind::SourceOctetSyn => match cx.pool.pick_v4_edge(cx.rng, cx.dark) {
            Some(src) => (src, ttl, kind),
            None => (cx.fresh_v4()?, cx.rng.random_range(200..=250), TrafficKind::HighTtlSyn),
        },
        TrafficKind::PortZero => {
            if cx.percent(70) {
                seg.dst_port = 0
            } else {
                seg.src_port = 0
            }
            (cx.fresh_v4()?, ttl, kind)
        }
        TrafficKind::UdpToPort80 => {
            let src = cx.fresh_v4()?;
            let mut payload = [0u8; 64];
            let len = cx.rng.random_range(16..=64);
            cx.rng.fill(&mut payload[..len]);
            let ip = Ipv4::new(src, dst, ttl, plain_ip_id(cx.rng.random(), None));
            let src_port = cx.port(1024, 65535);
            wire::udp(cx.frame, &Ip::V4(ip), src_port, 80, &payload[..len]);
            return Ok(kind);
        }
        TrafficKind::Fragment => {
            let src = cx.fresh_v4()?;
            let mut ip = Ipv4::new(src, dst, ttl, plain_ip_id(cx.rng.random(), None));
            // A later fragment of a large UDP datagram (a fragmentation flood).
            ip.fragment_units = cx.rng.random_range(1..=1000);
            ip.more_fragments = cx.rng.random::<bool>();
            let mut payload = [0u8; 512];
            let len = 8 * cx.rng.random_range(1..=64u32) as usize;
            payload[..len].fill(cx.rng.random());
            wire::raw(cx.frame, &Ip::V4(ip), proto::UDP, &payload[..len]);
            return Ok(kind);
        }
        TrafficKind::LandSyn => {
            // Redraw a destination that does not end in .0/.255 (that rule is tested first).
            let mut land = None;
            for _ in 0..8 {
                let candidate = cx.dst_v4();
                if !matches!(candidate[3], 0 | 255) {
                    land = Some(candidate);
                    break;
                }
            }
            match land {
                Some(addr) => {
                    seg.seq = plain_seq(seg.seq, addr);
                    let ip = Ipv4::new(addr, addr, ttl, plain_ip_id(cx.rng.random(), None));
                    wire::tcp(cx.frame, &Ip::V4(ip), &seg, &[]);
                    return Ok(kind);
                }
                None => (cx.fresh_v4()?, cx.rng.random_range(200..=250), TrafficKind::HighTtlSyn),
            }
        }
        _ => (cx.fresh_v4()?, cx.rng.random_range(200..=250), TrafficKind::HighTtlSyn),
    };
    // A SYN-only segment must not match Masscan's formula (Masscan is exempt from the TTL rule).
    let syn_only = seg.flags == flags::SYN;
    let masscan = syn_only.then(|| masscan_ip_id(dst, seg.dst_port, seg.seq));
    let ip = Ipv4::new(src, dst, ttl, plain_ip_id(cx.rng.random(), masscan));
    wire::tcp(cx.frame, &Ip::V4(ip), &seg, &[]);
    Ok(built)
}
