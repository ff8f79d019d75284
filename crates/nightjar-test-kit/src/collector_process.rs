//! `nightjar collector` as a child process of a test: started, waited for
//! until it listens, its log drained, and killed when the guard drops.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running collector process; killed (SIGKILL) and reaped on drop.
pub struct CollectorProcess {
    /// The child process.
    pub child: Child,
    /// The address it listens on, as it printed it.
    pub addr: String,
}

impl CollectorProcess {
    /// Start `nightjar collector --config CONFIG` and wait until it listens.
    pub fn start(nightjar: &str, config: &Path) -> CollectorProcess {
        let mut child = Command::new(nightjar)
            .arg("collector")
            .arg("--config")
            .arg(config)
            .stderr(Stdio::piped())
            .spawn()
            .expect("the collector starts");
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
        std::thread::spawn(move || for _ in lines {});
        CollectorProcess { child, addr }
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
