//! Answers of the databases kept across batches.

use std::sync::Arc;

use nightjar_packet::Addr16;

use crate::country::CountryCode;
use crate::record::Asn;

/// A hash map keyed by (attacker-chosen) addresses: a fast hash, seeded at
/// random per process so that crafted sources cannot force collisions.
pub(crate) type AddressMap<V> = std::collections::HashMap<Addr16, V, foldhash::fast::RandomState>;

/// What one source address resolved to.
#[derive(Debug)]
pub(crate) struct Attribution {
    pub(crate) country: Option<CountryCode>,
    pub(crate) asn: Option<Asn>,
}

/// The most recently used answers, in two generations: lookups look in the
/// current one, then in the previous one (and bring the answer forward);
/// when the current one is full it becomes the previous one and the old
/// previous one is dropped. So at most `2 × capacity` answers are held, and a
/// source seen within the last `capacity` distinct sources is never looked
/// up again. Darknet sources repeat for hours (a scanner sweeps, a bot
/// retries), while the tree walk of two databases is the costliest step of
/// enrichment.
#[derive(Debug)]
pub(crate) struct AnswerCache {
    current: AddressMap<Arc<Attribution>>,
    previous: AddressMap<Arc<Attribution>>,
    capacity: usize,
}

impl AnswerCache {
    /// A cache holding at most `2 × capacity` answers.
    pub(crate) fn new(capacity: usize) -> Self {
        AnswerCache { current: AddressMap::default(), previous: AddressMap::default(), capacity: capacity.max(1) }
    }

    /// The answer kept for `addr`, if any.
    pub(crate) fn get(&mut self, addr: &Addr16) -> Option<Arc<Attribution>> {
        if let Some(answer) = self.current.get(addr) {
            return Some(Arc::clone(answer));
        }
        let answer = self.previous.remove(addr)?;
        self.insert(*addr, Arc::clone(&answer));
        Some(answer)
    }

    /// Keep `answer` for `addr`.
    pub(crate) fn insert(&mut self, addr: Addr16, answer: Arc<Attribution>) {
        if self.current.len() >= self.capacity {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(addr, answer);
    }

    /// Answers held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u8) -> Addr16 {
        let mut a = [0u8; 16];
        a[15] = n;
        a
    }

    fn answer(asn: u32) -> Arc<Attribution> {
        Arc::new(Attribution { country: None, asn: Some(Asn { number: asn, name: None }) })
    }

    #[test]
    fn holds_at_most_two_generations_and_keeps_what_is_used() {
        let mut cache = AnswerCache::new(2);
        cache.insert(addr(1), answer(1));
        cache.insert(addr(2), answer(2));
        // Full: 1 and 2 become the previous generation.
        cache.insert(addr(3), answer(3));
        // Using 1 brings it forward; the current generation is full again.
        assert_eq!(cache.get(&addr(1)).and_then(|a| a.asn.as_ref().map(|a| a.number)), Some(1));
        cache.insert(addr(4), answer(4));
        // 3 and 1 are now the previous generation, 2 was dropped.
        assert!(cache.get(&addr(2)).is_none());
        assert!(cache.len() <= 4);
        for (n, asn) in [(1, 1), (3, 3), (4, 4)] {
            assert_eq!(cache.get(&addr(n)).and_then(|a| a.asn.as_ref().map(|a| a.number)), Some(asn), "address {n}");
        }
    }
}
