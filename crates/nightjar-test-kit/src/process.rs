//! Commands run by tests: with a time bound, or in the background as a
//! guard that kills the process when it goes out of scope.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::prereq::which;

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
pub(crate) fn try_run(cmd: &mut Command, timeout: Duration) -> Option<Output> {
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
    let kill = which("kill").expect("`kill` is installed wherever a test sends signals (checked by prereq::prepare)");
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
