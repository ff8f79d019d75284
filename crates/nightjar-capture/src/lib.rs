//! Frame sources for Nightjar: capture files (pcap and pcapng) yielding
//! timestamped link-layer frames for the packet core to decode.
//!
//! A file is read as far as it can be. A record that is bad on its own (longer
//! than the snap length, on an interface of an unsupported link type) is a
//! [`FrameSkip`] the caller counts, and reading goes on. Damage that loses the
//! record boundaries (the file ends inside a record, a broken pcapng block)
//! ends the file with a [`CaptureError`] that says where.
//!
//! ```no_run
//! use nightjar_capture::{CaptureFile, FrameEvent};
//!
//! let mut capture = CaptureFile::open("scans.pcap")?;
//! while let Some(event) = capture.next_frame() {
//!     match event? {
//!         FrameEvent::Frame(frame) => println!("{} bytes at {} ns", frame.data.len(), frame.timestamp_ns),
//!         FrameEvent::Skipped(reason) => println!("skipped: {reason}"),
//!     }
//! }
//! # Ok::<(), nightjar_capture::CaptureError>(())
//! ```

mod error;
mod file;
mod pcapng_time;

pub use error::{CaptureError, FrameSkip};
pub use file::{CaptureFile, CaptureFormat, Frame, FrameEvent};
