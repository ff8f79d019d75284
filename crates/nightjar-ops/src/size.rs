//! Sizes as people write them: `1073741824`, `512 MiB`, `1.5 GiB`, `2GB`.

use thiserror::Error;

/// Why a size could not be read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SizeError {
    /// The text does not start with a number.
    #[error("`{0}` is not a size such as 1073741824, \"512 MiB\" or \"1.5 GiB\"")]
    NotANumber(String),
    /// The unit is none of the known ones.
    #[error("`{unit}` in `{text}` is not a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")]
    UnknownUnit {
        /// The whole text.
        text: String,
        /// The part read as the unit.
        unit: String,
    },
    /// The size does not fit in 64 bits, or a fraction of a byte was asked for.
    #[error("`{0}` is not a whole number of bytes below 16 EiB")]
    OutOfRange(String),
}

/// Reads a size in bytes: a number (whole or decimal, `1.5`) followed by an optional unit,
/// decimal (`KB`, `MB`, `GB`, `TB`: powers of 1000) or binary (`KiB`, `MiB`, `GiB`, `TiB`:
/// powers of 1024), in any letter case, with or without a space. A decimal number must come
/// to a whole number of bytes (`1.5 GiB` does; `1.5` alone does not).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "tb" | "t" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => return Err(SizeError::UnknownUnit { text: text.to_string(), unit: other.to_string() }),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits_only = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits_only(whole) || !digits_only(fraction) {
        return Err(SizeError::NotANumber(text.to_string()));
    }
    let out_of_range = || SizeError::OutOfRange(text.to_string());
    let whole_value: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| out_of_range())? };
    let mut bytes = whole_value.checked_mul(multiplier).ok_or_else(out_of_range)?;
    if !fraction.is_empty() {
        // Exact integer arithmetic: fraction × multiplier / 10^digits must be whole.
        let digits = u32::try_from(fraction.len()).map_err(|_| out_of_range())?;
        let scale = 10u128.checked_pow(digits).ok_or_else(out_of_range)?;
        let numerator = fraction
            .parse::<u128>()
            .ok()
            .and_then(|value| value.checked_mul(u128::from(multiplier)))
            .ok_or_else(out_of_range)?;
        if numerator % scale != 0 {
            return Err(out_of_range());
        }
        let extra = u64::try_from(numerator / scale).map_err(|_| out_of_range())?;
        bytes = bytes.checked_add(extra).ok_or_else(out_of_range)?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::{SizeError, parse_size};

    #[test]
    fn whole_decimal_and_binary_sizes_are_read() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5 GiB"), Ok(3 << 29));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("0.5 kib"), Ok(512));
        assert_eq!(parse_size(" 7 b "), Ok(7));
    }

    #[test]
    fn nonsense_is_refused_with_the_reason() {
        assert!(matches!(parse_size("1 parsec"), Err(SizeError::UnknownUnit { .. })));
        assert!(matches!(parse_size("GiB"), Err(SizeError::NotANumber(_))));
        assert!(matches!(parse_size("1.2.3 GiB"), Err(SizeError::NotANumber(_))));
        assert!(matches!(parse_size("."), Err(SizeError::NotANumber(_))));
        assert!(matches!(parse_size("99999999999 TiB"), Err(SizeError::OutOfRange(_))));
        assert!(matches!(parse_size("1.5"), Err(SizeError::OutOfRange(_))));
        assert!(matches!(parse_size("1.999999999999999999999999999999999 TiB"), Err(SizeError::OutOfRange(_))));
        assert!(matches!(parse_size("0.0000000000000000000000000000000000000001 GiB"), Err(SizeError::OutOfRange(_))));
    }
}
