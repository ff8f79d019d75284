//! The darknet: the prefixes destinations are drawn from.

use nightjar_packet::{Addr16, Prefix, PrefixSet};
use rand::Rng;

use crate::config::DEFAULT_DARK_PREFIX;
use crate::error::GenerateError;
use crate::pool::random_host;

/// The dark prefixes, split by family, with draws weighted by size.
pub(crate) struct DarkSpace {
    v4: Vec<Prefix>,
    /// Cumulative sizes of `v4`, for a draw proportional to size.
    v4_cumulative: Vec<u64>,
    v6: Vec<Prefix>,
    all: PrefixSet,
}

impl DarkSpace {
    pub(crate) fn new(prefixes: &[Prefix]) -> Result<DarkSpace, GenerateError> {
        let default = [DEFAULT_DARK_PREFIX.parse::<Prefix>().expect("the default dark prefix is a valid CIDR")];
        let prefixes = if prefixes.is_empty() { &default[..] } else { prefixes };
        let mapped_space: Prefix = "::ffff:0:0/96".parse().expect("a valid CIDR constant");
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for prefix in prefixes {
            if prefix.is_v4() {
                v4.push(*prefix);
            } else if prefix.contains(&mapped_space.network()) {
                return Err(GenerateError::MixedDarkPrefix { prefix: *prefix });
            } else {
                v6.push(*prefix);
            }
        }
        if v4.is_empty() {
            return Err(GenerateError::NoIpv4DarkPrefix);
        }
        let mut total = 0u64;
        let v4_cumulative = v4
            .iter()
            .map(|p| {
                total += p.size() as u64;
                total
            })
            .collect();
        Ok(DarkSpace { v4, v4_cumulative, v6, all: PrefixSet::new(prefixes.to_vec()) })
    }

    /// The first IPv6 dark prefix, if any.
    pub(crate) fn first_v6(&self) -> Option<Prefix> {
        self.v6.first().copied()
    }

    pub(crate) fn contains(&self, addr: &Addr16) -> bool {
        self.all.contains(addr)
    }

    /// A destination address, uniform over all IPv4 dark addresses.
    pub(crate) fn pick_v4(&self, rng: &mut impl Rng) -> [u8; 4] {
        let total = self.v4_cumulative.last().copied().unwrap_or(1);
        let target = rng.random_range(0..total);
        let index = self.v4_cumulative.partition_point(|end| *end <= target).min(self.v4.len() - 1);
        let addr = random_host(rng, &self.v4[index]);
        [addr[12], addr[13], addr[14], addr[15]]
    }

    /// An IPv6 destination: half the time a random interface identifier,
    /// half the time a low one (`::1` to `::ff` in a random /64), as
    /// hitlist-driven IPv6 scanners probe. Callers check there is a prefix.
    pub(crate) fn pick_v6(&self, rng: &mut impl Rng) -> [u8; 16] {
        let prefix = &self.v6[rng.random_range(0..self.v6.len() as u32) as usize];
        let mut addr = random_host(rng, prefix);
        if prefix.len_bits() <= 64 && rng.random::<bool>() {
            addr[8..15].fill(0);
            addr[15] = rng.random_range(1..=255);
        }
        addr
    }
}
