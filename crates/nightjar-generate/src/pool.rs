//! The address space sources are drawn from, labelled (usually by country).

use std::collections::HashMap;

use nightjar_packet::{Addr16, Prefix};
use rand::Rng;

use crate::dark::DarkSpace;
use crate::error::GenerateError;

/// How many addresses to try before concluding the pool has none usable.
const MAX_DRAWS: u32 = 256;

/// Real address space to draw source addresses from: networks with a label,
/// usually the country of a GeoIP database (`GeoDb::ipv4_networks()`).
///
/// A source is drawn in two steps so that traffic comes from many countries
/// and not only from those with the most networks: half the time a network
/// is picked uniformly among all, half the time a label is picked uniformly
/// and then one of its networks. The address is then uniform within the
/// network.
#[derive(Clone, Debug, Default)]
pub struct SourcePool {
    labels: Vec<String>,
    v4: Networks,
    v6: Networks,
}

/// Networks of one family, grouped by label.
#[derive(Clone, Debug, Default)]
struct Networks {
    all: Vec<Prefix>,
    /// Indices into `all`, per label (same order as `SourcePool::labels`).
    by_label: Vec<Vec<u32>>,
    /// Labels that have at least one network of this family.
    labels_present: Vec<u32>,
    /// Indices of networks of at least 256 addresses (IPv4 /24 or shorter).
    wide: Vec<u32>,
}

impl Networks {
    fn push(&mut self, label: u32, prefix: Prefix) {
        let index = self.all.len() as u32;
        self.all.push(prefix);
        let slot = label as usize;
        if self.by_label.len() <= slot {
            self.by_label.resize_with(slot + 1, Vec::new);
        }
        if self.by_label[slot].is_empty() {
            self.labels_present.push(label);
        }
        self.by_label[slot].push(index);
        if prefix.size() >= 256 {
            self.wide.push(index);
        }
    }

    fn pick(&self, rng: &mut impl Rng) -> &Prefix {
        let index = if rng.random::<bool>() {
            rng.random_range(0..self.all.len() as u32)
        } else {
            let label = self.labels_present[rng.random_range(0..self.labels_present.len() as u32) as usize];
            let members = &self.by_label[label as usize];
            members[rng.random_range(0..members.len() as u32) as usize]
        };
        &self.all[index as usize]
    }
}

impl SourcePool {
    /// A pool from labelled networks, e.g. `GeoDb::ipv4_networks()`. IPv4
    /// and IPv6 networks may be mixed; the order given is kept, so the same
    /// list gives the same draws.
    pub fn new<L: ToString>(networks: impl IntoIterator<Item = (L, Prefix)>) -> SourcePool {
        let mut pool = SourcePool::default();
        let mut label_ids: HashMap<String, u32> = HashMap::new();
        for (label, prefix) in networks {
            let label = label.to_string();
            let id = match label_ids.get(&label) {
                Some(id) => *id,
                None => {
                    let id = pool.labels.len() as u32;
                    label_ids.insert(label.clone(), id);
                    pool.labels.push(label);
                    id
                }
            };
            if prefix.is_v4() { pool.v4.push(id, prefix) } else { pool.v6.push(id, prefix) }
        }
        pool
    }

    /// The number of IPv4 networks.
    pub fn ipv4_len(&self) -> usize {
        self.v4.all.len()
    }

    /// The number of IPv6 networks.
    pub fn ipv6_len(&self) -> usize {
        self.v6.all.len()
    }

    /// The distinct labels, in order of first appearance.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// An IPv4 source outside the dark prefixes whose last octet is neither
    /// 0 nor 255 (those mark a packet as likely spoofed).
    pub(crate) fn pick_v4(&self, rng: &mut impl Rng, dark: &DarkSpace) -> Result<[u8; 4], GenerateError> {
        if self.v4.all.is_empty() {
            return Err(GenerateError::NoIpv4Sources);
        }
        for _ in 0..MAX_DRAWS {
            let prefix = self.v4.pick(rng);
            let mut addr = random_host(rng, prefix);
            if prefix.size() >= 256 && matches!(addr[15], 0 | 255) {
                addr[15] = rng.random_range(1..=254);
            }
            if !matches!(addr[15], 0 | 255) && !dark.contains(&addr) {
                return Ok([addr[12], addr[13], addr[14], addr[15]]);
            }
        }
        Err(GenerateError::NoUsableSource)
    }

    /// An IPv4 source ending in .0 or .255 inside a network of at least 256
    /// addresses (so it stays inside the network); `None` when the pool has
    /// no such network outside the dark prefixes.
    pub(crate) fn pick_v4_edge(&self, rng: &mut impl Rng, dark: &DarkSpace) -> Option<[u8; 4]> {
        if self.v4.wide.is_empty() {
            return None;
        }
        for _ in 0..MAX_DRAWS {
            let prefix = &self.v4.all[self.v4.wide[rng.random_range(0..self.v4.wide.len() as u32) as usize] as usize];
            let mut addr = random_host(rng, prefix);
            addr[15] = if rng.random::<bool>() { 0 } else { 255 };
            if !dark.contains(&addr) {
                return Some([addr[12], addr[13], addr[14], addr[15]]);
            }
        }
        None
    }

    /// An IPv6 source outside the dark prefixes.
    pub(crate) fn pick_v6(&self, rng: &mut impl Rng, dark: &DarkSpace) -> Result<[u8; 16], GenerateError> {
        if self.v6.all.is_empty() {
            return Err(GenerateError::NoUsableSource);
        }
        for _ in 0..MAX_DRAWS {
            let prefix = *self.v6.pick(rng);
            let addr = random_host(rng, &prefix);
            if !dark.contains(&addr) {
                return Ok(addr);
            }
        }
        Err(GenerateError::NoUsableSource)
    }
}

/// A uniformly random address inside `prefix`.
pub(crate) fn random_host(rng: &mut impl Rng, prefix: &Prefix) -> Addr16 {
    let host_bits = 128 - u32::from(prefix.len_bits());
    let host_mask = if host_bits == 0 { 0 } else { u128::MAX >> (128 - host_bits) };
    let network = u128::from_be_bytes(prefix.network());
    (network | (rng.random::<u128>() & host_mask)).to_be_bytes()
}
