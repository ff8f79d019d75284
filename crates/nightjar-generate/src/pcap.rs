//! Writing the capture: classic pcap, Ethernet, microsecond timestamps.
//!
//! Written through `pcap_file`'s writer with the byte order fixed to
//! little-endian, so the file is byte-identical on every platform (the
//! writer's default is the host's order). Writing the 16-byte record
//! headers by hand was measured too: copying header and frame into one
//! buffer first was ~10% slower than `pcap_file`, which writes the fields
//! straight into the `BufWriter`, so there is nothing to gain.

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::error::GenerateError;
use crate::generator::GeneratedFrame;

/// Output buffer size: large writes, few system calls.
const BUFFER: usize = 1 << 20;
/// The snap length in the file header; no generated frame is longer.
const SNAPLEN: u32 = 65_535;

/// A classic pcap writer for generated frames.
pub struct CaptureWriter<W: Write> {
    writer: pcap_file::pcap::PcapWriter<BufWriter<W>>,
}

impl<W: Write> CaptureWriter<W> {
    /// Start a capture: writes the global header (`LINKTYPE_ETHERNET`,
    /// microseconds, little-endian). `out` is buffered here.
    pub fn new(out: W) -> Result<CaptureWriter<W>, GenerateError> {
        let header = PcapHeader {
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::MicroSecond,
            endianness: Endianness::Little,
            ..PcapHeader::default()
        };
        let writer = pcap_file::pcap::PcapWriter::with_header(BufWriter::with_capacity(BUFFER, out), header)
            .map_err(GenerateError::from_pcap)?;
        Ok(CaptureWriter { writer })
    }

    /// Write one frame.
    pub fn write(&mut self, frame: &GeneratedFrame<'_>) -> Result<(), GenerateError> {
        // The generator only makes times inside 1970–2106 (checked up front).
        let timestamp = Duration::from_micros(frame.timestamp_us.max(0) as u64);
        let packet = PcapPacket { timestamp, orig_len: frame.bytes.len() as u32, data: Cow::Borrowed(frame.bytes) };
        self.writer.write_packet(&packet).map_err(GenerateError::from_pcap)?;
        Ok(())
    }

    /// Flush and hand back the underlying writer.
    pub fn finish(self) -> Result<W, GenerateError> {
        self.writer.into_writer().into_inner().map_err(|e| GenerateError::Io(e.into_error()))
    }
}
