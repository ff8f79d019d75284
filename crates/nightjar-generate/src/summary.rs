//! What was generated, counted by kind.

use nightjar_packet::{Tool, TrafficClass};

use crate::kind::TrafficKind;

/// Counts of generated frames by kind, and totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenerateSummary {
    counts: [u64; TrafficKind::ALL.len()],
    /// Frames written.
    pub packets: u64,
    /// Bytes of frames written (without the pcap headers).
    pub frame_bytes: u64,
    /// Persistent sources (scanners, victims, routers) that sent at least one
    /// packet; spoofed and malformed packets come from fresh addresses and
    /// are not counted here.
    pub distinct_sources: u64,
}

impl GenerateSummary {
    pub(crate) fn add(&mut self, kind: TrafficKind, frame_len: usize) {
        self.counts[kind.index()] += 1;
        self.packets += 1;
        self.frame_bytes += frame_len as u64;
    }

    /// Frames of `kind`.
    pub fn count(&self, kind: TrafficKind) -> u64 {
        self.counts[kind.index()]
    }

    /// Every kind with a non-zero count, in [`TrafficKind::ALL`] order.
    pub fn kinds(&self) -> impl Iterator<Item = (TrafficKind, u64)> + '_ {
        TrafficKind::ALL.iter().map(|k| (*k, self.count(*k))).filter(|(_, n)| *n > 0)
    }

    /// Frames made to be skipped by the decoder as malformed.
    pub fn malformed(&self) -> u64 {
        self.kinds().filter(|(k, _)| k.expected_skip().is_some()).map(|(_, n)| n).sum()
    }

    /// Frames the classifier should put in `class`.
    pub fn class_count(&self, class: TrafficClass) -> u64 {
        self.kinds().filter(|(k, _)| k.expected().is_some_and(|e| e.class == class)).map(|(_, n)| n).sum()
    }

    /// Frames the classifier should fingerprint as `tool`.
    pub fn tool_count(&self, tool: Tool) -> u64 {
        self.kinds().filter(|(k, _)| k.expected().is_some_and(|e| e.tool == Some(tool))).map(|(_, n)| n).sum()
    }

    /// Frames that should carry a sign of a spoofed source.
    pub fn spoofed_count(&self) -> u64 {
        self.kinds().filter(|(k, _)| k.expected().is_some_and(|e| e.spoof.is_some())).map(|(_, n)| n).sum()
    }
}
