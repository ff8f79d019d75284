//! Where packets come from.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::ConfigError;

/// Where packets come from: a live interface (Linux AF_PACKET), or capture
/// files replayed through the same pipeline. Exactly one of `interface` and
/// `replay` must be set.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureConfig {
    /// Network interface to capture on, e.g. `eth1`: the one the dark block
    /// is routed to, or a span port. The sensor only listens on it and never
    /// sends a packet; it needs CAP_NET_RAW.
    #[serde(default)]
    pub interface: Option<String>,
    /// Put the interface in promiscuous mode, to see frames addressed to
    /// other MAC addresses (a span/mirror port, or a dark block delivered by
    /// a switch rather than routed to this host). Default: true.
    #[serde(default = "default_promiscuous")]
    pub promiscuous: bool,
    /// Offline mode: read these pcap/pcapng files instead of an interface,
    /// in order, through the same pipeline (for replays and tests).
    #[serde(default)]
    pub replay: Vec<PathBuf>,
    /// Offline mode: `"fast"` (default) reads as fast as possible;
    /// `"original"` keeps the original gaps between packets.
    #[serde(default)]
    pub replay_pace: ReplayPace,
    /// Offline mode: once every file is read, wait until the spool has been
    /// uploaded, then exit (default true). With false the sensor keeps
    /// running (heartbeats, retries) until stopped.
    #[serde(default = "default_true")]
    pub exit_after_replay: bool,
    /// Live capture: `"ring"` (default) reads through a TPACKET_V3 ring
    /// shared with the kernel (kernel timestamps, kernel drop counts, many
    /// frames per wake-up); `"pnet"` reads one frame per system call through
    /// pnet's datalink channel, for kernels without TPACKET_V3 (before 3.2).
    #[serde(default)]
    pub method: CaptureMethod,
}

/// How a live interface is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMethod {
    /// A TPACKET_V3 memory-mapped ring.
    #[default]
    Ring,
    /// pnet's datalink channel.
    Pnet,
}

/// How fast capture files are replayed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayPace {
    /// As fast as the pipeline goes.
    #[default]
    Fast,
    /// The original gaps between packets, from their timestamps.
    Original,
}

fn default_promiscuous() -> bool {
    true
}

fn default_true() -> bool {
    true
}

impl CaptureConfig {
    /// Exactly one source; an interface name the kernel could hold.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match (&self.interface, self.replay.is_empty()) {
            (Some(_), false) => Err(ConfigError::invalid(
                "capture.replay",
                "both `capture.interface` and `capture.replay` are set; use one (live capture or offline replay)",
            )),
            (None, true) => Err(ConfigError::invalid(
                "capture.interface",
                "no packet source: set `capture.interface` (live) or `capture.replay` (capture files)",
            )),
            (Some(name), true) => {
                // IFNAMSIZ is 16 including the terminating NUL.
                if name.is_empty() || name.len() > 15 || name.contains(['/', ' ', '\0']) {
                    Err(ConfigError::invalid(
                        "capture.interface",
                        format!("`{name}` is not an interface name (1 to 15 characters, no `/` or spaces)"),
                    ))
                } else {
                    Ok(())
                }
            }
            (None, false) => Ok(()),
        }
    }
}
