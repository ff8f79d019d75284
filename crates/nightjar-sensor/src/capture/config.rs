//! Where packets come from.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::ConfigError;

/// Where packets come from: a live interface (Linux AF_PACKET), or capture
/// files replayed through the same pipeline. Exactly one of `interface` and
/// `replay` must be set.
#[derive(Clone, Debug, Deserialize)]
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
    /// Live capture with `method = "ring"`: the memory of the ring shared
    /// with the kernel, where frames wait while the sensor is busy; a whole
    /// number of MiB from 2 MiB to 1 GiB, held from the start. The kernel
    /// hands over a 1 MiB block when it is full or 100 ms old, so the ring
    /// absorbs a stall of at least 100 ms per MiB at low rates. The default
    /// `"8 MiB"` suits small boxes (0.8 s, or about 5,000 frames per MiB
    /// on a busy link). On a busy link, or when `kernel_dropped` grows in the
    /// logs and on /metrics, raise it: `"64 MiB"` holds about 3 s of
    /// 100,000 packets/s.
    #[serde(default = "default_ring_size", deserialize_with = "crate::config::deserialize_bytes")]
    pub ring_size: u64,
}

/// Bytes per ring block: a block holds many frames, and the largest frame (64 KiB of IP plus link
/// headers, GRO-merged) fits in one.
pub(crate) const RING_BLOCK_SIZE: u64 = 1 << 20;
/// Default ring: 8 MiB.
pub const DEFAULT_RING_SIZE: u64 = 8 << 20;
/// Smallest ring: two blocks, so that the kernel fills one while the sensor reads the other.
pub const MIN_RING_SIZE: u64 = 2 * RING_BLOCK_SIZE;
/// Largest ring: 1 GiB.
pub const MAX_RING_SIZE: u64 = 1 << 30;

impl Default for CaptureConfig {
    /// No source yet; every other key at its default.
    fn default() -> CaptureConfig {
        CaptureConfig {
            interface: None,
            promiscuous: default_promiscuous(),
            replay: Vec::new(),
            replay_pace: ReplayPace::default(),
            exit_after_replay: default_true(),
            method: CaptureMethod::default(),
            ring_size: default_ring_size(),
        }
    }
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

fn default_ring_size() -> u64 {
    DEFAULT_RING_SIZE
}

impl CaptureConfig {
    /// Exactly one source; an interface name the kernel could hold; a ring
    /// of whole MiB between 2 MiB and 1 GiB.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_ring_size()?;
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

    /// The ring is cut into 1 MiB blocks, at least two of them.
    fn validate_ring_size(&self) -> Result<(), ConfigError> {
        let size = self.ring_size;
        if !(MIN_RING_SIZE..=MAX_RING_SIZE).contains(&size) || !size.is_multiple_of(RING_BLOCK_SIZE) {
            return Err(ConfigError::invalid(
                "capture.ring_size",
                format!("{size} bytes is not a whole number of MiB from 2 MiB to 1 GiB (e.g. \"8 MiB\", \"64 MiB\")"),
            ));
        }
        Ok(())
    }

    /// The number of 1 MiB blocks of the ring.
    pub(crate) fn ring_blocks(&self) -> usize {
        // Validated: at most 1 GiB, so at most 1024 blocks.
        (self.ring_size / RING_BLOCK_SIZE) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_ring(ring_size: u64) -> CaptureConfig {
        CaptureConfig { interface: Some("eth1".into()), ring_size, ..CaptureConfig::default() }
    }

    #[test]
    fn the_default_ring_is_small_and_valid() {
        let config = with_ring(DEFAULT_RING_SIZE);
        assert!(config.validate().is_ok());
        assert_eq!(config.ring_blocks(), 8);
    }

    #[test]
    fn a_ring_is_whole_mib_from_two_mib_to_one_gib() {
        for good in [MIN_RING_SIZE, 64 << 20, MAX_RING_SIZE] {
            assert!(with_ring(good).validate().is_ok(), "{good}");
        }
        for bad in [0, 1 << 20, (8 << 20) + 1, MAX_RING_SIZE + RING_BLOCK_SIZE] {
            let error = with_ring(bad).validate().unwrap_err().to_string();
            assert!(error.contains("capture.ring_size"), "{bad}: {error}");
        }
    }

    #[test]
    fn ring_size_reads_units() {
        let config: CaptureConfig = toml::from_str("interface = \"eth1\"\nring_size = \"64 MiB\"\n").unwrap();
        assert_eq!(config.ring_size, 64 << 20);
        let config: CaptureConfig = toml::from_str("interface = \"eth1\"\n").unwrap();
        assert_eq!(config.ring_size, DEFAULT_RING_SIZE);
    }
}
