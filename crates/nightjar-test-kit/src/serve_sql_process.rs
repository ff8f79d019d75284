//! `nightjar serve-sql` as a child process of a test: started, waited for
//! until it says where it listens, its log kept, and killed when the guard
//! drops.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long the server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `nightjar serve-sql`; killed (SIGKILL) and reaped on drop.
pub struct ServeSqlProcess {
    child: Child,
    uri: String,
    log: mpsc::Receiver<String>,
}

impl ServeSqlProcess {
    /// Start `nightjar serve-sql ARGS` and wait until it listens; panics with
    /// what it logged when it does not within a minute.
    pub fn start<I, S>(nightjar: &str, args: I) -> ServeSqlProcess
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = Command::new(nightjar)
            .arg("serve-sql")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nightjar serve-sql starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (lines, log) = mpsc::channel();
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut seen = Vec::new();
        let uri = loop {
            match log.recv_timeout(START_TIMEOUT) {
                Ok(line) => match line.strip_prefix("nightjar serve-sql listening on ") {
                    Some(uri) => break uri.trim().to_string(),
                    None => seen.push(line),
                },
                Err(_) => panic!("nightjar serve-sql did not start listening:\n{}", seen.join("\n")),
            }
        };
        ServeSqlProcess { child, uri, log }
    }

    /// The URI it printed, e.g. `grpc+tls://127.0.0.1:40123`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.uri.rsplit(':').next().and_then(|port| port.parse().ok()).expect("the URI ends in a port")
    }

    /// The process id (for reading its CPU time).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("wait for serve-sql").is_none()
    }

    /// What it logged since the last call (the first: since it started listening).
    pub fn log(&self) -> String {
        self.log.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for ServeSqlProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
