//! Operations Nightjar's commands and servers share: how small state files are written,
//! changed by several commands at once, and followed by a running server.
//!
//! - [`replace()`] replaces a file atomically and durably (a uniquely named temporary file in
//!   the same folder, written, synced, renamed over the file, the folder synced);
//! - [`StateLock`] is the advisory lock a command holds while it reads, changes and replaces a
//!   state file, so concurrent commands never lose each other's changes;
//! - [`ReloadingFile`] keeps a value built from a file and builds it again when the file
//!   changes, including changes within one tick of the file system's clock;
//! - [`parse_size()`] reads sizes as people write them (`1.5 GiB`, `512MiB`, `2GB`) for every
//!   command-line option and configuration field that takes one;
//! - tokens: [`new_token`], [`TokenDigest`] (SHA-256, compared in constant time), [`NameRule`]
//!   for sensor and analyst names, and a token file: [`TokenStore`] to change it under its
//!   lock, [`TokenChecker`] to answer a running server from it, each file's layout given by a
//!   [`TokenFormat`].
//!
//! Errors are [`StateFileError`]s naming the file and the step, or [`PathIoError`]s naming a
//! step on any file or folder; the system's error is their source. [`error_chain`] writes any error and its causes on one line, each cause once, for
//! answers and log fields.
//!
//! ```
//! use nightjar_ops::{NameRule, StateFileError, TokenChecker, TokenDigest, TokenFormat, TokenStore, TokenTable};
//!
//! /// One `NAME SHA256-HEX` line per token.
//! struct Lines;
//!
//! impl TokenFormat for Lines {
//!     type Contents = Vec<(String, String)>;
//!     type ParseError = std::str::Utf8Error;
//!     const WHAT: &'static str = "a valid token list";
//!     const NEW_FILE_MODE: u32 = nightjar_ops::OWNER_ONLY;
//!     fn empty() -> Self::Contents {
//!         Vec::new()
//!     }
//!     fn parse(bytes: &[u8]) -> Result<Self::Contents, Self::ParseError> {
//!         let text = std::str::from_utf8(bytes)?;
//!         Ok(text.lines().filter_map(|l| l.split_once(' ')).map(|(n, h)| (n.into(), h.into())).collect())
//!     }
//!     fn render(contents: &Self::Contents) -> Vec<u8> {
//!         contents.iter().map(|(name, hex)| format!("{name} {hex}\n")).collect::<String>().into_bytes()
//!     }
//!     fn accepted(contents: &Self::Contents) -> TokenTable {
//!         contents.iter().filter_map(|(n, h)| Some((n.clone(), TokenDigest::from_hex(h)?))).collect()
//!     }
//! }
//!
//! # fn main() -> Result<(), StateFileError> {
//! # let dir = tempfile::tempdir().expect("a temporary folder");
//! # let path = dir.path().join("tokens");
//! let store = TokenStore::<Lines>::new(&path);
//! let checker = TokenChecker::<Lines>::new(&path); // in the running server
//! assert!(NameRule::Analyst.allows("alice"));
//! let token = nightjar_ops::new_token("njq_");
//! store.update(|lines| {
//!     lines.push(("alice".into(), TokenDigest::of(&token).to_hex()));
//!     Ok::<_, StateFileError>(())
//! })?;
//! assert_eq!(checker.name_for(&token)?.as_deref(), Some("alice"));
//! store.update(|lines| {
//!     lines.retain(|(name, _)| name != "alice");
//!     Ok::<_, StateFileError>(())
//! })?;
//! assert_eq!(checker.name_for(&token)?, None); // revoked at once
//! # Ok(())
//! # }
//! ```

mod chain;
mod error;
mod lock;
mod reload;
mod replace;
mod runtime;
mod size;
mod token;
mod token_store;
mod transport;

pub use chain::error_chain;
pub use error::{PathIoError, StateFileError};
pub use lock::StateLock;
pub use reload::{ReloadingFile, SETTLE};
pub use replace::{OWNER_ONLY, READABLE_BY_ALL, replace};
pub use runtime::{runtime, shutdown_signal};
pub use size::{SizeError, parse_size};
pub use token::{NameRule, TokenDigest, TokenTable, new_token};
pub use token_store::{TokenChecker, TokenFormat, TokenStore};
pub use transport::{TransportProblem, transport_problem};
