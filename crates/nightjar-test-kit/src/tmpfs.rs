//! A size-limited tmpfs mounted for one test, for full-disk scenarios.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::prereq::{Skipped, missing};

/// A tmpfs mounted on a test's folder; unmounted when dropped.
#[derive(Debug)]
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mount a tmpfs of `size` (`mount -o size=`, e.g. `2m`) on `dir`,
    /// creating `dir`. [`Skipped`] when this machine cannot (not root),
    /// unless the system tests are required, where `test` fails.
    pub fn mount(test: &str, dir: &Path, size: &str) -> Result<Tmpfs, Skipped> {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if mounted { Ok(Tmpfs(dir.to_path_buf())) } else { Err(missing(test, "cannot mount a tmpfs (needs root)")) }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
