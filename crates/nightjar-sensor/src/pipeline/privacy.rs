//! Partner privacy: what of the partner's address space and of packet
//! payloads leaves the sensor. Applied to every batch before it is spooled,
//! so nothing else is ever written to disk or sent.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, FixedSizeBinaryArray, UInt32Array};
use arrow::datatypes::UInt32Type;
use arrow::record_batch::RecordBatch;
use nightjar_packet::{Addr16, Prefix, PrefixSet, as_v4};
use nightjar_record::{ADDRESS_WIDTH, col};
use serde::Deserialize;

use crate::error::ConfigError;

/// What of the partner's address space and of payloads leaves the sensor.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// How dark addresses are sent, in `dst_ip` and wherever else a dark
    /// address appears (the `inner_src_ip`/`inner_dst_ip` of a quoted
    /// packet, and the TCP sequence number of Mirai probes, which equals the
    /// destination address):
    ///
    /// - `"keep"` (default): as captured.
    /// - `"prefix"`: the network address of the dark prefix holding it
    ///   (`192.0.2.77` in `192.0.2.0/24` → `192.0.2.0`). The collector
    ///   learns which block was hit, not which address.
    /// - `"offset"`: the offset inside the dark prefix, tagged with the
    ///   prefix's position in `filter.dark_prefixes`. The 16-byte `dst_ip`
    ///   then holds, big-endian, `(index << 112) | offset`: bytes 0–1 are the
    ///   0-based index of the dark prefix, bytes 2–15 the address minus the
    ///   prefix's network address. `192.0.2.77` in the first prefix
    ///   `192.0.2.0/24` becomes `::4d` (index 0, offset 77); in the second
    ///   prefix it would be `1::4d`. The value is not an address: neither the
    ///   block nor the addresses are disclosed, while the spread of probes
    ///   over the block stays visible. Needs every dark prefix to be /16 or
    ///   longer (IPv4 prefixes always are) and at most 65536 prefixes. A
    ///   Mirai sequence number becomes the 32-bit offset.
    ///
    /// `ip_version` is kept in every mode.
    #[serde(default)]
    pub destination: DestinationPrivacy,
    /// Bytes of transport payload kept per packet (default 0: none, the
    /// `payload` column is null). Payloads can hold the partner's addresses
    /// (DNS answers, SSDP, SIP), so keep this 0 unless agreed.
    #[serde(default)]
    pub payload_prefix: usize,
}

/// How dark addresses leave the sensor; see [`PrivacyConfig::destination`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationPrivacy {
    /// As captured.
    #[default]
    Keep,
    /// The network address of the dark prefix.
    Prefix,
    /// `(index of the dark prefix << 112) | offset inside it`.
    Offset,
}

/// The most payload bytes a record may keep.
pub const MAX_PAYLOAD_PREFIX: usize = 65_535;

impl PrivacyConfig {
    /// Ranges, and what `offset` needs of the dark prefixes.
    pub fn validate(&self, dark: &PrefixSet) -> Result<(), ConfigError> {
        if self.payload_prefix > MAX_PAYLOAD_PREFIX {
            return Err(ConfigError::invalid(
                "privacy.payload_prefix",
                format!("{} is more than {MAX_PAYLOAD_PREFIX} bytes", self.payload_prefix),
            ));
        }
        if self.destination == DestinationPrivacy::Offset {
            if dark.prefixes().len() > 1 << 16 {
                return Err(ConfigError::invalid(
                    "privacy.destination",
                    "`offset` numbers the dark prefixes in 16 bits: at most 65536 prefixes",
                ));
            }
            if let Some(short) = dark.prefixes().iter().find(|p| p.len_bits() < 16) {
                return Err(ConfigError::invalid(
                    "privacy.destination",
                    format!("`offset` needs dark prefixes of /16 or longer; {short} is shorter"),
                ));
            }
        }
        Ok(())
    }
}

/// The privacy transform of one sensor, ready to apply to batches.
#[derive(Clone, Debug)]
pub struct PrivacyTransform {
    mode: DestinationPrivacy,
    dark: Vec<Prefix>,
}

impl PrivacyTransform {
    /// The transform for `mode` over the dark prefixes (in config order).
    pub fn new(mode: DestinationPrivacy, dark: &PrefixSet) -> Self {
        PrivacyTransform { mode, dark: dark.prefixes().to_vec() }
    }

    /// Whether batches pass unchanged.
    pub fn is_identity(&self) -> bool {
        self.mode == DestinationPrivacy::Keep
    }

    /// The form an address takes on the wire; `None` when it is in no dark
    /// prefix (and so is not the partner's to hide).
    pub fn address(&self, addr: &Addr16) -> Option<Addr16> {
        let (index, prefix) = self.dark.iter().enumerate().find(|(_, p)| p.contains(addr))?;
        Some(match self.mode {
            DestinationPrivacy::Keep => *addr,
            DestinationPrivacy::Prefix => prefix.network(),
            DestinationPrivacy::Offset => ((index as u128) << 112 | prefix.offset_of(addr)).to_be_bytes(),
        })
    }

    /// Apply to a batch of the packet record schema.
    pub fn apply(&self, batch: &RecordBatch) -> RecordBatch {
        if self.is_identity() || batch.num_rows() == 0 {
            return batch.clone();
        }
        let schema = batch.schema();
        let index = |name: &str| schema.index_of(name).expect("the packet record schema has this column");
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        let dst = index(col::DST_IP);
        let seq = index(col::TCP_SEQ);
        columns[seq] = self.mirai_sequence_numbers(columns[dst].as_fixed_size_binary(), columns[seq].as_primitive());
        for name in [col::DST_IP, col::INNER_SRC_IP, col::INNER_DST_IP] {
            let i = index(name);
            columns[i] = self.addresses(columns[i].as_fixed_size_binary());
        }
        RecordBatch::try_new(schema, columns).expect("the transform keeps every column's type and length")
    }

    fn addresses(&self, column: &FixedSizeBinaryArray) -> ArrayRef {
        let values = (0..column.len()).map(|row| {
            if column.is_null(row) {
                return None;
            }
            let mut addr: Addr16 = [0; 16];
            addr.copy_from_slice(column.value(row));
            Some(self.address(&addr).unwrap_or(addr))
        });
        Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(values, ADDRESS_WIDTH)
                .expect("every value is 16 bytes"),
        )
    }

    /// A TCP sequence number equal to the IPv4 destination (Mirai) would
    /// disclose it: give it the destination's transformed 32 bits instead,
    /// so `tcp_seq` still equals the low 32 bits of `dst_ip`.
    fn mirai_sequence_numbers(
        &self,
        dst: &FixedSizeBinaryArray,
        seq: &arrow::array::PrimitiveArray<UInt32Type>,
    ) -> ArrayRef {
        let values: UInt32Array = (0..seq.len())
            .map(|row| {
                if seq.is_null(row) {
                    return None;
                }
                let value = seq.value(row);
                let mut addr: Addr16 = [0; 16];
                addr.copy_from_slice(dst.value(row));
                match as_v4(&addr) {
                    Some(v4) if u32::from(v4) == value => {
                        let hidden = self.address(&addr).unwrap_or(addr);
                        Some(u32::from_be_bytes([hidden[12], hidden[13], hidden[14], hidden[15]]))
                    }
                    _ => Some(value),
                }
            })
            .collect();
        Arc::new(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nightjar_packet::from_ip;

    /// The stored form of an address written as text.
    fn addr(text: &str) -> Addr16 {
        from_ip(text.parse().expect("a test address"))
    }

    fn dark() -> PrefixSet {
        PrefixSet::new(vec!["192.0.2.0/24".parse().unwrap(), "2001:db8:2::/64".parse().unwrap()])
    }

    #[test]
    fn keep_leaves_addresses_alone() {
        let t = PrivacyTransform::new(DestinationPrivacy::Keep, &dark());
        assert_eq!(t.address(&addr("192.0.2.77")), Some(addr("192.0.2.77")));
        assert_eq!(t.address(&addr("198.51.100.1")), None);
    }

    #[test]
    fn prefix_truncates_to_the_network_address() {
        let t = PrivacyTransform::new(DestinationPrivacy::Prefix, &dark());
        assert_eq!(t.address(&addr("192.0.2.77")), Some(addr("192.0.2.0")));
        assert_eq!(t.address(&addr("2001:db8:2::abcd:1")), Some(addr("2001:db8:2::")));
    }

    #[test]
    fn offset_is_index_and_host_part_as_documented() {
        let t = PrivacyTransform::new(DestinationPrivacy::Offset, &dark());
        // Index 0, offset 77: `::4d`.
        let mut expected = [0u8; 16];
        expected[15] = 77;
        assert_eq!(t.address(&addr("192.0.2.77")), Some(expected));
        assert_eq!(std::net::Ipv6Addr::from(expected).to_string(), "::4d");
        // Index 1 (the IPv6 prefix), offset ::abcd:1 → bytes 0–1 = 0x0001.
        let hidden = t.address(&addr("2001:db8:2::abcd:1")).unwrap();
        assert_eq!(std::net::Ipv6Addr::from(hidden).to_string(), "1::abcd:1");
    }

    #[test]
    fn offset_refuses_short_ipv6_prefixes() {
        let dark = PrefixSet::new(vec!["2001:db8::/12".parse().unwrap_or_else(|_| Prefix::new([0x20; 16], 12))]);
        let config = PrivacyConfig { destination: DestinationPrivacy::Offset, payload_prefix: 0 };
        let err = config.validate(&dark).unwrap_err();
        assert_eq!(err.key(), Some("privacy.destination"), "{err}");
    }
}
