//! The content digest of every accepted batch, kept in memory compactly enough for years of
//! batches: four bytes a batch, in runs of consecutive sequence numbers (sensors send in
//! order, so a sensor's batches form a handful of runs).
//!
//! The full SHA-256 is in the ledger line; memory holds its first four bytes. That is enough
//! for what the digest is for: telling a retry of a stored batch (same content) from a sensor
//! that reuses a sequence number for new content (its spool and sequence file were lost).
//! A chance match of four bytes lets such a reuse through as a `duplicate` once in 2³² batches.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// The SHA-256 of a batch's uncompressed Arrow IPC stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchDigest([u8; 32]);

impl BatchDigest {
    /// The digest of `ipc`.
    pub fn of(ipc: &[u8]) -> Self {
        BatchDigest(Sha256::digest(ipc).into())
    }

    /// Lower-case hex, as written in the ledger.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// From the ledger's hex; `None` when it is not 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(BatchDigest(bytes))
    }

    /// The four bytes kept in memory; never [`UNKNOWN`].
    pub fn short(&self) -> u32 {
        match u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]) {
            UNKNOWN => 1,
            short => short,
        }
    }
}

/// The short digest of a batch accepted before digests were recorded.
pub const UNKNOWN: u32 = 0;

/// Short digests by sequence number.
#[derive(Clone, Debug, Default)]
pub struct DigestRuns {
    /// First sequence number of a run → the digests of the run's consecutive numbers.
    runs: BTreeMap<u64, Vec<u32>>,
}

impl DigestRuns {
    /// The short digest recorded for `seq`: `None` when `seq` was not accepted,
    /// `Some(UNKNOWN)` when it was accepted without a digest.
    pub fn get(&self, seq: u64) -> Option<u32> {
        let (start, digests) = self.runs.range(..=seq).next_back()?;
        digests.get(usize::try_from(seq - start).ok()?).copied()
    }

    /// Records `short` for `seq` (replacing an earlier record of it).
    pub fn insert(&mut self, seq: u64, short: u32) {
        if let Some((&start, digests)) = self.runs.range_mut(..=seq).next_back()
            && let Ok(at) = usize::try_from(seq - start)
        {
            if at < digests.len() {
                digests[at] = short;
                return;
            }
            if at == digests.len() {
                digests.push(short);
                self.merge_after(start);
                return;
            }
        }
        self.runs.insert(seq, vec![short]);
        self.merge_after(seq);
    }

    /// Joins the run starting at `start` with the next one when they touch.
    fn merge_after(&mut self, start: u64) {
        let Some(len) = self.runs.get(&start).map(Vec::len) else { return };
        let Some(next) = start.checked_add(len as u64) else { return };
        if let Some(following) = self.runs.remove(&next)
            && let Some(run) = self.runs.get_mut(&start)
        {
            run.extend(following);
        }
    }

    /// Number of runs (for tests).
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_join_and_answer_per_sequence_number() {
        let mut runs = DigestRuns::default();
        for seq in [5u64, 6, 7, 10, 11, 9, 8] {
            runs.insert(seq, seq as u32 + 100);
        }
        assert_eq!(runs.run_count(), 1, "5..=11 is one run");
        for seq in 5..=11u64 {
            assert_eq!(runs.get(seq), Some(seq as u32 + 100));
        }
        assert_eq!(runs.get(4), None);
        assert_eq!(runs.get(12), None);
        runs.insert(u64::MAX, 1);
        runs.insert(0, UNKNOWN);
        assert_eq!(runs.get(u64::MAX), Some(1));
        assert_eq!(runs.get(0), Some(UNKNOWN));
        assert_eq!(runs.run_count(), 3);
        runs.insert(7, 42);
        assert_eq!(runs.get(7), Some(42));
    }

    #[test]
    fn digests_round_trip_through_hex_and_are_never_unknown() {
        let digest = BatchDigest::of(b"rows");
        assert_eq!(BatchDigest::from_hex(&digest.hex()), Some(digest));
        assert_eq!(BatchDigest::from_hex("zz"), None);
        assert_ne!(digest.short(), UNKNOWN);
        assert_ne!(BatchDigest::of(b"rows").short(), BatchDigest::of(b"other rows").short());
    }
}
