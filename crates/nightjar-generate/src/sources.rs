//! Persistent sources: the scanners, bots, victims and routers that send
//! the generated traffic, each with the fixed traits of its stack or tool.

use nightjar_packet::{Addr16, map_v4};
use rand::Rng;
use rand_pcg::Pcg64Mcg;

use crate::dark::DarkSpace;
use crate::error::GenerateError;
use crate::kind::TrafficKind;
use crate::pool::SourcePool;
use crate::zipf::Zipf;

/// One sender and what stays the same across its packets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Source {
    /// The address (IPv4 in mapped form).
    pub addr: Addr16,
    /// Routers between it and the darknet: the TTL arrives this much lower.
    pub hops: u8,
    /// The TTL (hop limit) its stack or tool starts with.
    pub initial_ttl: u8,
    /// A fixed port: the source port of a tool run, or the service port of a victim.
    pub port: u16,
    /// A fixed TCP window.
    pub window: u16,
    /// A per-source counter (incrementing IP id, ICMP sequence number).
    pub counter: u16,
    /// A per-source identifier (ICMP echo identifier, DNS name index).
    pub ident: u16,
    /// Which variant of its kind it is (e.g. Linux or Windows victim).
    pub flavor: u8,
    /// A per-source offset (TCP timestamp clock).
    pub clock: u32,
    /// Whether it has sent a packet yet, for the summary.
    pub used: bool,
}

impl Source {
    /// The IPv4 address.
    pub(crate) fn v4(&self) -> [u8; 4] {
        [self.addr[12], self.addr[13], self.addr[14], self.addr[15]]
    }

    /// The TTL as it arrives at the darknet.
    pub(crate) fn ttl(&self) -> u8 {
        self.initial_ttl.saturating_sub(self.hops).max(1)
    }

    /// The next value of the counter.
    pub(crate) fn next_counter(&mut self) -> u16 {
        self.counter = self.counter.wrapping_add(1);
        self.counter
    }

    /// A source at `addr` with random common traits; each kind's builder
    /// then sets what its tool or stack fixes.
    pub(crate) fn new(rng: &mut impl Rng, addr: Addr16) -> Source {
        Source {
            addr,
            // Darknet studies see most sources 8–20 hops away.
            hops: rng.random_range(6..=22),
            initial_ttl: 64,
            port: rng.random_range(1024..=65535),
            window: rng.random(),
            counter: rng.random(),
            ident: rng.random(),
            flavor: rng.random(),
            clock: rng.random(),
            used: false,
        }
    }
}

/// The persistent sources of one kind, and the Zipf law over them.
pub(crate) struct SourceTable {
    sources: Vec<Source>,
    zipf: Zipf,
}

impl SourceTable {
    /// `count` sources for `kind`, their traits set by `persona`.
    pub(crate) fn new(
        kind: TrafficKind,
        count: usize,
        rng: &mut Pcg64Mcg,
        pool: &SourcePool,
        dark: &DarkSpace,
        persona: fn(TrafficKind, &mut Source, &mut Pcg64Mcg),
    ) -> Result<SourceTable, GenerateError> {
        let mut sources = Vec::with_capacity(count);
        for _ in 0..count {
            let addr = if kind.is_ipv6() { pool.pick_v6(rng, dark)? } else { map_v4(pool.pick_v4(rng, dark)?) };
            let mut source = Source::new(rng, addr);
            persona(kind, &mut source, rng);
            sources.push(source);
        }
        Ok(SourceTable { zipf: Zipf::new(sources.len()), sources })
    }

    /// The next sender: loud sources often, quiet ones rarely.
    #[inline]
    pub(crate) fn pick(&mut self, rng: &mut Pcg64Mcg) -> &mut Source {
        let source = &mut self.sources[self.zipf.sample(rng)];
        source.used = true;
        source
    }

    /// How many sources have sent at least one packet.
    pub(crate) fn used(&self) -> u64 {
        self.sources.iter().filter(|s| s.used).count() as u64
    }
}
