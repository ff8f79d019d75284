//! Whether a test may run on this machine: root, network namespaces, the
//! tools and Python packages it drives.
//!
//! A test whose prerequisites are missing returns [`Skipped`] (the harness
//! reports it *ignored* with the reason), so `cargo test` works on a machine
//! with only the Rust toolchain. `NIGHTJAR_SYSTEM_TESTS=require` (set by CI)
//! turns every missing prerequisite into a failure instead.

use std::collections::HashMap;
use std::env;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::process::{run, try_run};

/// The variable CI sets to `require` to make these tests mandatory.
pub const REQUIRE_VAR: &str = "NIGHTJAR_SYSTEM_TESTS";

/// Tools every capture scenario uses: namespaces, sysctls, capture, referee, signals.
const BASE_TOOLS: [&str; 5] = ["ip", "sysctl", "tcpdump", "tshark", "kill"];

/// Where root's tools live when PATH leaves the sbin folders out.
const SBIN_FALLBACK: [&str; 3] = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// A test that cannot run here, and why; the harness reports it ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    reason: String,
}

impl Skipped {
    /// What is missing, with how to install it.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Whether CI made the system tests mandatory (`NIGHTJAR_SYSTEM_TESTS=require`).
pub fn required() -> bool {
    env::var(REQUIRE_VAR).is_ok_and(|v| v == "require")
}

/// `test` cannot run here because of `why`: a [`Skipped`] to return, or a
/// panic naming both when the system tests are required.
pub fn missing(test: &str, why: impl fmt::Display) -> Skipped {
    if required() {
        panic!("{test}: {REQUIRE_VAR}=require, but {why}");
    }
    eprintln!("{test}: ignored: {why} (set {REQUIRE_VAR}=require to make this a failure)");
    Skipped { reason: why.to_string() }
}

/// `python3 -c "import MODULES"` succeeds here, or `test` is [`missing`] them
/// (`install` says how to get them).
pub fn python_imports(test: &str, modules: &str, install: &str) -> Result<(), Skipped> {
    let imported = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if imported { Ok(()) } else { Err(missing(test, format!("python3 cannot import {modules} ({install})"))) }
}

/// Something a scenario needs beyond [`BASE_TOOLS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// An executable found on PATH.
    Tool(&'static str),
    /// A Python 3 that imports scapy.
    Scapy,
}

/// The resolved tools of a scenario that may run.
#[derive(Debug)]
pub struct Tools {
    paths: HashMap<&'static str, PathBuf>,
    python: Option<PathBuf>,
}

impl Tools {
    /// The absolute path of a tool named in the scenario's needs (or a base tool).
    pub fn path(&self, name: &str) -> &Path {
        self.paths.get(name).unwrap_or_else(|| panic!("test bug: `{name}` was not listed in the scenario's needs"))
    }

    /// The Python that imports scapy.
    pub fn python(&self) -> &Path {
        self.python.as_deref().expect("test bug: Need::Scapy was not listed in the scenario's needs")
    }
}

/// Check what the network-namespace scenario `test` needs: root, usable
/// namespaces, [`BASE_TOOLS`] and `needs`.
pub fn prepare(test: &str, needs: &[Need]) -> Result<Tools, Skipped> {
    check(needs).map_err(|why| missing(test, why))
}

fn check(needs: &[Need]) -> Result<Tools, String> {
    if !is_root() {
        return Err("not running as root (network namespaces, raw sockets and capture need it)".into());
    }
    let mut paths = HashMap::new();
    let tool_names = needs.iter().filter_map(|n| match n {
        Need::Tool(name) => Some(*name),
        Need::Scapy => None,
    });
    for name in BASE_TOOLS.into_iter().chain(tool_names) {
        let path = which(name).ok_or_else(|| format!("`{name}` is not installed (see .ci/install-system-tools)"))?;
        paths.insert(name, path);
    }
    netns_usable(&paths["ip"])?;
    let python = if needs.contains(&Need::Scapy) {
        Some(scapy_python().clone().map_err(|why| format!("{why} (see .ci/install-system-tools)"))?)
    } else {
        None
    };
    Ok(Tools { paths, python })
}

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    // The effective uid is the second number of the `Uid:` line.
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status.lines().any(|line| line.strip_prefix("Uid:").and_then(|ids| ids.split_whitespace().nth(1)) == Some("0"))
    })
}

/// An executable on PATH, or in the sbin folders that a non-login PATH may lack.
pub fn which(name: &str) -> Option<PathBuf> {
    let path_dirs: Vec<PathBuf> = env::var_os("PATH").map(|p| env::split_paths(&p).collect()).unwrap_or_default();
    path_dirs.into_iter().chain(SBIN_FALLBACK.iter().map(PathBuf::from)).map(|dir| dir.join(name)).find(|candidate| {
        std::fs::metadata(candidate).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

/// Root is not enough in every container: try to make (and remove) a namespace.
fn netns_usable(ip: &Path) -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT
        .get_or_init(|| {
            let name = format!("njprobe{}", std::process::id());
            let add = run(Command::new(ip).args(["netns", "add", &name]), Duration::from_secs(10));
            if !add.status.success() {
                return Err(format!("`ip netns add` fails here: {}", String::from_utf8_lossy(&add.stderr).trim()));
            }
            run(Command::new(ip).args(["netns", "del", &name]), Duration::from_secs(10));
            Ok(())
        })
        .clone()
}

/// The first Python 3 that imports scapy: Debian's python3-scapy lives in the
/// system Python, which a pyenv or venv `python3` on PATH does not see.
fn scapy_python() -> &'static Result<PathBuf, String> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let candidates = [Some(PathBuf::from("/usr/bin/python3")), which("python3")];
        for python in candidates.into_iter().flatten() {
            let mut probe = Command::new(&python);
            probe.args(["-c", "import scapy.all"]);
            if try_run(&mut probe, Duration::from_secs(30)).is_some_and(|out| out.status.success()) {
                return Ok(python);
            }
        }
        Err("no python3 here imports scapy (python3-scapy)".into())
    })
}
