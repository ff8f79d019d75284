//! `nightjar collector` as a child process of a test: started, waited for
//! until it listens, its log kept, and killed when the guard drops.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// Write a collector over TLS into `dir` and return its config's path: a self-signed
/// certificate for `localhost` and `127.0.0.1` (`collector.crt`, the sensors' CA file, and
/// `collector.key`), and `collector.toml` listening on `127.0.0.1:0` with `data/` and `state/`
/// in `dir` and compaction off.
pub fn write_tls_collector(dir: &Path) -> PathBuf {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("rcgen signs a certificate for fixed names");
    std::fs::write(dir.join("collector.crt"), certified.cert.pem()).expect("the test folder is writable");
    std::fs::write(dir.join("collector.key"), certified.signing_key.serialize_pem())
        .expect("the test folder is writable");
    let config = dir.join("collector.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\ntls_cert = \"collector.crt\"\ntls_key = \"collector.key\"\ndataset_dir = \"data\"\nstate_dir = \"state\"\ncompact_interval_s = 0\n",
    )
    .expect("the test folder is writable");
    config
}

/// A running collector process; killed (SIGKILL) and reaped on drop.
pub struct CollectorProcess {
    /// The child process.
    pub child: Child,
    /// The address it listens on, as it printed it.
    pub addr: String,
    /// Its log lines after the one that says where it listens.
    log: Arc<Mutex<Vec<String>>>,
}

impl CollectorProcess {
    /// Start `nightjar collector --config CONFIG` and wait until it listens.
    pub fn start(nightjar: &str, config: &Path) -> CollectorProcess {
        CollectorProcess::start_command(Command::new(nightjar).arg("collector").arg("--config").arg(config))
    }

    /// The same, logging at `level` and above (`NIGHTJAR_LOG`), for tests that read its log.
    pub fn start_logging(nightjar: &str, config: &Path, level: &str) -> CollectorProcess {
        let mut command = Command::new(nightjar);
        command.arg("collector").arg("--config").arg(config).env("NIGHTJAR_LOG", level);
        CollectorProcess::start_command(&mut command)
    }

    fn start_command(command: &mut Command) -> CollectorProcess {
        let mut child = command.stderr(Stdio::piped()).spawn().expect("the collector starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("nightjar collector listening on ") {
                        break addr.trim().to_string();
                    }
                }
                _ => panic!("the collector exited before listening"),
            }
        };
        // Keep draining its log so it never blocks on a full pipe.
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            lines.map_while(Result::ok).for_each(|line| kept.lock().expect("never poisoned").push(line));
        });
        CollectorProcess { child, addr, log }
    }

    /// Its log lines so far that contain `containing`.
    pub fn log_lines(&self, containing: &str) -> Vec<String> {
        self.log.lock().expect("never poisoned").iter().filter(|line| line.contains(containing)).cloned().collect()
    }

    /// The port it listens on.
    pub fn port(&self) -> &str {
        self.addr.rsplit(':').next().unwrap_or("")
    }

    /// SIGKILL it now and reap it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for CollectorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
