//! Timestamps: packets spread evenly over the span, with jitter, never decreasing.

use rand::Rng;
use rand_pcg::Pcg64Mcg;

/// Packet `i`'s slot starts at `start + floor(i * duration / packets)`;
/// kept as a quotient and remainder stepped once per packet, so there is
/// no 128-bit division per packet.
pub(crate) struct Clock {
    start_us: i64,
    /// Whole microseconds and remainder (in 1/packets µs) of the current slot start.
    slot_us: u64,
    remainder: u64,
    /// `duration / packets` as a quotient and remainder.
    step_us: u64,
    step_remainder: u64,
    packets: u64,
}

impl Clock {
    pub(crate) fn new(start_us: i64, duration_us: u64, packets: u64) -> Clock {
        let packets = packets.max(1);
        Clock {
            start_us,
            slot_us: 0,
            remainder: 0,
            step_us: duration_us / packets,
            step_remainder: duration_us % packets,
            packets,
        }
    }

    /// The current slot's time with `jitter` inside the slot, then advance.
    pub(crate) fn tick(&mut self, rng: &mut Pcg64Mcg) -> i64 {
        // The slot is at least `step_us` long, so jitter below it keeps times in order.
        let jitter = if self.step_us > 1 { rng.random_range(0..self.step_us) } else { 0 };
        let time = self.start_us + (self.slot_us + jitter) as i64;
        self.slot_us += self.step_us;
        self.remainder += self.step_remainder;
        if self.remainder >= self.packets {
            self.remainder -= self.packets;
            self.slot_us += 1;
        }
        time
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn slots_are_floor_of_i_times_duration_over_packets() {
        let mut rng = Pcg64Mcg::seed_from_u64(0);
        let mut clock = Clock::new(100, 10, 7);
        let times: Vec<i64> = (0..7).map(|_| clock.tick(&mut rng)).collect();
        assert_eq!(times, [100, 101, 102, 104, 105, 107, 108]);
    }

    #[test]
    fn jitter_stays_inside_the_slot() {
        let mut rng = Pcg64Mcg::seed_from_u64(0);
        let mut clock = Clock::new(0, 1_000_000, 1_000);
        let mut last = -1;
        for i in 0..1_000 {
            let time = clock.tick(&mut rng);
            assert!(time >= i * 1_000 && time < (i + 1) * 1_000 && time > last);
            last = time;
        }
    }
}
