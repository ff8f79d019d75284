//! What to generate.

use nightjar_packet::Prefix;

/// 2026-01-01T00:00:00Z in microseconds since the Unix epoch: the default
/// start, fixed so that output does not depend on when it was generated.
pub const DEFAULT_START_TIME_US: i64 = 1_767_225_600_000_000;

/// One day, the default spread of timestamps.
pub const DEFAULT_DURATION_S: u64 = 86_400;

/// The dark prefix used when none is given: TEST-NET-1, which no real
/// source is ever routed from.
pub const DEFAULT_DARK_PREFIX: &str = "192.0.2.0/24";

/// What to generate. The same configuration, pool and seed always give a
/// byte-identical capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// How many frames to write.
    pub packets: u64,
    /// Seed of the PRNG (PCG-64 MCG, portable across platforms).
    pub seed: u64,
    /// The darknet: every destination lies inside one of these prefixes.
    /// Empty means [`DEFAULT_DARK_PREFIX`]. At least one must be IPv4; IPv6
    /// traffic is generated only when an IPv6 prefix is given.
    pub dark_prefixes: Vec<Prefix>,
    /// Time of the first packet, in microseconds since the Unix epoch.
    pub start_time_us: i64,
    /// Seconds over which the packets' timestamps are spread, evenly with jitter.
    pub duration_s: u64,
    /// How many persistent sources (scanners, bots, victims, routers) to
    /// create; `None` is one per 4 packets, at least 64 and at most 1,000,000.
    /// Packets are spread over them with a Zipf law (exponent 1), so a few
    /// are loud and most send one or two packets, as a darknet sees them.
    pub sources: Option<u32>,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            packets: 100_000,
            seed: 0,
            dark_prefixes: Vec::new(),
            start_time_us: DEFAULT_START_TIME_US,
            duration_s: DEFAULT_DURATION_S,
            sources: None,
        }
    }
}

impl GeneratorConfig {
    /// The number of persistent sources this configuration creates.
    pub fn source_count(&self) -> u32 {
        self.sources.unwrap_or_else(|| (self.packets / 4).clamp(64, 1_000_000) as u32)
    }
}
