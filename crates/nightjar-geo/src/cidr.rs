//! Inclusive address ranges (`first..=last`, as in the ip-location-db CSV
//! files) and their decomposition into CIDR blocks, which is what an mmdb
//! search tree stores.
//!
//! A range is generally several blocks: `1.0.0.1–1.0.0.6` is `1.0.0.1/32`,
//! `1.0.0.2/31`, `1.0.0.4/31` and `1.0.0.6/32`. The decomposition is greedy —
//! from `first` upwards, each block is the largest one aligned at its start
//! that does not reach past `last` — which gives the fewest blocks possible.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use mmdb_writer::ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// An inclusive range of addresses of one family, `first <= last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddrRange {
    V4 { first: u32, last: u32 },
    V6 { first: u128, last: u128 },
}

impl AddrRange {
    /// The range `first..=last`, or `None` when the ends are of different
    /// families or `first` comes after `last`.
    pub(crate) fn new(first: IpAddr, last: IpAddr) -> Option<AddrRange> {
        match (first, last) {
            (IpAddr::V4(first), IpAddr::V4(last)) if first <= last => {
                Some(AddrRange::V4 { first: first.into(), last: last.into() })
            }
            (IpAddr::V6(first), IpAddr::V6(last)) if first <= last => {
                Some(AddrRange::V6 { first: first.into(), last: last.into() })
            }
            _ => None,
        }
    }

    pub(crate) fn is_v6(&self) -> bool {
        matches!(self, AddrRange::V6 { .. })
    }

    /// The ends as numbers in the family's address space.
    pub(crate) fn bounds(&self) -> (u128, u128) {
        match *self {
            AddrRange::V4 { first, last } => (first.into(), last.into()),
            AddrRange::V6 { first, last } => (first, last),
        }
    }

    /// The fewest CIDR blocks that together hold exactly the range, in address order.
    pub(crate) fn networks(&self) -> impl Iterator<Item = IpNet> + use<> {
        let is_v6 = self.is_v6();
        let (first, last) = self.bounds();
        let width = if is_v6 { 128 } else { 32 };
        Blocks { next: Some(first), last, width }.map(move |(base, prefix_len)| {
            const WIDTH: &str = "a block's prefix length is at most its family's width";
            if is_v6 {
                IpNet::V6(Ipv6Net::new(Ipv6Addr::from(base), prefix_len).expect(WIDTH))
            } else {
                let base = u32::try_from(base).expect("IPv4 blocks lie within the 32-bit range they split");
                IpNet::V4(Ipv4Net::new(Ipv4Addr::from(base), prefix_len).expect(WIDTH))
            }
        })
    }
}

/// The greedy decomposition of `next..=last` in a `width`-bit address space,
/// as `(base, prefix length)` pairs.
struct Blocks {
    /// Where the next block starts; `None` once `last` is covered.
    next: Option<u128>,
    last: u128,
    width: u32,
}

impl Iterator for Blocks {
    type Item = (u128, u8);

    fn next(&mut self) -> Option<(u128, u8)> {
        let start = self.next?;
        // A block of 2^k addresses must start at a multiple of 2^k…
        let alignment = start.trailing_zeros().min(self.width);
        // …and hold at most the `last - start + 1` addresses left, a number
        // that is 2^128 (and overflows) only for the whole IPv6 space.
        let remaining_bits = match (self.last - start).checked_add(1) {
            Some(remaining) => remaining.ilog2(),
            None => 128,
        };
        let size_bits = alignment.min(remaining_bits);
        // Only the whole IPv6 space (`start` 0) is a block of 2^128 addresses.
        let block_last = if size_bits == 128 { u128::MAX } else { start + ((1u128 << size_bits) - 1) };
        self.next = if block_last == self.last { None } else { Some(block_last + 1) };
        let prefix_len = u8::try_from(self.width - size_bits).expect("a prefix length is at most 128");
        Some((start, prefix_len))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn split(first: &str, last: &str) -> Vec<String> {
        let range = AddrRange::new(first.parse().expect("an address"), last.parse().expect("an address"))
            .expect("a valid range");
        range.networks().map(|net| net.to_string()).collect()
    }

    #[test]
    fn an_aligned_range_is_one_block() {
        assert_eq!(split("1.0.0.0", "1.0.0.255"), ["1.0.0.0/24"]);
        assert_eq!(split("2001:200::", "2001:200:ffff:ffff:ffff:ffff:ffff:ffff"), ["2001:200::/32"]);
    }

    #[test]
    fn a_single_address_is_a_host_block() {
        assert_eq!(split("198.51.100.7", "198.51.100.7"), ["198.51.100.7/32"]);
        assert_eq!(split("2001:db8::7", "2001:db8::7"), ["2001:db8::7/128"]);
    }

    #[test]
    fn an_unaligned_range_splits_on_both_ends() {
        assert_eq!(split("1.0.0.1", "1.0.0.6"), ["1.0.0.1/32", "1.0.0.2/31", "1.0.0.4/31", "1.0.0.6/32"]);
        // A row from the real asn-ipv4.csv: 1.0.128.0–1.0.196.255 (AS23969).
        assert_eq!(split("1.0.128.0", "1.0.196.255"), ["1.0.128.0/18", "1.0.192.0/22", "1.0.196.0/24"]);
        assert_eq!(split("2001:db8::1", "2001:db8::4"), ["2001:db8::1/128", "2001:db8::2/127", "2001:db8::4/128"]);
    }

    #[test]
    fn a_range_across_a_big_boundary() {
        assert_eq!(split("9.255.255.255", "10.0.0.0"), ["9.255.255.255/32", "10.0.0.0/32"]);
        assert_eq!(split("127.255.255.0", "128.0.0.255"), ["127.255.255.0/24", "128.0.0.0/24"]);
    }

    #[test]
    fn the_ends_of_the_address_space() {
        assert_eq!(split("0.0.0.0", "255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(split("0.0.0.0", "0.0.0.0"), ["0.0.0.0/32"]);
        assert_eq!(split("255.255.255.255", "255.255.255.255"), ["255.255.255.255/32"]);
        assert_eq!(split("0.0.0.0", "127.255.255.255"), ["0.0.0.0/1"]);
        assert_eq!(split("128.0.0.0", "255.255.255.255"), ["128.0.0.0/1"]);
        assert_eq!(split("0.0.0.1", "255.255.255.255").len(), 32);
        assert_eq!(split("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), ["::/0"]);
        assert_eq!(split("::", "::"), ["::/128"]);
        assert_eq!(
            split("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"]
        );
        assert_eq!(split("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe").len(), 2 * 127);
    }

    #[test]
    fn mixed_families_and_reversed_ranges_are_not_ranges() {
        let ip = |text: &str| text.parse::<IpAddr>().expect("an address");
        assert_eq!(AddrRange::new(ip("1.0.0.0"), ip("::1")), None);
        assert_eq!(AddrRange::new(ip("::1"), ip("1.0.0.0")), None);
        assert_eq!(AddrRange::new(ip("1.0.0.2"), ip("1.0.0.1")), None);
        assert_eq!(AddrRange::new(ip("2001:db8::2"), ip("2001:db8::1")), None);
    }

    /// The blocks are aligned, contiguous, cover exactly `first..=last`, and
    /// no two neighbours could be merged into one block (so there are as few as possible).
    fn check_blocks(first: u128, last: u128, width: u32) {
        let blocks: Vec<(u128, u8)> = Blocks { next: Some(first), last, width }.collect();
        let mut expected_start = first;
        for (i, &(base, prefix_len)) in blocks.iter().enumerate() {
            let size_bits = width - u32::from(prefix_len);
            assert_eq!(base, expected_start, "contiguous");
            assert!(size_bits == 128 || base % (1u128 << size_bits) == 0, "aligned: {base:#x}/{prefix_len}");
            let block_last = if size_bits == 128 { u128::MAX } else { base + ((1u128 << size_bits) - 1) };
            assert!(block_last <= last, "within the range");
            if i + 1 == blocks.len() {
                assert_eq!(block_last, last, "covers the end");
            } else {
                expected_start = block_last + 1;
                let (_, next_len) = blocks[i + 1];
                let mergeable = next_len == prefix_len && size_bits < width && base % (1u128 << (size_bits + 1)) == 0;
                assert!(!mergeable, "{base:#x}/{prefix_len} and its neighbour make one block");
            }
        }
        assert!(blocks.len() <= 2 * width as usize);
    }

    proptest! {
        #[test]
        fn ipv4_blocks_cover_the_range_exactly(a: u32, b: u32) {
            check_blocks(u128::from(a.min(b)), u128::from(a.max(b)), 32);
        }

        #[test]
        fn ipv6_blocks_cover_the_range_exactly(a: u128, b: u128) {
            check_blocks(a.min(b), a.max(b), 128);
        }

        #[test]
        fn short_ipv6_ranges(a: u128, len in 0u128..100_000) {
            let first = a.min(u128::MAX - len);
            check_blocks(first, first + len, 128);
        }
    }
}
