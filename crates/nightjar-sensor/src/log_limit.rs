//! Repeated problems in the log: every occurrence is counted, but one kind
//! is written at most once per period, with the number left out since the
//! previous line. An operator tailing the log sees a refused token within
//! seconds and is reminded every minute; the log does not fill up.

use std::time::{Duration, Instant};

/// The longest gap between two lines about the same ongoing problem.
pub(crate) const REPEAT_PERIOD: Duration = Duration::from_secs(60);

/// When to write the next line about one kind of problem.
#[derive(Debug)]
pub(crate) struct LogEvery {
    period: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl LogEvery {
    /// At most one line per `period`; the first occurrence is always written.
    pub(crate) fn new(period: Duration) -> LogEvery {
        LogEvery { period, last: None, suppressed: 0 }
    }

    /// One more occurrence: `Some(n)` when it is to be logged now, `n` being
    /// how many were left out since the previous line; `None` to stay quiet.
    pub(crate) fn admit(&mut self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < self.period => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }

    /// The problem is over: the next occurrence is logged at once.
    pub(crate) fn reset(&mut self) {
        self.last = None;
        self.suppressed = 0;
    }

    /// Whether an occurrence was seen since the last reset.
    pub(crate) fn active(&self) -> bool {
        self.last.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_is_logged_then_one_per_period_with_the_count_left_out() {
        let mut every = LogEvery::new(Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(every.admit_at(start), Some(0));
        assert_eq!(every.admit_at(start + Duration::from_secs(1)), None);
        assert_eq!(every.admit_at(start + Duration::from_secs(59)), None);
        assert_eq!(every.admit_at(start + Duration::from_secs(60)), Some(2));
        assert_eq!(every.admit_at(start + Duration::from_secs(61)), None);
        every.reset();
        assert!(!every.active());
        assert_eq!(every.admit_at(start + Duration::from_secs(62)), Some(0), "a new episode is logged at once");
    }
}
