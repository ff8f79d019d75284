//! `nightjar sensor --check`: everything a sensor needs, checked in order
//! and reported one line per check, without changing anything on disk.
//!
//! | check | passes when |
//! | --- | --- |
//! | `files` | the configuration's files read: token, CA, research list, replay files |
//! | `spool` | the spool folder is writable, or can be created (it is not created) |
//! | `capture` | the interface exists (no capture socket is opened), or the replay files are named |
//! | `connect` | a TCP connection to the collector's host and port opens |
//! | `tls` | the collector's certificate is trusted (`uplink.ca_file` or the system's roots) |
//! | `token` | the collector knows the token (one heartbeat: not `401`) |
//! | `sensor id` | the token belongs to `sensor.id` (not `403`) |
//! | `clock` | this host's clock is within the protocol's 10 minutes of the collector's (`Date`) |
//!
//! With several collectors in `uplink.url`, the collector checks run for each
//! in turn and their lines begin with `collector N of M (host:port)`.
//!
//! The first failure ends the check with [`CheckFailed`], which names the
//! check and the reason. The collector checks send one heartbeat (the
//! collector then shows the sensor as seen); with `contact_collector` false
//! they are skipped, for a start that must not depend on the network.

mod collector;

use nightjar_ops::error_chain;

use crate::SensorConfig;
use crate::capture::find_interface;
use crate::sensor::Prepared;
use crate::spool::SpoolInspection;

/// The protocol's timestamp skew: rows may be at most this much newer than
/// the collector's clock (`schemas/wire-protocol-v1.md`, limits).
pub const MAX_CLOCK_SKEW: std::time::Duration = std::time::Duration::from_secs(600);

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Passed,
    /// It failed; the check stops here.
    Failed,
    /// It was not run (does not apply, or was not asked for).
    Skipped,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckLine {
    /// The check's name (`files`, `spool`, `capture`, `connect`, `tls`, `token`, `sensor id`, `clock`).
    pub check: &'static str,
    /// How it ended.
    pub outcome: Outcome,
    /// What was found, or what is wrong and what to do.
    pub detail: String,
}

/// The check that failed, and why.
#[derive(Debug, thiserror::Error)]
#[error("check `{check}` failed: {detail}")]
pub struct CheckFailed {
    /// The check's name.
    pub check: &'static str,
    /// What is wrong and what to do.
    pub detail: String,
}

/// Collects the lines and hands each to the caller as soon as it is known.
pub(crate) struct Report<'a> {
    sink: &'a mut (dyn FnMut(&CheckLine) + Send),
    /// Put before every detail: which collector a line is about, when there
    /// are several.
    scope: String,
}

impl Report<'_> {
    pub(crate) fn passed(&mut self, check: &'static str, detail: impl Into<String>) {
        let detail = self.scoped(detail);
        (self.sink)(&CheckLine { check, outcome: Outcome::Passed, detail });
    }

    pub(crate) fn skipped(&mut self, check: &'static str, detail: impl Into<String>) {
        let detail = self.scoped(detail);
        (self.sink)(&CheckLine { check, outcome: Outcome::Skipped, detail });
    }

    pub(crate) fn failed(&mut self, check: &'static str, detail: impl Into<String>) -> CheckFailed {
        let detail = self.scoped(detail);
        (self.sink)(&CheckLine { check, outcome: Outcome::Failed, detail: detail.clone() });
        CheckFailed { check, detail }
    }

    /// Have the following lines say which collector they are about.
    pub(crate) fn scope(&mut self, scope: String) {
        self.scope = scope;
    }

    fn scoped(&self, detail: impl Into<String>) -> String {
        if self.scope.is_empty() { detail.into() } else { format!("{}: {}", self.scope, detail.into()) }
    }
}

/// Run every check in order, calling `sink` with each line; stop at the
/// first failure. Creates and writes nothing on disk.
pub async fn run(
    config: &SensorConfig,
    contact_collector: bool,
    sink: &mut (dyn FnMut(&CheckLine) + Send),
) -> Result<(), CheckFailed> {
    let mut report = Report { sink, scope: String::new() };
    let prepared = match Prepared::new(config) {
        Ok(prepared) => prepared,
        Err(error) => return Err(report.failed("files", error_chain(&error))),
    };
    report.passed("files", files_read(config));

    let spool = match crate::spool::inspect(&config.spool) {
        Ok(spool) => spool,
        Err(error) => return Err(report.failed("spool", error_chain(&error))),
    };
    let dir = config.spool.dir.display();
    match &spool {
        SpoolInspection::Present { batches, bytes, next_seq, in_use } => report.passed(
            "spool",
            format!(
                "{dir}: {batches} batch(es), {bytes} bytes waiting; next batch seq {next_seq}{}",
                if *in_use { "; in use by a running sensor" } else { "" }
            ),
        ),
        SpoolInspection::Absent { parent } => report.passed(
            "spool",
            format!("{dir} does not exist yet; the sensor creates it at start ({} is writable)", parent.display()),
        ),
    }

    match &config.capture.interface {
        Some(interface) => match find_interface(interface) {
            Ok(_) => report.passed("capture", format!("interface {interface} exists (no capture socket opened)")),
            Err(error) => return Err(report.failed("capture", error.to_string())),
        },
        None => report.passed("capture", format!("offline: replays {} file(s)", config.capture.replay.len())),
    }

    if !contact_collector {
        report.skipped("collector", "not contacted (--offline): connection, TLS, token, sensor id and clock unchecked");
        return Ok(());
    }
    collector::round_trip(config, &prepared, &spool, &mut report).await
}

/// The files `Prepared::new` read, named for the report.
fn files_read(config: &SensorConfig) -> String {
    let mut read = vec![format!("token file {}", config.sensor.token_file.display())];
    if let Some(ca) = &config.uplink.ca_file {
        read.push(format!("CA file {}", ca.display()));
    }
    if let Some(list) = &config.filter.research_list {
        read.push(format!("research list {}", list.display()));
    }
    if !config.capture.replay.is_empty() {
        read.push(format!("{} replay file(s)", config.capture.replay.len()));
    }
    format!("{} read", read.join(", "))
}
