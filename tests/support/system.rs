//! The machine side of the system tests: whether they may run here, where
//! the tools are, running a command with a time bound, and background
//! processes that are stopped when their guard goes out of scope.
//!
//! `NIGHTJAR_SYSTEM_TESTS=require` (set by CI) turns every missing
//! prerequisite into a failure; without it a test that cannot run prints one
//! `skipped: …` line to stderr and passes, so `cargo test` works on a machine
//! with only the Rust toolchain.

use std::collections::HashMap;
use std::env;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The variable CI sets to `require` to make these tests mandatory.
pub const REQUIRE_VAR: &str = "NIGHTJAR_SYSTEM_TESTS";
/// A folder to copy each run's captures into, when set.
pub const ARTIFACTS_VAR: &str = "NIGHTJAR_TEST_ARTIFACTS";

/// Tools every capture scenario uses: namespaces, sysctls, capture, referee, signals.
const BASE_TOOLS: [&str; 5] = ["ip", "sysctl", "tcpdump", "tshark", "kill"];

/// Where root's tools live when PATH leaves the sbin folders out.
const SBIN_FALLBACK: [&str; 3] = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

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

fn required() -> bool {
    env::var(REQUIRE_VAR).is_ok_and(|v| v == "require")
}

/// Check what `test` needs. `None` means the test must return now: it has
/// already said `skipped: …` on stderr. Panics instead when CI requires the
/// system tests.
pub fn prepare(test: &str, needs: &[Need]) -> Option<Tools> {
    match check(needs) {
        Ok(tools) => Some(tools),
        Err(why) if required() => panic!("{test}: {REQUIRE_VAR}=require, but {why}"),
        Err(why) => {
            eprintln!("skipped: {test}: {why} (set {REQUIRE_VAR}=require to make this a failure)");
            None
        }
    }
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

fn is_root() -> bool {
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

/// `argv` as one line, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Run `cmd` to completion within `timeout`; `None` if it could not start.
/// A command still running at the deadline is killed and the test fails.
fn try_run(cmd: &mut Command, timeout: Duration) -> Option<Output> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().ok()?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`{}` did not finish within {timeout:?}; killed it", describe(cmd));
            }
        }
    };
    Some(Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() })
}

fn drain(stream: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut stream) = stream {
            let _ = stream.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Run `cmd` within `timeout`, whatever its exit status.
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    try_run(cmd, timeout).unwrap_or_else(|| panic!("could not start `{}`", describe(cmd)))
}

/// Run `cmd` within `timeout`; it must exit 0.
pub fn run_ok(cmd: &mut Command, timeout: Duration) -> Output {
    let out = run(cmd, timeout);
    assert!(
        out.status.success(),
        "`{}` failed ({}):\nstdout: {}\nstderr: {}",
        describe(cmd),
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out
}

/// Send `signal` (a `kill -s` name such as `INT`) to `pid`.
pub fn signal(pid: u32, signal: &str) {
    let kill = which("kill").expect("`kill` was checked by prepare()");
    run(Command::new(kill).args(["-s", signal, &pid.to_string()]), Duration::from_secs(5));
}

/// A process running beside the test, killed when the guard is dropped
/// (on success and on panic alike). Its stdout and stderr are kept in `log`.
pub struct Background {
    child: Child,
    what: String,
    log: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Background {
    /// Start `cmd`; `what` names it in messages.
    pub fn spawn(cmd: &mut Command, what: &str) -> Background {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("could not start {what} (`{}`): {e}", describe(cmd)));
        let log = Arc::new(Mutex::new(String::new()));
        let readers = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as _),
        ]
        .into_iter()
        .flatten()
        .map(|mut stream| {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = stream.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    log.lock().expect("log lock is never poisoned").push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            })
        })
        .collect();
        Background { child, what: what.to_string(), log, readers }
    }

    /// What the process printed so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock is never poisoned").clone()
    }

    /// Wait until the process prints `needle`; fails if it exits first or the time runs out.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log().contains(needle) {
            if let Ok(Some(status)) = self.child.try_wait() {
                thread::sleep(Duration::from_millis(50)); // let the readers catch the last words
                panic!("{} exited ({status}) before saying `{needle}`:\n{}", self.what, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not say `{needle}` within {timeout:?}:\n{}",
                self.what,
                self.log()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Send `signal` and wait for the process to exit; returns its status and log.
    pub fn stop_with(mut self, sig: &str, timeout: Duration) -> (ExitStatus, String) {
        signal(self.child.id(), sig);
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => panic!("{} did not exit within {timeout:?} of SIG{sig}:\n{}", self.what, self.log()),
            }
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        (status, self.log())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A name no other test of this run (or another run) uses at the same time.
pub fn unique_suffix() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{}x{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}
