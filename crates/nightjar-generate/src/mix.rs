//! The traffic mix: which kind each packet is.

use rand::Rng;
use rand_pcg::Pcg64Mcg;

use crate::kind::TrafficKind;

/// The traffic mix: kinds with cumulative parts per million.
pub(crate) struct Mix {
    pub(crate) kinds: Vec<TrafficKind>,
    cumulative: Vec<u32>,
}

impl Mix {
    pub(crate) fn new(with_ipv6: bool) -> Mix {
        let mut kinds = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0;
        for kind in TrafficKind::ALL {
            if kind.is_ipv6() && !with_ipv6 {
                continue;
            }
            total += kind.share_ppm();
            kinds.push(kind);
            cumulative.push(total);
        }
        Mix { kinds, cumulative }
    }

    pub(crate) fn total(&self) -> u32 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    pub(crate) fn sample(&self, rng: &mut Pcg64Mcg) -> TrafficKind {
        let target = rng.random_range(0..self.total());
        self.kinds[self.cumulative.partition_point(|end| *end <= target)]
    }
}
