//! Broken frames, each made to hit one of the decoder's skip reasons.
//!
//! Each starts as an ordinary packet from a fresh pool address to the
//! darknet and is then damaged in one place, as a faulty stack, a bad
//! middlebox or a cut-short capture would.

use rand::Rng;

use crate::context::{Cx, plain_ip_id};
use crate::error::GenerateError;
use crate::kind::TrafficKind;
use crate::wire::{self, ETHERNET_LEN, Ip, Ipv4, Tcp, flags};

const IPV4_LEN: usize = 20;
/// A SYN with a 20-byte options area, so a TCP header of 40 bytes.
const SYN_OPTIONS: [u8; 20] = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 1, 2, 3, 0, 0, 0, 0, 1, 3, 3, 7];

/// Write a malformed frame of `kind`.
pub(crate) fn build(kind: TrafficKind, cx: &mut Cx<'_>) -> Result<(), GenerateError> {
    let src = cx.fresh_v4()?;
    let dst = cx.dst_v4();
    let ip = Ipv4::new(src, dst, 64 - cx.rng.random_range(6..=22), plain_ip_id(cx.rng.random(), None));
    let tcp_at = ETHERNET_LEN + IPV4_LEN;
    if kind == TrafficKind::BadUdpLength {
        let mut payload = [0u8; 24];
        let len = cx.rng.random_range(4..=24);
        cx.rng.fill(&mut payload[..len]);
        let (src_port, dst_port) = (cx.port(1024, 65535), cx.port(1, 65535));
        wire::udp(cx.frame, &Ip::V4(ip), src_port, dst_port, &payload[..len]);
        let real = 8 + len as u16;
        // Shorter than its own header, or longer than the IP packet holds.
        let claimed =
            if cx.rng.random::<bool>() { cx.rng.random_range(0..8) } else { real + cx.rng.random_range(1..=64) };
        cx.frame.bytes_mut()[tcp_at + 4..tcp_at + 6].copy_from_slice(&claimed.to_be_bytes());
        return Ok(());
    }
    // Every other kind breaks a plain SYN (IP header 20 bytes, TCP 40).
    let seg = Tcp {
        src_port: cx.port(32768, 60999),
        dst_port: cx.pick(&[22, 23, 80, 443, 8080]),
        seq: cx.rng.random(),
        ack: 0,
        flags: flags::SYN,
        window: 64240,
        options: &SYN_OPTIONS,
    };
    wire::tcp(cx.frame, &Ip::V4(ip), &seg, &[]);
    match kind {
        TrafficKind::TruncatedIpHeader => cx.frame.truncate(ETHERNET_LEN + cx.rng.random_range(1..IPV4_LEN)),
        TrafficKind::BadIpHeaderLength => {
            cx.frame.bytes_mut()[ETHERNET_LEN] = 0x40 | cx.rng.random_range(0..5u8);
            wire::refresh_ipv4_checksum(cx.frame, IPV4_LEN);
        }
        TrafficKind::TruncatedTcpHeader => cx.frame.truncate(tcp_at + cx.rng.random_range(0..20)),
        _ => {
            // Below 5 words, or 15 words (60 bytes) in a 40-byte segment.
            let offset = cx.pick(&[0u8, 1, 2, 3, 4, 15]);
            cx.frame.bytes_mut()[tcp_at + 12] = offset << 4;
        }
    }
    Ok(())
}
