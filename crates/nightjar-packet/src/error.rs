//! Why a frame produced no packet record, and the counters for it.

use std::fmt;

/// Why a frame was skipped. Every variant is a counted reason; none is fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The frame had no bytes.
    EmptyFrame,
    /// The frame ended inside the link-layer header.
    TruncatedLinkHeader,
    /// More stacked VLAN tags than any real network uses (loop guard).
    TooManyVlanTags,
    /// The link layer carried something other than IPv4/IPv6 (ARP, LLDP…).
    NotIp,
    /// The IP version nibble did not match the link layer's claim.
    BadIpVersion,
    /// The frame ended inside the IP header.
    TruncatedIpHeader,
    /// IPv4 header length below 20 bytes.
    BadIpHeaderLength,
    /// IPv4 total length shorter than its own header.
    BadIpTotalLength,
    /// An IPv6 extension header ran past the frame.
    TruncatedIpv6Extension,
    /// More IPv6 extension headers than the decoder follows (loop guard).
    TooManyIpv6Extensions,
    /// The frame ended inside the TCP header.
    TruncatedTcpHeader,
    /// TCP data offset below 5 words or past the packet.
    BadTcpDataOffset,
    /// The frame ended inside the UDP header.
    TruncatedUdpHeader,
    /// UDP length field below 8 or past the IP packet.
    BadUdpLength,
    /// The frame ended inside the ICMP header.
    TruncatedIcmpHeader,
}

impl SkipReason {
    /// Every reason, in counter order.
    pub const ALL: [SkipReason; 15] = [
        SkipReason::EmptyFrame,
        SkipReason::TruncatedLinkHeader,
        SkipReason::TooManyVlanTags,
        SkipReason::NotIp,
        SkipReason::BadIpVersion,
        SkipReason::TruncatedIpHeader,
        SkipReason::BadIpHeaderLength,
        SkipReason::BadIpTotalLength,
        SkipReason::TruncatedIpv6Extension,
        SkipReason::TooManyIpv6Extensions,
        SkipReason::TruncatedTcpHeader,
        SkipReason::BadTcpDataOffset,
        SkipReason::TruncatedUdpHeader,
        SkipReason::BadUdpLength,
        SkipReason::TruncatedIcmpHeader,
    ];

    /// A stable snake_case name, used in logs, summaries and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::EmptyFrame => "empty_frame",
            SkipReason::TruncatedLinkHeader => "truncated_link_header",
            SkipReason::TooManyVlanTags => "too_many_vlan_tags",
            SkipReason::NotIp => "not_ip",
            SkipReason::BadIpVersion => "bad_ip_version",
            SkipReason::TruncatedIpHeader => "truncated_ip_header",
            SkipReason::BadIpHeaderLength => "bad_ip_header_length",
            SkipReason::BadIpTotalLength => "bad_ip_total_length",
            SkipReason::TruncatedIpv6Extension => "truncated_ipv6_extension",
            SkipReason::TooManyIpv6Extensions => "too_many_ipv6_extensions",
            SkipReason::TruncatedTcpHeader => "truncated_tcp_header",
            SkipReason::BadTcpDataOffset => "bad_tcp_data_offset",
            SkipReason::TruncatedUdpHeader => "truncated_udp_header",
            SkipReason::BadUdpLength => "bad_udp_length",
            SkipReason::TruncatedIcmpHeader => "truncated_icmp_header",
        }
    }

    /// Whether the frame was broken (as opposed to well-formed but not IP).
    pub fn is_malformed(self) -> bool {
        self != SkipReason::NotIp
    }

    fn index(self) -> usize {
        // ALL lists every variant exactly once.
        SkipReason::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Counts of skipped frames by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SkipCounts {
    counts: [u64; SkipReason::ALL.len()],
}

impl SkipCounts {
    /// Count one skipped frame.
    #[inline]
    pub fn add(&mut self, reason: SkipReason) {
        self.counts[reason.index()] += 1;
    }

    /// How many frames were skipped for `reason`.
    pub fn get(&self, reason: SkipReason) -> u64 {
        self.counts[reason.index()]
    }

    /// Frames skipped as malformed (every reason but `not_ip`).
    pub fn malformed(&self) -> u64 {
        SkipReason::ALL.iter().filter(|r| r.is_malformed()).map(|r| self.get(*r)).sum()
    }

    /// All skipped frames.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The reasons with a non-zero count, with their counts.
    pub fn nonzero(&self) -> impl Iterator<Item = (SkipReason, u64)> + '_ {
        SkipReason::ALL.iter().map(|r| (*r, self.get(*r))).filter(|(_, n)| *n > 0)
    }

    /// Add another set of counts into this one.
    pub fn merge(&mut self, other: &SkipCounts) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
    }
}
