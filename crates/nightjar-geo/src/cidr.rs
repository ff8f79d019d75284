//! Inclusive address ranges (`first..=last`, as in the ip-location-db CSV
//! files) and their decomposition into CIDR blocks, which is what an mmdb
//! search tree stores.
//!
//! A range is generally several blocks: `1.0.0.1–1.0.0.6` is `1.0.0.1/32`,
//! `1.0.0.2/31`, `1.0.0.4/31` and `1.0.0.6/32`. The decomposition is ipnet's
//! (`Ipv4Subnets`, `Ipv6Subnets`): greedy from `first` upwards, each block the
//! largest one aligned at its start that does not reach past `last`, which
//! gives the fewest blocks possible (checked by the property tests below).

use std::net::IpAddr;

use mmdb_writer::ipnet::{IpNet, Ipv4Subnets, Ipv6Subnets};

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
        let blocks: Box<dyn Iterator<Item = IpNet>> = match *self {
            AddrRange::V4 { first, last } => Box::new(Ipv4Subnets::new(first.into(), last.into(), 0).map(IpNet::V4)),
            AddrRange::V6 { first, last } => Box::new(Ipv6Subnets::new(first.into(), last.into(), 0).map(IpNet::V6)),
        };
        blocks
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
        let range = if width == 32 {
            let v4 = |n: u128| IpAddr::V4(u32::try_from(n).expect("an IPv4 number").into());
            AddrRange::new(v4(first), v4(last))
        } else {
            AddrRange::new(IpAddr::V6(first.into()), IpAddr::V6(last.into()))
        }
        .expect("first <= last");
        let blocks: Vec<(u128, u8)> = range
            .networks()
            .map(|net| match net {
                IpNet::V4(net) => (u128::from(u32::from(net.network())), net.prefix_len()),
                IpNet::V6(net) => (u128::from(net.network()), net.prefix_len()),
            })
            .collect();
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
