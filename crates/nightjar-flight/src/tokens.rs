//! Analysts' bearer tokens.
//!
//! The tokens file holds one analyst per line, the name then the hex SHA-256 of the token:
//!
//! ```text
//! # nightjar serve-sql tokens: NAME SHA256-OF-TOKEN
//! alice 3f0c…(64 hex digits)
//! ```
//!
//! Blank lines and lines starting with `#` are ignored (and kept when the file is changed).
//! Tokens are 256 random bits (`njq_` + URL-safe base64), so a fast hash is enough and the
//! file can be read by anyone who may see the list of names: the tokens themselves are
//! printed once, by [`add_token`] (`nightjar serve-sql add-token NAME --tokens FILE`), and
//! never stored. A token can also be made by hand:
//! `echo "alice $(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" >> tokens`.
//!
//! [`add_token`] and [`revoke_token`] take the file's lock (`.NAME.lock` beside it), read the
//! file again, change it and replace it atomically, so commands running at once keep each
//! other's changes. The running server follows the file (see
//! [`nightjar_ops::ReloadingFile`]): a token added or revoked counts from the first call after
//! the command returned, and so does a line deleted by hand. Presented tokens are hashed and
//! compared with every entry in constant time.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nightjar_ops::{NameRule, StateFileError, TokenChecker, TokenDigest, TokenFormat, TokenStore, TokenTable};

/// Analysts' tokens start with this, so a token pasted in the wrong place is recognisable.
const TOKEN_PREFIX: &str = "njq_";

/// The first line of a new tokens file.
const HEADER: &str = "# nightjar serve-sql tokens: NAME SHA256-OF-TOKEN (see `nightjar serve-sql add-token`)";

/// Problems with the tokens file.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The name cannot go in the file.
    #[error("`{0}` is not a valid token name: use 1–64 letters, digits, `.`, `_`, `-` or `@`")]
    BadName(String),
    /// A token of that name exists.
    #[error("a token named `{0}` is already in the file; revoke it first to issue a new one")]
    Exists(String),
    /// No token of that name.
    #[error("no token named `{0}` in the file")]
    Unknown(String),
    /// The file could not be read, locked or written, or a line is not `NAME SHA256-HEX`.
    #[error(transparent)]
    File(#[from] StateFileError),
    /// The file lists no token, so nobody could connect.
    #[error("{}: no tokens; add one with `nightjar serve-sql add-token NAME --tokens FILE`", .0.display())]
    Empty(PathBuf),
}

/// Why the tokens file cannot be read.
#[derive(Debug, thiserror::Error)]
enum TokensFileError {
    /// The file is not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
    /// A line is not `NAME SHA256-HEX`.
    #[error("line {0}: expected `NAME SHA256-HEX` (the hex SHA-256 of the token, 64 digits)")]
    Malformed(usize),
}

/// One line of the file, kept as written.
#[derive(Clone, Debug)]
enum Line {
    /// A blank line or a comment.
    Other(String),
    /// An analyst's token.
    Entry { name: String, digest: TokenDigest, text: String },
}

/// The layout of the tokens file: its lines, in order.
enum TokensText {}

impl TokenFormat for TokensText {
    type Contents = Vec<Line>;
    type ParseError = TokensFileError;
    const WHAT: &'static str = "a valid tokens file";
    const NEW_FILE_MODE: u32 = nightjar_ops::OWNER_ONLY;

    fn empty() -> Vec<Line> {
        Vec::new()
    }

    fn parse(bytes: &[u8]) -> Result<Vec<Line>, TokensFileError> {
        let text = std::str::from_utf8(bytes).map_err(|_| TokensFileError::NotText)?;
        let mut lines = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                lines.push(Line::Other(line.to_string()));
                continue;
            }
            let mut fields = trimmed.split_whitespace();
            let (Some(name), Some(hash), None) = (fields.next(), fields.next(), fields.next()) else {
                return Err(TokensFileError::Malformed(index + 1));
            };
            let digest = TokenDigest::from_hex(hash).ok_or(TokensFileError::Malformed(index + 1))?;
            lines.push(Line::Entry { name: name.to_string(), digest, text: line.to_string() });
        }
        Ok(lines)
    }

    fn render(lines: &Vec<Line>) -> Vec<u8> {
        let mut text = String::new();
        for line in lines {
            let (Line::Other(written) | Line::Entry { text: written, .. }) = line;
            text.push_str(written);
            text.push('\n');
        }
        text.into_bytes()
    }

    fn accepted(lines: &Vec<Line>) -> TokenTable {
        lines
            .iter()
            .filter_map(|line| match line {
                Line::Entry { name, digest, .. } => Some((name.clone(), *digest)),
                Line::Other(_) => None,
            })
            .collect()
    }
}

fn has_entry(lines: &[Line], wanted: &str) -> bool {
    lines.iter().any(|line| matches!(line, Line::Entry { name, .. } if name == wanted))
}

/// Whether `name` can be a token name (`[A-Za-z0-9._@-]{1,64}`).
pub fn valid_name(name: &str) -> bool {
    NameRule::Analyst.allows(name)
}

/// Adds a token named `name` to the tokens file at `path` (created if missing, readable by its
/// owner only) and returns the new token, which is not stored anywhere.
pub fn add_token(path: &Path, name: &str) -> Result<String, TokenError> {
    if !valid_name(name) {
        return Err(TokenError::BadName(name.into()));
    }
    TokenStore::<TokensText>::new(path).update(|lines| {
        if has_entry(lines, name) {
            return Err(TokenError::Exists(name.into()));
        }
        if lines.is_empty() {
            lines.push(Line::Other(HEADER.to_string()));
        }
        let token = nightjar_ops::new_token(TOKEN_PREFIX);
        let digest = TokenDigest::of(&token);
        lines.push(Line::Entry { name: name.to_string(), digest, text: format!("{name} {}", digest.to_hex()) });
        Ok(token)
    })
}

/// Removes the token named `name` from the tokens file at `path`: the running server refuses
/// it from the first call after this returns.
pub fn revoke_token(path: &Path, name: &str) -> Result<(), TokenError> {
    TokenStore::<TokensText>::new(path).update(|lines| {
        if !has_entry(lines, name) {
            return Err(TokenError::Unknown(name.into()));
        }
        lines.retain(|line| !matches!(line, Line::Entry { name: listed, .. } if listed == name));
        Ok(())
    })
}

/// The tokens the running server accepts, read again from the file whenever it changes.
#[derive(Debug)]
pub struct TokenSet {
    checker: TokenChecker<TokensText>,
}

impl TokenSet {
    /// Reads the tokens file; fails when it cannot be read, has a malformed line or lists no token.
    pub fn load(path: &Path) -> Result<TokenSet, TokenError> {
        std::fs::metadata(path).map_err(|source| StateFileError::Read { path: path.to_path_buf(), source })?;
        let checker = TokenChecker::new(path);
        if checker.accepted()?.is_empty() {
            return Err(TokenError::Empty(path.to_path_buf()));
        }
        Ok(TokenSet { checker })
    }

    /// The name of the analyst whose token this is, or `None` for a token the file does not list.
    ///
    /// The token's hash is compared with every entry in constant time.
    pub fn name_for(&self, token: &str) -> Result<Option<String>, TokenError> {
        let accepted: Arc<TokenTable> = self.checker.accepted()?;
        Ok(accepted.name_for(token).map(str::to_string))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// The error and its causes, as the command prints them.
    fn chain(error: &dyn std::error::Error) -> String {
        let mut text = error.to_string();
        let mut cause = error.source();
        while let Some(next) = cause {
            text.push_str(&format!(": {next}"));
            cause = next.source();
        }
        text
    }

    #[test]
    fn added_tokens_are_accepted_stored_only_hashed_and_revoked_at_once() {
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

        // Within the file system clock's tick of the additions.
        revoke_token(&path, "bob").unwrap();
        assert_eq!(tokens.name_for(&bob).unwrap(), None);
        assert_eq!(tokens.name_for(&alice).unwrap().as_deref(), Some("alice"));
        assert!(matches!(revoke_token(&path, "bob"), Err(TokenError::Unknown(_))));
        let bob_again = add_token(&path, "bob").unwrap();
        assert_eq!(tokens.name_for(&bob_again).unwrap().as_deref(), Some("bob"));
        assert_eq!(tokens.name_for(&bob).unwrap(), None);
    }

    #[test]
    fn a_file_written_by_hand_keeps_its_comments_and_lines_through_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        let carol = TokenDigest::of("njq_carol").to_hex();
        let dave = TokenDigest::of("njq_dave").to_hex().to_uppercase();
        fs::write(&path, format!("# analysts\n\ncarol   {carol}\n  dave {dave}  \n")).unwrap();
        let tokens = TokenSet::load(&path).unwrap();
        assert_eq!(tokens.name_for("njq_dave").unwrap().as_deref(), Some("dave"));
        add_token(&path, "erin").unwrap();
        revoke_token(&path, "carol").unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[..3], ["# analysts", "", &format!("  dave {dave}  ")], "{text}");
        assert!(lines[3].starts_with("erin ") && lines.len() == 4, "{text}");
        assert_eq!(tokens.name_for("njq_carol").unwrap(), None);
    }

    #[test]
    fn malformed_and_empty_files_are_named_with_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        fs::write(&path, "# comment\n\nalice not-a-hash\n").unwrap();
        let error = TokenSet::load(&path).unwrap_err();
        assert_eq!(error.to_string(), format!("{} is not a valid tokens file", path.display()));
        let printed = chain(&error);
        assert!(printed.contains("line 3") && printed.contains("SHA-256"), "{printed}");
        assert!(matches!(add_token(&path, "bob"), Err(TokenError::File(StateFileError::Invalid { .. }))));
        fs::write(&path, "# nothing yet\n").unwrap();
        let error = TokenSet::load(&path).unwrap_err().to_string();
        assert!(error.contains("add-token"), "{error}");
        assert!(matches!(add_token(&path, "bad name"), Err(TokenError::BadName(_))));
        let missing = TokenSet::load(&dir.path().join("missing")).unwrap_err();
        assert!(missing.to_string().starts_with("reading ") && missing.to_string().ends_with("missing"), "{missing}");
    }

    #[test]
    fn changes_leave_only_the_file_and_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sql-tokens");
        add_token(&path, "alice").unwrap();
        let names: Vec<String> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|name| name == "sql-tokens" || name == ".sql-tokens.lock"), "{names:?}");
    }
}
