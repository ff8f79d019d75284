//! Addresses in the one form the whole pipeline uses, and prefixes over them.
//!
//! Every address, IPv4 or IPv6, is held as 16 bytes in network order: an IPv6
//! address as it is, an IPv4 address in its IPv4-mapped form `::ffff:a.b.c.d`.
//! One fixed-width form means one column type, byte order equal to address
//! order (so Parquet min/max statistics prune CIDR filters), and CIDR
//! membership as a masked compare.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address as 16 bytes in network order; IPv4 in IPv4-mapped form.
pub type Addr16 = [u8; 16];

/// The IPv4-mapped form of an IPv4 address.
#[inline]
pub fn map_v4(octets: [u8; 4]) -> Addr16 {
    let mut out = [0u8; 16];
    out[10] = 0xff;
    out[11] = 0xff;
    out[12..].copy_from_slice(&octets);
    out
}

/// The IPv4 address inside a mapped address, if it is one.
#[inline]
pub fn as_v4(addr: &Addr16) -> Option<Ipv4Addr> {
    if addr[..10].iter().all(|b| *b == 0) && addr[10] == 0xff && addr[11] == 0xff {
        Some(Ipv4Addr::new(addr[12], addr[13], addr[14], addr[15]))
    } else {
        None
    }
}

/// The standard library address for a 16-byte address (IPv4 when mapped).
pub fn to_ip(addr: &Addr16) -> IpAddr {
    match as_v4(addr) {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(Ipv6Addr::from(*addr)),
    }
}

/// The 16-byte form of a standard library address.
pub fn from_ip(ip: IpAddr) -> Addr16 {
    match ip {
        IpAddr::V4(v4) => map_v4(v4.octets()),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The 16-byte form of an address written as text (`"192.0.2.7"`, `"2001:db8::1"`), for tests.
#[cfg(test)]
pub(crate) fn addr(text: &str) -> Addr16 {
    from_ip(text.parse().expect("a test address"))
}

/// A CIDR prefix over the 16-byte address space.
///
/// An IPv4 prefix `a.b.c.d/n` is stored as the mapped prefix of length
/// `96 + n`, so one comparison serves both families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    network: u128,
    len: u8,
}

/// Why a text is not a CIDR prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The address part does not parse.
    #[error("`{0}` is not an IPv4 or IPv6 address (expected a CIDR such as 192.0.2.0/24)")]
    BadAddress(String),
    /// The length part does not parse or is too long for the family.
    #[error("`{0}` has a bad prefix length (0–32 for IPv4, 0–128 for IPv6)")]
    BadLength(String),
    /// Bits are set past the prefix length, which usually means a typo.
    #[error("`{text}` has host bits set; did you mean {suggestion}?")]
    HostBitsSet {
        /// The text as given.
        text: String,
        /// The prefix with host bits cleared.
        suggestion: String,
    },
}

#[inline]
fn mask(len: u8) -> u128 {
    if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len)) }
}

impl Prefix {
    /// A prefix from a 16-byte network address and a length over 128 bits.
    /// Host bits are cleared.
    pub fn new(network: Addr16, len: u8) -> Self {
        let len = len.min(128);
        Prefix { network: u128::from_be_bytes(network) & mask(len), len }
    }

    /// Whether `addr` lies inside this prefix.
    #[inline]
    pub fn contains(&self, addr: &Addr16) -> bool {
        u128::from_be_bytes(*addr) & mask(self.len) == self.network
    }

    /// The length over the 128-bit space (an IPv4 /24 reports 120).
    pub fn len_bits(&self) -> u8 {
        self.len
    }

    /// The network address as 16 bytes.
    pub fn network(&self) -> Addr16 {
        self.network.to_be_bytes()
    }

    /// The number of addresses inside the prefix, saturating at `u128::MAX`.
    pub fn size(&self) -> u128 {
        if self.len == 0 { u128::MAX } else { 1u128 << (128 - u32::from(self.len)) }
    }

    /// The offset of `addr` from the start of this prefix (the host part).
    pub fn offset_of(&self, addr: &Addr16) -> u128 {
        u128::from_be_bytes(*addr) & !mask(self.len)
    }

    /// Whether this is an IPv4 prefix (inside `::ffff:0:0/96`).
    pub fn is_v4(&self) -> bool {
        self.len >= 96 && as_v4(&self.network()).is_some()
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (addr_text, len_text) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let ip = IpAddr::from_str(addr_text).map_err(|_| PrefixError::BadAddress(text.to_string()))?;
        let (family_bits, offset) = match ip {
            IpAddr::V4(_) => (32u8, 96u8),
            IpAddr::V6(_) => (128u8, 0u8),
        };
        let len = match len_text {
            None => family_bits,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= family_bits)
                .ok_or_else(|| PrefixError::BadLength(text.to_string()))?,
        };
        let addr = from_ip(ip);
        let prefix = Prefix::new(addr, len + offset);
        if prefix.network() != addr {
            return Err(PrefixError::HostBitsSet { text: text.to_string(), suggestion: prefix.to_string() });
        }
        Ok(prefix)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match to_ip(&self.network()) {
            IpAddr::V4(v4) if self.len >= 96 => write!(f, "{}/{}", v4, self.len - 96),
            _ => write!(f, "{}/{}", Ipv6Addr::from(self.network), self.len),
        }
    }
}

/// A set of prefixes with a membership test, e.g. a sensor's dark prefixes.
#[derive(Clone, Debug, Default)]
pub struct PrefixSet {
    prefixes: Vec<Prefix>,
}

impl PrefixSet {
    /// A set holding the given prefixes.
    pub fn new(prefixes: Vec<Prefix>) -> Self {
        PrefixSet { prefixes }
    }

    /// Whether the set has no prefixes.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// The prefixes, in the order given.
    pub fn prefixes(&self) -> &[Prefix] {
        &self.prefixes
    }

    /// The first prefix containing `addr`.
    #[inline]
    pub fn find(&self, addr: &Addr16) -> Option<&Prefix> {
        self.prefixes.iter().find(|p| p.contains(addr))
    }

    /// Whether any prefix contains `addr`.
    #[inline]
    pub fn contains(&self, addr: &Addr16) -> bool {
        self.find(addr).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_prefix_contains_only_its_block() {
        let p: Prefix = "192.0.2.0/24".parse().unwrap();
        assert!(p.contains(&addr("192.0.2.77")));
        assert!(!p.contains(&addr("192.0.3.1")));
        assert_eq!(p.to_string(), "192.0.2.0/24");
        assert_eq!(p.size(), 256);
        assert_eq!(p.offset_of(&addr("192.0.2.77")), 77);
        assert!(p.is_v4());
    }

    #[test]
    fn v6_prefix_and_bare_address() {
        let p: Prefix = "2001:db8::/32".parse().unwrap();
        assert!(p.contains(&addr("2001:db8:1::5")));
        assert!(!p.contains(&addr("2001:db9::1")));
        let host: Prefix = "198.51.100.7".parse().unwrap();
        assert_eq!(host.to_string(), "198.51.100.7/32");
    }

    #[test]
    fn bad_prefixes_say_what_is_wrong() {
        assert!(matches!("192.0.2.1/24".parse::<Prefix>(), Err(PrefixError::HostBitsSet { .. })));
        assert!(matches!("192.0.2.0/33".parse::<Prefix>(), Err(PrefixError::BadLength(_))));
        assert!(matches!("example/8".parse::<Prefix>(), Err(PrefixError::BadAddress(_))));
        let msg = "192.0.2.1/24".parse::<Prefix>().unwrap_err().to_string();
        assert!(msg.contains("192.0.2.0/24"), "{msg}");
    }

    #[test]
    fn zero_length_prefix_holds_everything() {
        let p: Prefix = "::/0".parse().unwrap();
        assert!(p.contains(&addr("8.8.8.8")));
    }
}
