//! Longest-prefix-match lookup over many prefixes, in one binary search.
//!
//! Prefixes either nest or are disjoint, so the address space splits into
//! segments, each covered by one most-specific prefix (or none). Building
//! sorts the prefixes and sweeps them with a stack of open prefixes; a
//! lookup is a binary search over the segment starts.

use crate::addr::{Addr16, Prefix};

/// A map from prefixes to values, answering the most specific match.
#[derive(Clone, Debug)]
pub struct PrefixMap<T> {
    values: Vec<T>,
    /// Segment starts, ascending, with the value index covering the segment.
    segments: Vec<(u128, Option<u32>)>,
}

impl<T> Default for PrefixMap<T> {
    fn default() -> Self {
        PrefixMap { values: Vec::new(), segments: Vec::new() }
    }
}

fn last_address(prefix: &Prefix) -> u128 {
    let start = u128::from_be_bytes(prefix.network());
    start | u128::MAX.checked_shr(u32::from(prefix.len_bits())).unwrap_or(0)
}

impl<T> PrefixMap<T> {
    /// Build the map. Where the same prefix is given twice, the later value wins.
    pub fn new(entries: impl IntoIterator<Item = (Prefix, T)>) -> Self {
        let mut values = Vec::new();
        let mut ranges: Vec<(u128, u8, u128, u32)> = Vec::new();
        for (prefix, value) in entries {
            let index = values.len() as u32;
            values.push(value);
            ranges.push((u128::from_be_bytes(prefix.network()), prefix.len_bits(), last_address(&prefix), index));
        }
        // Same start: the shorter (enclosing) prefix first, so the longer one overrides it.
        ranges.sort_by_key(|(start, len, _, index)| (*start, *len, *index));

        let mut segments: Vec<(u128, Option<u32>)> = Vec::new();
        let mut open: Vec<(u128, u32)> = Vec::new();
        fn mark(segments: &mut Vec<(u128, Option<u32>)>, start: u128, value: Option<u32>) {
            match segments.last_mut() {
                Some(last) if last.0 == start => last.1 = value,
                _ => segments.push((start, value)),
            }
        }
        fn close_before(segments: &mut Vec<(u128, Option<u32>)>, open: &mut Vec<(u128, u32)>, start: Option<u128>) {
            while let Some(&(end, _)) = open.last() {
                if start.is_some_and(|s| end >= s) {
                    break;
                }
                open.pop();
                if end < u128::MAX {
                    mark(segments, end + 1, open.last().map(|o| o.1));
                }
            }
        }
        for (start, _, end, index) in ranges {
            close_before(&mut segments, &mut open, Some(start));
            mark(&mut segments, start, Some(index));
            open.push((end, index));
        }
        close_before(&mut segments, &mut open, None);
        PrefixMap { values, segments }
    }

    /// The value of the most specific prefix containing `addr`.
    #[inline]
    pub fn get(&self, addr: &Addr16) -> Option<&T> {
        let key = u128::from_be_bytes(*addr);
        let after = self.segments.partition_point(|(start, _)| *start <= key);
        let (_, index) = self.segments.get(after.checked_sub(1)?)?;
        self.values.get(usize::try_from((*index)?).ok()?)
    }

    /// Number of prefixes the map was built from.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the map holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{addr, map_v4};
    use proptest::prelude::*;

    fn p(text: &str) -> Prefix {
        text.parse().unwrap()
    }

    #[test]
    fn most_specific_prefix_wins() {
        let map = PrefixMap::new([
            (p("198.51.0.0/16"), "wide"),
            (p("198.51.100.0/24"), "narrow"),
            (p("203.0.113.0/24"), "other"),
        ]);
        assert_eq!(map.get(&addr("198.51.100.9")), Some(&"narrow"));
        assert_eq!(map.get(&addr("198.51.101.9")), Some(&"wide"));
        assert_eq!(map.get(&addr("198.51.255.255")), Some(&"wide"));
        assert_eq!(map.get(&addr("198.52.0.0")), None);
        assert_eq!(map.get(&addr("203.0.113.0")), Some(&"other"));
        assert_eq!(map.get(&addr("1.1.1.1")), None);
    }

    #[test]
    fn default_route_and_top_of_space() {
        let map = PrefixMap::new([(p("::/0"), 0), (p("ffff::/16"), 1)]);
        assert_eq!(map.get(&[0xff; 16]), Some(&1));
        assert_eq!(map.get(&[0; 16]), Some(&0));
        assert!(PrefixMap::<u8>::new([]).get(&[0; 16]).is_none());
    }

    proptest! {
        #[test]
        fn agrees_with_a_linear_scan(nets in proptest::collection::vec((any::<u32>(), 8u8..=32), 1..40), probes in proptest::collection::vec(any::<u32>(), 1..200)) {
            let prefixes: Vec<Prefix> = nets.iter().map(|(a, l)| Prefix::new(map_v4(a.to_be_bytes()), 96 + l)).collect();
            let map = PrefixMap::new(prefixes.iter().copied().enumerate().map(|(i, p)| (p, i)));
            for probe in probes.iter().chain(nets.iter().map(|(a, _)| a)) {
                let addr = map_v4(probe.to_be_bytes());
                // Linear: the longest containing prefix, the later one among equals.
                let expected = prefixes.iter().enumerate().filter(|(_, p)| p.contains(&addr))
                    .max_by_key(|(i, p)| (p.len_bits(), *i)).map(|(i, _)| i);
                prop_assert_eq!(map.get(&addr).copied(), expected);
            }
        }
    }
}
