//! What a packet builder works with, and field rules shared by builders.

use nightjar_packet::ZMAP_IP_ID;
use rand::Rng;
use rand_pcg::Pcg64Mcg;

use crate::dark::DarkSpace;
use crate::error::GenerateError;
use crate::pool::SourcePool;
use crate::wire::Frame;

/// The state a builder draws from and writes into.
pub(crate) struct Cx<'a> {
    pub rng: &'a mut Pcg64Mcg,
    pub frame: &'a mut Frame,
    pub dark: &'a DarkSpace,
    pub pool: &'a SourcePool,
    /// The packet's timestamp, µs since the Unix epoch.
    pub now_us: i64,
}

impl Cx<'_> {
    /// An IPv4 darknet destination.
    pub(crate) fn dst_v4(&mut self) -> [u8; 4] {
        self.dark.pick_v4(self.rng)
    }

    /// An IPv6 darknet destination.
    pub(crate) fn dst_v6(&mut self) -> [u8; 16] {
        self.dark.pick_v6(self.rng)
    }

    /// A fresh IPv4 address from the pool (for spoofed and one-off packets).
    pub(crate) fn fresh_v4(&mut self) -> Result<[u8; 4], GenerateError> {
        self.pool.pick_v4(self.rng, self.dark)
    }

    /// One of `items`, uniformly.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len() as u32) as usize]
    }

    /// One of `items`, with the given integer weights.
    pub(crate) fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        weighted(self.rng, items)
    }

    /// A port in `low..=high`.
    pub(crate) fn port(&mut self, low: u16, high: u16) -> u16 {
        self.rng.random_range(low..=high)
    }

    /// `true` with probability `percent` / 100.
    pub(crate) fn percent(&mut self, percent: u32) -> bool {
        self.rng.random_range(0..100) < percent
    }
}

/// One of `items` (not empty), with the given integer weights.
pub(crate) fn weighted<T: Copy>(rng: &mut impl Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut target = rng.random_range(0..total.max(1));
    for (item, weight) in items {
        if target < *weight {
            return *item;
        }
        target -= weight;
    }
    items[items.len() - 1].0
}

/// Masscan's IP id: the low 16 bits of destination ^ destination port ^ sequence.
pub(crate) fn masscan_ip_id(dst: [u8; 4], dst_port: u16, seq: u32) -> u16 {
    (u32::from_be_bytes(dst) ^ u32::from(dst_port) ^ seq) as u16
}

/// An IP id that carries no tool fingerprint by chance: not ZMap's 54321,
/// and, for a SYN-only segment, not Masscan's formula (`masscan`).
pub(crate) fn plain_ip_id(mut id: u16, masscan: Option<u16>) -> u16 {
    while id == ZMAP_IP_ID || Some(id) == masscan {
        id = id.wrapping_add(1);
    }
    id
}

/// A sequence number that is not Mirai's fingerprint (the destination address).
pub(crate) fn plain_seq(seq: u32, dst: [u8; 4]) -> u32 {
    if seq == u32::from_be_bytes(dst) { seq.wrapping_add(1) } else { seq }
}
