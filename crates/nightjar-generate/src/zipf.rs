//! Drawing ranks from a Zipf law in constant time (Walker's alias method).
//!
//! Rank `k` (from 0) has weight `1 / (k + 1)`. The table is built with plain
//! IEEE-754 arithmetic (no `powf`, whose result may differ between C
//! libraries), so the same seed draws the same ranks on every platform.

use rand::RngCore;

/// A Zipf (exponent 1) sampler over `0..n`.
pub(crate) struct Zipf {
    /// Per column: the probability of keeping it, scaled to `u32`, and
    /// where the rest of its draws go. One array, so a draw touches one
    /// cache line even when the table is far larger than the cache.
    columns: Vec<(u32, u32)>,
}

impl Zipf {
    /// A sampler over `0..n`; `n` is at least 1.
    pub(crate) fn new(n: usize) -> Zipf {
        let n = n.max(1);
        let weights: Vec<f64> = (0..n).map(|k| 1.0 / (k as f64 + 1.0)).collect();
        let total: f64 = weights.iter().sum();
        // Vose's variant: scale to mean 1, pair each small column with a large one.
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut small: Vec<usize> = Vec::new();
        let mut large: Vec<usize> = Vec::new();
        for (i, p) in scaled.iter().enumerate() {
            if *p < 1.0 { small.push(i) } else { large.push(i) }
        }
        let mut keep = vec![u32::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            keep[s] = (scaled[s] * 4_294_967_296.0).min(u32::MAX as f64) as u32;
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        Zipf { columns: keep.into_iter().zip(alias).collect() }
    }

    /// One rank.
    #[inline]
    pub(crate) fn sample(&self, rng: &mut impl RngCore) -> usize {
        let r = rng.next_u64();
        // The high half picks a column (multiply-shift; the bias is below
        // n / 2^32), the low half decides between the column and its alias.
        let column = (((r >> 32) * self.columns.len() as u64) >> 32) as usize;
        let (keep, alias) = self.columns[column];
        if (r as u32) < keep { column } else { alias as usize }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    #[test]
    fn ranks_follow_one_over_k() {
        let zipf = Zipf::new(100);
        let mut rng = Pcg64Mcg::seed_from_u64(7);
        let mut counts = [0u32; 100];
        for _ in 0..200_000 {
            counts[zipf.sample(&mut rng)] += 1;
        }
        // H(100) ≈ 5.187: rank 0 gets ≈ 19.3%, rank 1 half of that, rank 9 a tenth.
        let share = |k: usize| f64::from(counts[k]) / 200_000.0;
        assert!((share(0) - 0.1928).abs() < 0.005, "{}", share(0));
        assert!((share(1) / share(0) - 0.5).abs() < 0.03);
        assert!((share(9) / share(0) - 0.1).abs() < 0.02);
        assert!(counts.iter().all(|c| *c > 0));
    }

    #[test]
    fn one_rank() {
        let zipf = Zipf::new(1);
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        assert!((0..100).all(|_| zipf.sample(&mut rng) == 0));
    }
}
