//! Offline mode: capture files through the same pipeline.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nightjar_capture::{CaptureFile, FrameEvent};
use nightjar_packet::LinkType;

use super::{FrameSource, Polled, ReplayPace};
use crate::pipeline::Stop;

/// The longest single sleep while pacing, so a stop request is seen quickly.
const PACE_SLICE: Duration = Duration::from_millis(50);

/// Capture files read one after another.
pub(crate) struct ReplaySource {
    files: Vec<PathBuf>,
    next_file: usize,
    current: Option<CaptureFile>,
    pace: ReplayPace,
    /// The first frame's timestamp and the moment it was replayed.
    clock: Option<(u64, Instant)>,
    stop: Stop,
    /// The current frame, copied out of the file.
    frame: Vec<u8>,
}

/// One record of a file, with the frame copied out.
enum Got {
    EndOfFile,
    Failed(String),
    Skipped(&'static str),
    Frame(u64, LinkType),
}

impl ReplaySource {
    /// Replay `files` in order; `stop` interrupts pacing sleeps.
    pub(crate) fn new(files: Vec<PathBuf>, pace: ReplayPace, stop: Stop) -> ReplaySource {
        ReplaySource { files, next_file: 0, current: None, pace, clock: None, stop, frame: Vec::new() }
    }

    /// Sleep until a frame stamped `timestamp_ns` is due.
    fn pace_until(&mut self, timestamp_ns: u64) {
        let (first_ns, started) = *self.clock.get_or_insert((timestamp_ns, Instant::now()));
        let due = started + Duration::from_nanos(timestamp_ns.saturating_sub(first_ns));
        loop {
            let now = Instant::now();
            if now >= due || self.stop.stopping() {
                return;
            }
            std::thread::sleep((due - now).min(PACE_SLICE));
        }
    }
}

impl FrameSource for ReplaySource {
    fn poll(&mut self) -> Polled<'_> {
        if self.current.is_none() {
            let Some(path) = self.files.get(self.next_file).cloned() else { return Polled::End };
            self.next_file += 1;
            match CaptureFile::open(&path) {
                Ok(file) => {
                    tracing::info!(file = %path.display(), "replaying capture file");
                    self.current = Some(file);
                }
                Err(e) => return Polled::Error(nightjar_ops::error_chain(&e)),
            }
        }
        // Copy out what the file lent before touching `self` again: the
        // frame borrows the file, and pacing or closing needs all of `self`.
        let Some(file) = self.current.as_mut() else { return Polled::Idle };
        let got = match file.next_frame() {
            None => Got::EndOfFile,
            Some(Err(e)) => Got::Failed(nightjar_ops::error_chain(&e)),
            Some(Ok(FrameEvent::Skipped(reason))) => Got::Skipped(reason.name()),
            Some(Ok(FrameEvent::Frame(frame))) => {
                self.frame.clear();
                self.frame.extend_from_slice(frame.data);
                Got::Frame(frame.timestamp_ns, frame.link)
            }
        };
        match got {
            Got::EndOfFile => {
                self.current = None;
                Polled::Idle
            }
            Got::Failed(message) => {
                self.current = None;
                Polled::Error(message)
            }
            Got::Skipped(reason) => Polled::Skipped(reason),
            Got::Frame(timestamp_ns, link) => {
                if self.pace == ReplayPace::Original {
                    self.pace_until(timestamp_ns);
                }
                Polled::Frame { timestamp_ns, link, data: &self.frame }
            }
        }
    }

    fn describe(&self) -> String {
        format!("{} capture file(s)", self.files.len())
    }
}
