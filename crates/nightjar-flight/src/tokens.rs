//! Analysts' bearer tokens.
//!
//! The tokens file holds one analyst per line, the name then the hex SHA-256 of the token:
//!
//! ```text
//! # nightjar serve-sql tokens: NAME SHA256-OF-TOKEN
//! alice 3f0c…(64 hex digits)
//! ```
//!
//! Blank lines and lines starting with `#` are ignored. Tokens are 256 random bits
//! (`njq_` + URL-safe base64), so a fast hash is enough and the file can be read by anyone who
//! may see the list of names: the tokens themselves are printed once, by [`add_token`]
//! (`nightjar serve-sql add-token NAME --tokens FILE`), and never stored. A token can also be
//! made by hand: `echo "alice $(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" >> tokens`.
//!
//! The running server reads the file again when its modification time changes, so a line
//! deleted revokes that token without a restart. Presented tokens are hashed and compared
//! with every entry in constant time.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Problems with the tokens file.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The name cannot go in the file.
    #[error("`{0}` is not a valid token name: use 1–64 letters, digits, `.`, `_`, `-` or `@`")]
    BadName(String),
    /// A token of that name exists.
    #[error("a token named `{0}` is already in the file; delete its line first to issue a new one")]
    Exists(String),
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `NAME SHA256-HEX`.
    #[error("{path}:{line}: expected `NAME SHA256-HEX` (the hex SHA-256 of the token, 64 digits)")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
    },
    /// The file lists no token, so nobody could connect.
    #[error("{0}: no tokens; add one with `nightjar serve-sql add-token NAME --tokens FILE`")]
    Empty(PathBuf),
}

/// One analyst's entry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    name: String,
    token_sha256: [u8; 32],
}

/// Whether `name` can be a token name (`[A-Za-z0-9._@-]{1,64}`).
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

fn parse(path: &Path, text: &str) -> Result<Vec<Entry>, TokenError> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let malformed = || TokenError::Malformed { path: path.to_path_buf(), line: index + 1 };
        let mut fields = line.split_whitespace();
        let (Some(name), Some(hash), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(malformed());
        };
        let token_sha256 = parse_hex(hash).ok_or_else(malformed)?;
        entries.push(Entry { name: name.to_string(), token_sha256 });
    }
    Ok(entries)
}

fn read(path: &Path) -> Result<Vec<Entry>, TokenError> {
    let text = fs::read_to_string(path).map_err(|source| TokenError::Io { path: path.to_path_buf(), source })?;
    parse(path, &text)
}

/// Adds a token named `name` to the tokens file at `path` (created if missing, readable by its
/// owner only) and returns the new token, which is not stored anywhere.
pub fn add_token(path: &Path, name: &str) -> Result<String, TokenError> {
    if !valid_name(name) {
        return Err(TokenError::BadName(name.into()));
    }
    let existing = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(TokenError::Io { path: path.to_path_buf(), source }),
    };
    if parse(path, &existing)?.iter().any(|entry| entry.name == name) {
        return Err(TokenError::Exists(name.into()));
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("njq_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret));
    let mut text = existing;
    if text.is_empty() {
        text.push_str("# nightjar serve-sql tokens: NAME SHA256-OF-TOKEN (see `nightjar serve-sql add-token`)\n");
    } else if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("{name} {}\n", hex(&digest(&token))));
    write_replacing(path, text.as_bytes()).map_err(|source| TokenError::Io { path: path.to_path_buf(), source })?;
    Ok(token)
}

/// Writes `bytes` under a temporary name beside `path`, then renames it over `path`, so the
/// running server never reads half a file.
fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)
}

/// The tokens the running server accepts, read again from the file whenever it changes.
#[derive(Debug)]
pub struct TokenSet {
    path: PathBuf,
    cached: RwLock<(Option<SystemTime>, Vec<Entry>)>,
}

impl TokenSet {
    /// Reads the tokens file; fails when it cannot be read, has a malformed line or lists no token.
    pub fn load(path: &Path) -> Result<TokenSet, TokenError> {
        let modified = fs::metadata(path).and_then(|meta| meta.modified()).ok();
        let entries = read(path)?;
        if entries.is_empty() {
            return Err(TokenError::Empty(path.to_path_buf()));
        }
        Ok(TokenSet { path: path.to_path_buf(), cached: RwLock::new((modified, entries)) })
    }

    /// The name of the analyst whose token this is, or `None` for a token the file does not list.
    ///
    /// The token's hash is compared with every entry in constant time.
    pub fn name_for(&self, token: &str) -> Result<Option<String>, TokenError> {
        self.reload_if_changed()?;
        let presented = digest(token);
        let cached = self.cached.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut found = None;
        for entry in &cached.1 {
            if bool::from(entry.token_sha256.ct_eq(&presented)) {
                found = Some(entry.name.clone());
            }
        }
        Ok(found)
    }

    fn reload_if_changed(&self) -> Result<(), TokenError> {
        let modified = fs::metadata(&self.path).and_then(|meta| meta.modified()).ok();
        let stale = {
            let cached = self.cached.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            cached.0 != modified || modified.is_none()
        };
        if stale {
            let entries = read(&self.path)?;
            let mut cached = self.cached.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            *cached = (modified, entries);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_tokens_are_accepted_stored_only_hashed_and_revoked_by_deleting_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        let alice = add_token(&path, "alice").unwrap();
        let bob = add_token(&path, "bob").unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&alice) && !text.contains(&bob), "{text}");
        let tokens = TokenSet::load(&path).unwrap();
        assert_eq!(tokens.name_for(&alice).unwrap().as_deref(), Some("alice"));
        assert_eq!(tokens.name_for(&bob).unwrap().as_deref(), Some("bob"));
        assert_eq!(tokens.name_for("njq_guess").unwrap(), None);
        assert!(matches!(add_token(&path, "alice"), Err(TokenError::Exists(_))));

        let without_bob: String =
            text.lines().filter(|line| !line.starts_with("bob ")).map(|l| format!("{l}\n")).collect();
        // A coarse file system clock could keep the modification time: make it differ.
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_replacing(&path, without_bob.as_bytes()).unwrap();
        assert_eq!(tokens.name_for(&bob).unwrap(), None);
        assert_eq!(tokens.name_for(&alice).unwrap().as_deref(), Some("alice"));
    }

    #[test]
    fn malformed_and_empty_files_are_named_with_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        fs::write(&path, "# comment\n\nalice not-a-hash\n").unwrap();
        let error = TokenSet::load(&path).unwrap_err().to_string();
        assert!(error.contains(":3:") && error.contains("SHA-256"), "{error}");
        fs::write(&path, "# nothing yet\n").unwrap();
        let error = TokenSet::load(&path).unwrap_err().to_string();
        assert!(error.contains("add-token"), "{error}");
        assert!(matches!(add_token(&path, "bad name"), Err(TokenError::BadName(_))));
    }
}
