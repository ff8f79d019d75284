//! Exponential backoff with jitter.

use std::time::Duration;

use rand::Rng;

/// Doubling waits between `initial` and `max`, each drawn uniformly from
/// the upper half of the current step ("equal jitter"): sensors that lost
/// the collector together do not come back in lockstep, and no wait is
/// shorter than half the step.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    /// Start at `initial`, never above `max`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff { initial, max, step: initial }
    }

    /// The next wait; the step doubles for the one after.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(self.max);
        let half = step / 2;
        let jitter_ns = rand::rng().random_range(0..=half.as_nanos().min(u128::from(u64::MAX)) as u64);
        half + Duration::from_nanos(jitter_ns)
    }

    /// Back to `initial` after a success.
    pub fn reset(&mut self) {
        self.step = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_within_jitter_and_caps() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        for step in [1u64, 2, 4, 8, 8, 8] {
            let delay = backoff.next_delay();
            let step = Duration::from_secs(step);
            assert!(delay >= step / 2 && delay <= step, "{delay:?} outside [{:?}, {step:?}]", step / 2);
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_secs(1));
    }
}
