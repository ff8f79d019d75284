//! Log lines that a flood cannot multiply: at most one per interval, with the count of the
//! ones left out since the last.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lets an action run at most once per interval and counts the times it was held back.
#[derive(Debug)]
pub struct RateLimited {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl RateLimited {
    /// At most once per `interval`.
    pub fn new(interval: Duration) -> Self {
        RateLimited { interval, state: Mutex::new((None, 0)) }
    }

    /// Runs `action` with the number of times it was held back since it last ran, unless it ran
    /// less than the interval ago (then only counts).
    pub fn run(&self, action: impl FnOnce(u64)) {
        let suppressed = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            match state.0 {
                Some(last) if now.duration_since(last) < self.interval => {
                    state.1 += 1;
                    return;
                }
                _ => {
                    let suppressed = state.1;
                    *state = (Some(now), 0);
                    suppressed
                }
            }
        };
        action(suppressed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_once_per_interval_and_counts_the_rest() {
        let limited = RateLimited::new(Duration::from_secs(3600));
        let mut runs = Vec::new();
        for _ in 0..5 {
            limited.run(|suppressed| runs.push(suppressed));
        }
        assert_eq!(runs, vec![0]);
        let limited = RateLimited::new(Duration::ZERO);
        let mut runs = Vec::new();
        for _ in 0..3 {
            limited.run(|suppressed| runs.push(suppressed));
        }
        assert_eq!(runs, vec![0, 0, 0]);
    }
}
