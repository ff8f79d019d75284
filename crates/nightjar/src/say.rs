//! Status lines of the long-running commands ("listening on …", "stopping"): plain text on
//! stderr for people, or a log event when logs are JSON lines, so that a log pipeline reading
//! `--log-format json` never meets a line it cannot parse.

use std::sync::atomic::{AtomicBool, Ordering};

static JSON: AtomicBool = AtomicBool::new(false);

/// Called once, when logging is set up.
pub fn set_json(json: bool) {
    JSON.store(json, Ordering::Relaxed);
}

/// Says `line` on stderr, as text or as an info event.
pub fn say(line: &str) {
    if JSON.load(Ordering::Relaxed) {
        tracing::info!("{line}");
    } else {
        eprintln!("{line}");
    }
}
