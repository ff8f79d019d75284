//! IPv4 probes (link type Raw: the IP header first) built from addresses and
//! ports with pnet_packet, in place of byte literals in the tests.
//!
//! Header checksums stay zero unless asked for ([`Ipv4Probe::with_checksum`]):
//! the decoder does not check them, and most tests feed it directly.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use nightjar_test_kit::frames::{Ipv4Probe, Tcp};
//!
//! let syn = Ipv4Probe::new(Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(192, 0, 2, 10)).tcp(Tcp::syn(40000, 22));
//! assert_eq!(syn.len(), 40);
//! ```

use std::net::Ipv4Addr;

use pnet_packet::icmp::{IcmpTypes, MutableIcmpPacket};
use pnet_packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet_packet::ipv4::{self, Ipv4Flags, MutableIpv4Packet};
use pnet_packet::tcp::{MutableTcpPacket, TcpFlags};
use pnet_packet::udp::MutableUdpPacket;

const IPV4_HEADER: usize = 20;
const TCP_HEADER: usize = 20;
const UDP_HEADER: usize = 8;
const ICMP_ECHO: usize = 8;

/// The IPv4 header of a probe: addresses, IP id 1 and TTL 64 unless set.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Probe {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    id: u16,
    ttl: u8,
    dont_fragment: bool,
    checksum: bool,
}

/// The TCP header of a probe (data offset 5, no options, no payload).
#[derive(Debug, Clone, Copy)]
pub struct Tcp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Flag byte (`pnet_packet::tcp::TcpFlags`).
    pub flags: u8,
    /// Window size.
    pub window: u16,
}

impl Tcp {
    /// A SYN with sequence number 1 and a window of 1024, as a bare scanner sends.
    pub fn syn(src_port: u16, dst_port: u16) -> Tcp {
        Tcp { src_port, dst_port, seq: 1, flags: TcpFlags::SYN, window: 1024 }
    }
}

impl Ipv4Probe {
    /// A probe from `src` to `dst`.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr) -> Ipv4Probe {
        Ipv4Probe { src, dst, id: 1, ttl: 64, dont_fragment: false, checksum: false }
    }

    /// Set the IP identification.
    pub fn id(self, id: u16) -> Ipv4Probe {
        Ipv4Probe { id, ..self }
    }

    /// Set the TTL.
    pub fn ttl(self, ttl: u8) -> Ipv4Probe {
        Ipv4Probe { ttl, ..self }
    }

    /// Set the don't-fragment flag.
    pub fn dont_fragment(self) -> Ipv4Probe {
        Ipv4Probe { dont_fragment: true, ..self }
    }

    /// Fill in the IP header checksum (for captures other tools read).
    pub fn with_checksum(self) -> Ipv4Probe {
        Ipv4Probe { checksum: true, ..self }
    }

    /// The packet carrying the TCP header `tcp`.
    pub fn tcp(&self, tcp: Tcp) -> Vec<u8> {
        let mut bytes = self.header(IpNextHeaderProtocols::Tcp, TCP_HEADER);
        let mut segment = MutableTcpPacket::new(&mut bytes[IPV4_HEADER..]).expect("room for a TCP header");
        segment.set_source(tcp.src_port);
        segment.set_destination(tcp.dst_port);
        segment.set_sequence(tcp.seq);
        segment.set_data_offset(5);
        segment.set_flags(tcp.flags);
        segment.set_window(tcp.window);
        bytes
    }

    /// The packet carrying a UDP datagram from `src_port` to `dst_port` with `payload`
    /// (UDP checksum zero: none, as IPv4 allows).
    pub fn udp(&self, src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
        let mut bytes = self.header(IpNextHeaderProtocols::Udp, UDP_HEADER + payload.len());
        let mut datagram = MutableUdpPacket::new(&mut bytes[IPV4_HEADER..]).expect("room for a UDP header");
        datagram.set_source(src_port);
        datagram.set_destination(dst_port);
        datagram.set_length(u16::try_from(UDP_HEADER + payload.len()).expect("a test payload fits a datagram"));
        datagram.set_payload(payload);
        bytes
    }

    /// The packet carrying an ICMP echo request `identifier`/`sequence` (ICMP checksum zero).
    pub fn icmp_echo_request(&self, identifier: u16, sequence: u16) -> Vec<u8> {
        let mut bytes = self.header(IpNextHeaderProtocols::Icmp, ICMP_ECHO);
        let mut message = MutableIcmpPacket::new(&mut bytes[IPV4_HEADER..]).expect("room for an ICMP header");
        message.set_icmp_type(IcmpTypes::EchoRequest);
        let mut rest = identifier.to_be_bytes().to_vec();
        rest.extend_from_slice(&sequence.to_be_bytes());
        message.set_payload(&rest);
        bytes
    }

    /// An IPv4 header for `payload_len` bytes of `protocol`, followed by that many zeros.
    fn header(&self, protocol: IpNextHeaderProtocol, payload_len: usize) -> Vec<u8> {
        let total = IPV4_HEADER + payload_len;
        let mut bytes = vec![0u8; total];
        let mut header = MutableIpv4Packet::new(&mut bytes).expect("room for an IPv4 header");
        header.set_version(4);
        header.set_header_length(5);
        header.set_total_length(u16::try_from(total).expect("a test packet fits IPv4"));
        header.set_identification(self.id);
        header.set_flags(if self.dont_fragment { Ipv4Flags::DontFragment } else { 0 });
        header.set_ttl(self.ttl);
        header.set_next_level_protocol(protocol);
        header.set_source(self.src);
        header.set_destination(self.dst);
        if self.checksum {
            let sum = ipv4::checksum(&header.to_immutable());
            header.set_checksum(sum);
        }
        bytes
    }
}

/// `packet` in an Ethernet II frame (IPv4 ether type) from `src_mac` to `dst_mac`.
pub fn ethernet(dst_mac: [u8; 6], src_mac: [u8; 6], packet: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + packet.len());
    frame.extend_from_slice(&dst_mac);
    frame.extend_from_slice(&src_mac);
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(packet);
    frame
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::{Ipv4Probe, Tcp};

    #[test]
    fn a_syn_has_the_bytes_of_the_hand_written_literal() {
        let syn = Ipv4Probe::new(Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(192, 0, 2, 10)).tcp(Tcp::syn(12345, 80));
        let literal: [u8; 40] = [
            0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 198, 51, 100, 7, 192, 0, 2, 10, 0x30, 0x39, 0, 80, 0, 0, 0, 1, 0,
            0, 0, 0, 0x50, 0x02, 0x04, 0, 0, 0, 0, 0,
        ];
        assert_eq!(syn, literal);
    }

    #[test]
    fn udp_and_icmp_probes_have_the_bytes_of_the_hand_written_literals() {
        let udp = Ipv4Probe::new(Ipv4Addr::new(198, 51, 100, 9), Ipv4Addr::new(192, 0, 2, 10)).udp(40000, 53, &[]);
        let literal =
            [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 198, 51, 100, 9, 192, 0, 2, 10, 0x9c, 0x40, 0, 53, 0, 8, 0, 0];
        assert_eq!(udp, literal);
        let echo = Ipv4Probe::new(Ipv4Addr::new(193, 0, 14, 129), Ipv4Addr::new(192, 0, 2, 10)).icmp_echo_request(1, 1);
        let literal = [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 193, 0, 14, 129, 192, 0, 2, 10, 8, 0, 0, 0, 0, 1, 0, 1];
        assert_eq!(echo, literal);
    }

    #[test]
    fn the_checksum_is_the_ones_complement_sum_of_the_header() {
        let packet =
            Ipv4Probe::new(Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(192, 0, 2, 1)).dont_fragment().with_checksum();
        let bytes = packet.tcp(Tcp::syn(40000, 22));
        let sum: u32 = bytes[..20].chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
        assert_eq!((sum & 0xffff) + (sum >> 16), 0xffff, "a header with its checksum sums to all ones");
        assert_eq!(bytes[6], 0x40, "don't fragment");
    }
}
