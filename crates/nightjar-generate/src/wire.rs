//! Building frames byte by byte: Ethernet II, IPv4, IPv6, TCP, UDP, ICMP and
//! ICMPv6, with every length and checksum filled in.
//!
//! A frame is built in place in one fixed buffer that lives as long as the
//! generator, so no packet allocates. Layout: Ethernet header (14 bytes),
//! the IP header, the transport header and payload, then zero padding up to
//! the 60-byte Ethernet minimum, as a sensor's NIC captures it (no FCS).

/// Room for the largest frame the generator builds (a full Ethernet MTU).
pub(crate) const FRAME_CAPACITY: usize = 1514;
/// Ethernet pads shorter frames to this length on the wire.
pub(crate) const ETHERNET_MIN_FRAME: usize = 60;
/// Length of an Ethernet II header.
pub(crate) const ETHERNET_LEN: usize = 14;
const IPV4_LEN: usize = 20;
const IPV6_LEN: usize = 40;

/// The sensor's NIC and the upstream router: locally administered addresses.
const SENSOR_MAC: [u8; 6] = [0x02, 0x4e, 0x4a, 0x00, 0x00, 0x01];
const ROUTER_MAC: [u8; 6] = [0x02, 0x4e, 0x4a, 0x00, 0x00, 0xfe];

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;

/// IP protocol numbers.
pub(crate) mod proto {
    pub(crate) const ICMP: u8 = 1;
    pub(crate) const TCP: u8 = 6;
    pub(crate) const UDP: u8 = 17;
    pub(crate) const ICMPV6: u8 = 58;
}

/// TCP flag bits.
pub(crate) mod flags {
    pub(crate) const FIN: u8 = 0x01;
    pub(crate) const SYN: u8 = 0x02;
    pub(crate) const RST: u8 = 0x04;
    pub(crate) const PSH: u8 = 0x08;
    pub(crate) const ACK: u8 = 0x10;
    pub(crate) const URG: u8 = 0x20;
}

/// The frame being built.
pub(crate) struct Frame {
    buf: [u8; FRAME_CAPACITY],
    len: usize,
}

impl Frame {
    pub(crate) fn new() -> Frame {
        Frame { buf: [0; FRAME_CAPACITY], len: 0 }
    }

    /// The finished frame.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The finished frame, to break it on purpose.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }

    /// Cut the frame short, as a capture of a truncated packet.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

/// IPv4 header fields the generator varies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ipv4 {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub ttl: u8,
    pub id: u16,
    pub tos: u8,
    pub dont_fragment: bool,
    /// More fragments follow.
    pub more_fragments: bool,
    /// Fragment offset in 8-byte units; non-zero for a later fragment.
    pub fragment_units: u16,
}

impl Ipv4 {
    /// A header with the usual defaults: no TOS, no DF, not a fragment.
    pub(crate) fn new(src: [u8; 4], dst: [u8; 4], ttl: u8, id: u16) -> Ipv4 {
        Ipv4 { src, dst, ttl, id, tos: 0, dont_fragment: false, more_fragments: false, fragment_units: 0 }
    }
}

/// IPv6 header fields the generator varies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ipv6 {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub hop_limit: u8,
    pub flow_label: u32,
}

/// Either IP version.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ip {
    V4(Ipv4),
    V6(Ipv6),
}

/// TCP header fields; `options` must be a multiple of 4 bytes, at most 40.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tcp<'o> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub options: &'o [u8],
}

/// Write a TCP segment in IP in Ethernet.
pub(crate) fn tcp(frame: &mut Frame, ip: &Ip, tcp: &Tcp<'_>, payload: &[u8]) {
    let l4 = begin(frame, ip);
    let header_len = 20 + tcp.options.len();
    let b = &mut frame.buf[l4..];
    b[0..2].copy_from_slice(&tcp.src_port.to_be_bytes());
    b[2..4].copy_from_slice(&tcp.dst_port.to_be_bytes());
    b[4..8].copy_from_slice(&tcp.seq.to_be_bytes());
    b[8..12].copy_from_slice(&tcp.ack.to_be_bytes());
    b[12] = ((header_len / 4) as u8) << 4;
    b[13] = tcp.flags;
    b[14..16].copy_from_slice(&tcp.window.to_be_bytes());
    b[16..20].fill(0);
    b[20..header_len].copy_from_slice(tcp.options);
    b[header_len..header_len + payload.len()].copy_from_slice(payload);
    finish(frame, ip, proto::TCP, l4, header_len + payload.len(), Some(16));
}

/// Write a UDP datagram in IP in Ethernet.
pub(crate) fn udp(frame: &mut Frame, ip: &Ip, src_port: u16, dst_port: u16, payload: &[u8]) {
    let l4 = begin(frame, ip);
    let len = 8 + payload.len();
    let b = &mut frame.buf[l4..];
    b[0..2].copy_from_slice(&src_port.to_be_bytes());
    b[2..4].copy_from_slice(&dst_port.to_be_bytes());
    b[4..6].copy_from_slice(&(len as u16).to_be_bytes());
    b[6..8].fill(0);
    b[8..len].copy_from_slice(payload);
    finish(frame, ip, proto::UDP, l4, len, Some(6));
}

/// Write an ICMP (IPv4) or ICMPv6 (IPv6) message: type, code, the four
/// type-specific header bytes, then `data`.
pub(crate) fn icmp(frame: &mut Frame, ip: &Ip, icmp_type: u8, code: u8, rest: [u8; 4], data: &[u8]) {
    let l4 = begin(frame, ip);
    let len = 8 + data.len();
    let b = &mut frame.buf[l4..];
    b[0] = icmp_type;
    b[1] = code;
    b[2..4].fill(0);
    b[4..8].copy_from_slice(&rest);
    b[8..len].copy_from_slice(data);
    let protocol = if matches!(ip, Ip::V4(_)) { proto::ICMP } else { proto::ICMPV6 };
    finish(frame, ip, protocol, l4, len, Some(2));
}

/// Write an IP packet whose payload is opaque bytes (a later fragment).
pub(crate) fn raw(frame: &mut Frame, ip: &Ip, protocol: u8, payload: &[u8]) {
    let l4 = begin(frame, ip);
    frame.buf[l4..l4 + payload.len()].copy_from_slice(payload);
    finish(frame, ip, protocol, l4, payload.len(), None);
}

/// The IPv4 header of a packet as an ICMP error quotes it, followed by the
/// first `l4.len()` bytes of its transport layer. `total_len` is what the
/// quoted header declares (the original packet may have been longer than
/// the quote). Returns the quote's length.
pub(crate) fn quote_ipv4(out: &mut [u8], ip: &Ipv4, protocol: u8, total_len: u16, l4: &[u8]) -> usize {
    ipv4_header(&mut out[..IPV4_LEN], ip, protocol, total_len);
    out[IPV4_LEN..IPV4_LEN + l4.len()].copy_from_slice(l4);
    IPV4_LEN + l4.len()
}

fn begin(frame: &mut Frame, ip: &Ip) -> usize {
    let b = &mut frame.buf;
    b[0..6].copy_from_slice(&SENSOR_MAC);
    b[6..12].copy_from_slice(&ROUTER_MAC);
    let (ethertype, ip_len) = match ip {
        Ip::V4(_) => (ETHERTYPE_IPV4, IPV4_LEN),
        Ip::V6(_) => (ETHERTYPE_IPV6, IPV6_LEN),
    };
    b[12..14].copy_from_slice(&ethertype.to_be_bytes());
    ETHERNET_LEN + ip_len
}

/// Fill in the IP header and the transport checksum (at `checksum_at`
/// within the transport header), then pad to the Ethernet minimum.
fn finish(frame: &mut Frame, ip: &Ip, protocol: u8, l4: usize, l4_len: usize, checksum_at: Option<usize>) {
    let end = l4 + l4_len;
    match ip {
        Ip::V4(v4) => {
            let total = (IPV4_LEN + l4_len) as u16;
            ipv4_header(&mut frame.buf[ETHERNET_LEN..l4], v4, protocol, total);
            if let Some(at) = checksum_at {
                // ICMP for IPv4 has no pseudo-header.
                let pseudo = if protocol == proto::ICMP {
                    0
                } else {
                    sum(&v4.src) + sum(&v4.dst) + u32::from(protocol) + l4_len as u32
                };
                let checksum = checksum(pseudo + sum(&frame.buf[l4..end]), protocol == proto::UDP);
                frame.buf[l4 + at..l4 + at + 2].copy_from_slice(&checksum.to_be_bytes());
            }
        }
        Ip::V6(v6) => {
            let h = &mut frame.buf[ETHERNET_LEN..l4];
            h[0..4].copy_from_slice(&((6u32 << 28) | (v6.flow_label & 0x000f_ffff)).to_be_bytes());
            h[4..6].copy_from_slice(&(l4_len as u16).to_be_bytes());
            h[6] = protocol;
            h[7] = v6.hop_limit;
            h[8..24].copy_from_slice(&v6.src);
            h[24..40].copy_from_slice(&v6.dst);
            if let Some(at) = checksum_at {
                let pseudo = sum(&v6.src) + sum(&v6.dst) + u32::from(protocol) + l4_len as u32;
                let checksum = checksum(pseudo + sum(&frame.buf[l4..end]), protocol == proto::UDP);
                frame.buf[l4 + at..l4 + at + 2].copy_from_slice(&checksum.to_be_bytes());
            }
        }
    }
    let padded = end.max(ETHERNET_MIN_FRAME);
    frame.buf[end..padded].fill(0);
    frame.len = padded;
}

fn ipv4_header(h: &mut [u8], ip: &Ipv4, protocol: u8, total_len: u16) {
    h[0] = 0x45;
    h[1] = ip.tos;
    h[2..4].copy_from_slice(&total_len.to_be_bytes());
    h[4..6].copy_from_slice(&ip.id.to_be_bytes());
    let flags_offset =
        (u16::from(ip.dont_fragment) << 14) | (u16::from(ip.more_fragments) << 13) | (ip.fragment_units & 0x1fff);
    h[6..8].copy_from_slice(&flags_offset.to_be_bytes());
    h[8] = ip.ttl;
    h[9] = protocol;
    h[10..12].fill(0);
    h[12..16].copy_from_slice(&ip.src);
    h[16..20].copy_from_slice(&ip.dst);
    let checksum = checksum(sum(&h[..IPV4_LEN]), false);
    h[10..12].copy_from_slice(&checksum.to_be_bytes());
}

/// Recompute the IPv4 header checksum after a field was changed in place;
/// `ihl_bytes` is how much header to sum (the real header length).
pub(crate) fn refresh_ipv4_checksum(frame: &mut Frame, ihl_bytes: usize) {
    let h = &mut frame.buf[ETHERNET_LEN..ETHERNET_LEN + ihl_bytes.max(12)];
    h[10..12].fill(0);
    let checksum = checksum(sum(h), false);
    h[10..12].copy_from_slice(&checksum.to_be_bytes());
}

/// The 16-bit one's complement sum of `bytes` (big-endian words, an odd
/// last byte padded with zero), not yet folded.
fn sum(bytes: &[u8]) -> u32 {
    let mut total = 0u32;
    let mut words = bytes.chunks_exact(2);
    for word in &mut words {
        total += u32::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        total += u32::from(*last) << 8;
    }
    total
}

/// Fold and complement a sum. UDP sends a computed zero as 0xffff, since
/// zero means "no checksum".
fn checksum(mut total: u32, udp: bool) -> u16 {
    while total > 0xffff {
        total = (total & 0xffff) + (total >> 16);
    }
    let value = !(total as u16);
    if udp && value == 0 { 0xffff } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sum a whole header including its checksum field: a correct header folds to 0xffff.
    fn verifies(bytes: &[u8], pseudo: u32) -> bool {
        checksum(pseudo + sum(bytes), false) == 0
    }

    #[test]
    fn ipv4_tcp_checksums_verify() {
        let mut frame = Frame::new();
        let ip = Ip::V4(Ipv4::new([198, 51, 100, 7], [192, 0, 2, 10], 64, 0x1234));
        let options = [2, 4, 5, 0xb4];
        let seg =
            Tcp { src_port: 40000, dst_port: 23, seq: 1, ack: 0, flags: flags::SYN, window: 1024, options: &options };
        tcp(&mut frame, &ip, &seg, b"hi!");
        let f = frame.bytes();
        assert_eq!(f.len(), 14 + 20 + 24 + 3, "longer than the minimum: no padding");
        assert!(verifies(&f[14..34], 0));
        let tcp_len = 24 + 3;
        let pseudo = sum(&[198, 51, 100, 7]) + sum(&[192, 0, 2, 10]) + 6 + tcp_len as u32;
        assert!(verifies(&f[34..34 + tcp_len], pseudo));
        assert_eq!(&f[14 + 2..14 + 4], &[0, 20 + 27]);
    }

    #[test]
    fn ipv6_udp_checksum_verifies() {
        let mut frame = Frame::new();
        let ip = Ip::V6(Ipv6 { src: [0x20; 16], dst: [0x30; 16], hop_limit: 60, flow_label: 7 });
        udp(&mut frame, &ip, 5353, 53, b"abc");
        let f = frame.bytes();
        assert_eq!(f.len(), 14 + 40 + 11);
        let pseudo = sum(&[0x20; 16]) + sum(&[0x30; 16]) + 17 + 11;
        assert!(verifies(&f[54..65], pseudo));
    }

    #[test]
    fn icmp_checksum_has_no_pseudo_header() {
        let mut frame = Frame::new();
        let ip = Ip::V4(Ipv4::new([198, 51, 100, 7], [192, 0, 2, 10], 64, 1));
        icmp(&mut frame, &ip, 8, 0, [0, 1, 0, 2], &[0xab; 5]);
        assert!(verifies(&frame.bytes()[34..34 + 13], 0));
    }
}
