//! ISO 3166-1 alpha-2 country codes as two bytes.

use std::fmt;
use std::str::FromStr;

/// An ISO 3166-1 alpha-2 country code such as `JP`, held as two upper-case
/// ASCII letters.
///
/// Two bytes instead of a `String`: lookups answer one per distinct address
/// and the pipeline stores millions of them, so the code is `Copy` and
/// compares as an integer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

/// Why a text is not a country code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a two-letter ISO 3166-1 country code (such as JP or US)")]
pub struct CountryCodeError(pub String);

impl CountryCode {
    /// The code for two ASCII letters, in either case; `None` for anything else.
    pub fn new(text: &str) -> Option<CountryCode> {
        match text.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Some(CountryCode([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => None,
        }
    }

    /// The code for two bytes that are ASCII letters; `None` otherwise.
    pub fn from_bytes(bytes: [u8; 2]) -> Option<CountryCode> {
        std::str::from_utf8(&bytes).ok().and_then(CountryCode::new)
    }

    /// The two upper-case ASCII letters.
    pub fn bytes(self) -> [u8; 2] {
        self.0
    }

    /// The code as text, e.g. `"JP"`.
    pub fn as_str(&self) -> &str {
        // Only upper-case ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = CountryCodeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CountryCode::new(text.trim()).ok_or_else(|| CountryCodeError(text.to_string()))
    }
}

impl From<CountryCode> for [u8; 2] {
    fn from(code: CountryCode) -> [u8; 2] {
        code.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_two_letters_upper_cased() {
        assert_eq!(CountryCode::new("jp").map(|c| c.to_string()), Some("JP".to_string()));
        assert_eq!(CountryCode::new("US").map(CountryCode::bytes), Some(*b"US"));
        assert_eq!(CountryCode::from_bytes(*b"de").map(|c| c.to_string()), Some("DE".to_string()));
        for bad in ["", "J", "JPN", "1A", "é", "J "] {
            assert_eq!(CountryCode::new(bad), None, "{bad:?}");
        }
        assert!("XYZ".parse::<CountryCode>().unwrap_err().to_string().contains("XYZ"));
    }
}
