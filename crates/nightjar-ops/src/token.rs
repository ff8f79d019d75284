//! Bearer tokens: making them, storing them only as a hash, and checking one in constant time.
//!
//! A token is a prefix naming what it opens (`njs_` a collector to a sensor, `njq_` the SQL
//! server to an analyst) and 256 random bits in URL-safe base64. With that much entropy a
//! fast hash is enough: files keep the token's SHA-256, so reading one gives no token away.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new token: `prefix` and 256 random bits in URL-safe base64 without padding.
pub fn new_token(prefix: &str) -> String {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret))
}

/// The SHA-256 of a token, which is all a token file keeps of it.
///
/// It has no `==`: compare with [`matches`](Self::matches), which takes the same time
/// whatever the bytes.
#[derive(Clone, Copy)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of `token`.
    pub fn of(token: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }

    /// Reads 64 hex digits (either case); `None` for anything else.
    pub fn from_hex(text: &str) -> Option<TokenDigest> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(TokenDigest(bytes))
    }

    /// The 64 lowercase hex digits token files hold.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether the two digests are equal, in time that does not depend on their bytes.
    pub fn matches(&self, other: &TokenDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenDigest({})", self.to_hex())
    }
}

/// Who a token file names, and which names it allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// A sensor id: 1–64 letters, digits, `.`, `_` or `-` (it appears in paths and rows).
    Sensor,
    /// An analyst: 1–64 letters, digits, `.`, `_`, `-` or `@` (an e-mail address fits).
    Analyst,
}

impl NameRule {
    /// Whether `name` follows the rule.
    pub fn allows(self, name: &str) -> bool {
        let extra: &[u8] = match self {
            NameRule::Sensor => b"._-",
            NameRule::Analyst => b"._-@",
        };
        (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    }

    /// The rule in words, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            NameRule::Sensor => "1–64 letters, digits, `.`, `_` or `-`",
            NameRule::Analyst => "1–64 letters, digits, `.`, `_`, `-` or `@`",
        }
    }
}

/// The tokens a server accepts: names and digests.
#[derive(Clone, Debug, Default)]
pub struct TokenTable {
    entries: Vec<(String, TokenDigest)>,
}

impl TokenTable {
    /// Accepts the token whose digest is `digest` as `name`'s.
    pub fn insert(&mut self, name: impl Into<String>, digest: TokenDigest) {
        self.entries.push((name.into(), digest));
    }

    /// How many tokens are accepted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is accepted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The name `token` belongs to, or `None` if it is not accepted. The token's digest is
    /// compared with every entry, each in constant time, so the time taken says nothing about
    /// which entry came close.
    pub fn name_for(&self, token: &str) -> Option<&str> {
        let presented = TokenDigest::of(token);
        let mut found = None;
        for (name, digest) in &self.entries {
            if digest.matches(&presented) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

impl<N: Into<String>> FromIterator<(N, TokenDigest)> for TokenTable {
    fn from_iter<I: IntoIterator<Item = (N, TokenDigest)>>(entries: I) -> TokenTable {
        TokenTable { entries: entries.into_iter().map(|(name, digest)| (name.into(), digest)).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_found_only_by_their_digest() {
        let (first, second) = (new_token("njs_"), new_token("njs_"));
        assert!(first.starts_with("njs_") && first.len() == 4 + 43, "{first}");
        assert_ne!(first, second);
        let table: TokenTable = [("tokyo-1", TokenDigest::of(&first))].into_iter().collect();
        assert_eq!(table.name_for(&first), Some("tokyo-1"));
        assert_eq!(table.name_for(&second), None);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn digests_read_back_from_hex_and_refuse_anything_else() {
        let digest = TokenDigest::of("njq_abc");
        let hex = digest.to_hex();
        assert_eq!(hex.len(), 64);
        assert!(TokenDigest::from_hex(&hex).unwrap().matches(&digest));
        assert!(TokenDigest::from_hex(&hex.to_uppercase()).unwrap().matches(&digest));
        for bad in ["", "00", &hex[..63], &format!("{hex}0"), &format!("zz{}", &hex[2..]), &format!("é{}", &hex[2..])]
        {
            assert!(TokenDigest::from_hex(bad).is_none(), "{bad}");
        }
        assert!(!TokenDigest::of("njq_abd").matches(&digest));
    }

    #[test]
    fn name_rules() {
        assert!(NameRule::Sensor.allows("tokyo-1.a_b"));
        assert!(!NameRule::Sensor.allows("alice@example.org"));
        assert!(NameRule::Analyst.allows("alice@example.org"));
        for bad in ["", "has space", "slash/", &"x".repeat(65)] {
            assert!(!NameRule::Sensor.allows(bad) && !NameRule::Analyst.allows(bad), "{bad}");
        }
        assert!(NameRule::Analyst.allows(&"x".repeat(64)));
    }
}
