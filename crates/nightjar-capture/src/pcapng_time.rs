//! pcapng timestamps in the units the interface declares.
//!
//! An Enhanced Packet Block holds a 64-bit count of units of `if_tsresol`
//! (default microseconds). pcap-file 2.0 hands that count back as if it were
//! nanoseconds, so the count is recovered and scaled here.

use std::time::Duration;

/// The default `if_tsresol`: 10^-6 seconds.
pub(crate) const DEFAULT_TSRESOL: u8 = 6;

/// Nanoseconds since the epoch for a raw timestamp count in units of `tsresol`,
/// plus the interface's `if_tsoffset` seconds. Saturates instead of overflowing.
pub(crate) fn to_nanos(raw_units: u128, tsresol: u8, offset_s: u64) -> u64 {
    let exponent = u32::from(tsresol & 0x7f);
    let nanos: u128 = if tsresol & 0x80 != 0 {
        // Negative power of two.
        raw_units.saturating_mul(1_000_000_000).checked_shr(exponent).unwrap_or(0)
    } else if exponent <= 9 {
        raw_units.saturating_mul(10u128.pow(9 - exponent))
    } else {
        raw_units / 10u128.checked_pow(exponent - 9).unwrap_or(u128::MAX)
    };
    let total = nanos.saturating_add(u128::from(offset_s) * 1_000_000_000);
    u64::try_from(total).unwrap_or(u64::MAX)
}

/// The raw unit count pcap-file put in a `Duration`.
pub(crate) fn raw_units(timestamp: Duration) -> u128 {
    timestamp.as_nanos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_decimal_and_binary_resolutions() {
        assert_eq!(to_nanos(1_500_000, 6, 0), 1_500_000_000);
        assert_eq!(to_nanos(7, 9, 0), 7);
        assert_eq!(to_nanos(12_345, 12, 0), 12);
        assert_eq!(to_nanos(3, 0x80 | 1, 0), 1_500_000_000);
        assert_eq!(to_nanos(1, 6, 10), 10_000_001_000);
        assert_eq!(to_nanos(u128::MAX, 0, 0), u64::MAX);
    }
}
