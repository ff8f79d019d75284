//! Packet sources: a live interface (Linux AF_PACKET, through a TPACKET_V3
//! ring by default, or pnet's datalink channel), or capture files read
//! through `nightjar-capture`.
//!
//! A source only receives. The live channel's sending half is dropped as
//! soon as the channel is open: the sensor never transmits a frame.

mod config;
mod live;
mod replay;
mod ring;

pub use config::{CaptureConfig, CaptureMethod, DEFAULT_RING_SIZE, MAX_RING_SIZE, MIN_RING_SIZE, ReplayPace};
pub(crate) use live::{LiveSource, find_interface};
pub(crate) use replay::ReplaySource;
pub(crate) use ring::RingSource;

use nightjar_packet::LinkType;

/// What a source gave on one poll.
pub(crate) enum Polled<'a> {
    /// A frame to ingest.
    Frame {
        /// Capture time, ns since the epoch (UTC).
        timestamp_ns: u64,
        /// How to read the frame.
        link: LinkType,
        /// The frame's bytes.
        data: &'a [u8],
    },
    /// A capture-file record skipped for a reason to count.
    Skipped(&'static str),
    /// Nothing arrived within the read timeout (or a file just ended): time
    /// to check whether the open batch is old enough to flush.
    Idle,
    /// A read failed; the source goes on after it (the message says why).
    Error(String),
    /// No more frames will come (the last replay file is read).
    End,
}

/// A source of frames, polled by the capture thread.
pub(crate) trait FrameSource: Send {
    /// The next frame, or why there is none now. Blocks at most about the
    /// source's read timeout.
    fn poll(&mut self) -> Polled<'_>;

    /// What the source reads, for logs.
    fn describe(&self) -> String;

    /// Frames the kernel dropped since the last call because the sensor did not keep up;
    /// `None` when the source cannot tell.
    fn kernel_drops(&mut self) -> Option<u64> {
        None
    }
}
