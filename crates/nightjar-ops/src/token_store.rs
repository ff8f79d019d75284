//! A token file: read by anyone, changed only under its lock, followed by a running server.
//!
//! A [`TokenFormat`] says how one kind of file is laid out; [`TokenStore`] changes such a file
//! for a command (lock, read again, change, replace atomically, release), and
//! [`TokenChecker`] answers a running server's "whose token is this?" from the file as it is
//! now (see [`ReloadingFile`] for how a change is noticed).

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::reload::ReloadingFile;
use crate::token::TokenTable;
use crate::{StateFileError, StateLock, replace};

/// How one kind of token file is laid out.
pub trait TokenFormat {
    /// The file's contents, parsed.
    type Contents;
    /// Why bytes are not a valid file of this kind (a line number, what the parser said).
    type ParseError: std::error::Error + Send + Sync + 'static;
    /// What a valid file is, for [`StateFileError::Invalid`]: "a valid sensor list".
    const WHAT: &'static str;
    /// The permissions of a newly created file (less the umask); see [`crate::OWNER_ONLY`].
    const NEW_FILE_MODE: u32;

    /// The contents of a file not created yet.
    fn empty() -> Self::Contents;
    /// Parses a file's bytes.
    fn parse(bytes: &[u8]) -> Result<Self::Contents, Self::ParseError>;
    /// Lays the contents out as the file's bytes; parsing them gives the contents back.
    fn render(contents: &Self::Contents) -> Vec<u8>;
    /// The tokens the contents let in.
    fn accepted(contents: &Self::Contents) -> TokenTable;
}

fn parse<F: TokenFormat>(path: &Path, bytes: Option<&[u8]>) -> Result<F::Contents, StateFileError> {
    match bytes {
        None => Ok(F::empty()),
        Some(bytes) => F::parse(bytes).map_err(|error| StateFileError::Invalid {
            path: path.to_path_buf(),
            what: F::WHAT,
            source: Box::new(error),
        }),
    }
}

/// A token file that commands change.
pub struct TokenStore<F> {
    path: PathBuf,
    format: PhantomData<fn() -> F>,
}

impl<F: TokenFormat> TokenStore<F> {
    /// The token file at `path`.
    pub fn new(path: &Path) -> TokenStore<F> {
        TokenStore { path: path.to_path_buf(), format: PhantomData }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The contents now; a missing file is empty. No lock is needed: the file is only ever
    /// replaced whole.
    pub fn read(&self) -> Result<F::Contents, StateFileError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => parse::<F>(&self.path, Some(&bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(F::empty()),
            Err(source) => Err(StateFileError::Read { path: self.path.clone(), source }),
        }
    }

    /// Changes the file: takes its lock (waiting for any other command changing it), reads it
    /// again, applies `change`, replaces the file atomically and releases the lock. When
    /// `change` fails nothing is written. The folder is created if missing.
    ///
    /// When this returns, the change is on disk and the next check of a [`TokenChecker`] on
    /// the file sees it.
    pub fn update<R, E>(&self, change: impl FnOnce(&mut F::Contents) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StateFileError>,
    {
        let folder = crate::replace::folder_of(&self.path);
        std::fs::create_dir_all(folder).map_err(|source| StateFileError::Write { path: self.path.clone(), source })?;
        let lock = StateLock::acquire(&self.path)?;
        let mut contents = self.read()?;
        let answer = change(&mut contents)?;
        replace(&self.path, &F::render(&contents), F::NEW_FILE_MODE)?;
        drop(lock);
        Ok(answer)
    }
}

/// A running server's view of a token file, read again when the file changes.
pub struct TokenChecker<F> {
    file: ReloadingFile<TokenTable>,
    format: PhantomData<fn() -> F>,
}

impl<F: TokenFormat> TokenChecker<F> {
    /// Follows the token file at `path`; nothing is read until the first check.
    pub fn new(path: &Path) -> TokenChecker<F> {
        TokenChecker { file: ReloadingFile::new(path), format: PhantomData }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The tokens the file lets in now (none when the file is missing).
    pub fn accepted(&self) -> Result<Arc<TokenTable>, StateFileError> {
        let path = self.file.path();
        self.file.current(|bytes| parse::<F>(path, bytes).map(|contents| F::accepted(&contents)))
    }

    /// The name `token` belongs to as the file is now, or `None` if it lets no such token in.
    pub fn name_for(&self, token: &str) -> Result<Option<String>, StateFileError> {
        Ok(self.accepted()?.name_for(token).map(str::to_string))
    }
}

// By hand: a derive would ask the format to be `Debug` too.
impl<F> std::fmt::Debug for TokenStore<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore").field("path", &self.path).finish()
    }
}

impl<F> std::fmt::Debug for TokenChecker<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenChecker").field("file", &self.file).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NameRule, TokenDigest, new_token};

    /// `NAME HEX` lines.
    struct Lines;

    #[derive(Debug, thiserror::Error)]
    #[error("line {0}: expected `NAME HEX`")]
    struct BadLine(usize);

    impl TokenFormat for Lines {
        type Contents = Vec<(String, String)>;
        type ParseError = BadLine;
        const WHAT: &'static str = "a test token file";
        const NEW_FILE_MODE: u32 = crate::OWNER_ONLY;

        fn empty() -> Self::Contents {
            Vec::new()
        }

        fn parse(bytes: &[u8]) -> Result<Self::Contents, BadLine> {
            let text = std::str::from_utf8(bytes).map_err(|_| BadLine(0))?;
            let split = |(index, line): (usize, &str)| {
                line.split_once(' ').map(|(n, h)| (n.to_string(), h.to_string())).ok_or(BadLine(index + 1))
            };
            text.lines().enumerate().map(split).collect()
        }

        fn render(contents: &Self::Contents) -> Vec<u8> {
            contents.iter().map(|(name, hex)| format!("{name} {hex}\n")).collect::<String>().into_bytes()
        }

        fn accepted(contents: &Self::Contents) -> TokenTable {
            contents.iter().filter_map(|(name, hex)| Some((name.clone(), TokenDigest::from_hex(hex)?))).collect()
        }
    }

    fn add(store: &TokenStore<Lines>, name: &str) -> String {
        let token = new_token("t_");
        store
            .update(|contents| {
                contents.push((name.to_string(), TokenDigest::of(&token).to_hex()));
                Ok::<_, StateFileError>(())
            })
            .unwrap();
        token
    }

    #[test]
    fn concurrent_updates_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::<Lines>::new(&dir.path().join("state").join("tokens"));
        let tokens: Vec<(String, String)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let store = &store;
                    scope.spawn(move || {
                        let name = format!("user-{i}");
                        assert!(NameRule::Analyst.allows(&name));
                        let token = add(store, &name);
                        (name, token)
                    })
                })
                .collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).collect()
        });
        let checker = TokenChecker::<Lines>::new(store.path());
        assert_eq!(checker.accepted().unwrap().len(), 16);
        for (name, token) in &tokens {
            assert_eq!(checker.name_for(token).unwrap().as_deref(), Some(name.as_str()));
        }
    }

    #[test]
    fn a_removal_is_seen_by_the_next_check_and_a_failed_change_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::<Lines>::new(&dir.path().join("tokens"));
        let checker = TokenChecker::<Lines>::new(store.path());
        assert!(checker.accepted().unwrap().is_empty(), "a missing file lets no one in");
        let alice = add(&store, "alice");
        let bob = add(&store, "bob");
        assert_eq!(checker.name_for(&alice).unwrap().as_deref(), Some("alice"));
        // Removed at once, within the same clock tick as the additions.
        store
            .update(|contents| {
                contents.retain(|(name, _)| name != "alice");
                Ok::<_, StateFileError>(())
            })
            .unwrap();
        assert_eq!(checker.name_for(&alice).unwrap(), None);
        assert_eq!(checker.name_for(&bob).unwrap().as_deref(), Some("bob"));

        let before = std::fs::read(store.path()).unwrap();
        let refused: Result<(), StateFileError> = store.update(|contents| {
            contents.clear();
            Err(StateFileError::Invalid { path: PathBuf::new(), what: "kept", source: "refused".into() })
        });
        assert!(refused.is_err());
        assert_eq!(std::fs::read(store.path()).unwrap(), before);
    }

    #[test]
    fn an_invalid_file_names_the_path_and_keeps_the_parser_message_as_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "alice 00\nno-hash-here\n").unwrap();
        let error = TokenStore::<Lines>::new(&path).read().unwrap_err();
        assert_eq!(error.to_string(), format!("{} is not a test token file", path.display()));
        let source = std::error::Error::source(&error).map(|source| source.to_string());
        assert_eq!(source.as_deref(), Some("line 2: expected `NAME HEX`"));
        assert!(TokenChecker::<Lines>::new(&path).accepted().is_err());
    }
}
