//! Reading pcap and pcapng files frame by frame, without copying frames.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use nightjar_packet::LinkType;
use pcap_file::PcapError;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::PcapNgReader;
use pcap_file::pcapng::blocks::Block;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;

use crate::error::{CaptureError, FrameSkip};
use crate::pcapng_time::{DEFAULT_TSRESOL, raw_units, to_nanos};

/// One captured frame, borrowed from the reader until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Capture time, nanoseconds since the Unix epoch (UTC).
    pub timestamp_ns: u64,
    /// How to read the frame's first bytes.
    pub link: LinkType,
    /// The captured bytes (possibly cut at the snap length).
    pub data: &'a [u8],
    /// The frame's length on the wire.
    pub wire_len: u32,
}

/// What the next record of a file gave.
#[derive(Clone, Copy, Debug)]
pub enum FrameEvent<'a> {
    /// A frame to decode.
    Frame(Frame<'a>),
    /// A record skipped for a reason to count.
    Skipped(FrameSkip),
}

/// The container format of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap format (micro- or nanosecond).
    Pcap,
    /// pcapng.
    PcapNg,
}

/// What an interface of a pcapng section needs for its packets.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: Result<LinkType, u32>,
    snaplen: u32,
    tsresol: u8,
    tsoffset_s: u64,
}

enum Reader {
    Pcap {
        reader: PcapReader<File>,
        link: LinkType,
        snaplen: u32,
        nanosecond: bool,
    },
    PcapNg {
        reader: PcapNgReader<File>,
        interfaces: Vec<Interface>,
        /// pcapng frames are copied here: the reader's block borrow cannot
        /// outlive the loop that skips non-packet blocks.
        frame: Vec<u8>,
    },
}

/// A capture file opened for reading.
pub struct CaptureFile {
    path: PathBuf,
    reader: Reader,
    records: u64,
    finished: bool,
}

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const PCAP_MAGICS: [[u8; 4]; 4] =
    [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d]];

impl CaptureFile {
    /// Open a pcap or pcapng file, telling the two apart by their magic number.
    pub fn open(path: impl AsRef<Path>) -> Result<CaptureFile, CaptureError> {
        let path = path.as_ref().to_path_buf();
        let io_error = |source| CaptureError::Io { path: path.clone(), source };
        let mut magic = [0u8; 4];
        let mut file = File::open(&path).map_err(io_error)?;
        let got = read_up_to(&mut file, &mut magic).map_err(io_error)?;
        let format = if got == 4 && magic == PCAPNG_MAGIC {
            CaptureFormat::PcapNg
        } else if got == 4 && PCAP_MAGICS.contains(&magic) {
            CaptureFormat::Pcap
        } else {
            return Err(CaptureError::BadMagic { path, magic: magic[..got].to_vec() });
        };
        let file = File::open(&path).map_err(io_error)?;
        let header_error = |e| map_pcap_error(&path, 0, e);
        let reader = match format {
            CaptureFormat::Pcap => {
                let reader = PcapReader::new(file).map_err(header_error)?;
                let header = reader.header();
                let linktype = u32::from(header.datalink);
                let link = LinkType::from_linktype(linktype)
                    .ok_or_else(|| CaptureError::UnsupportedLinkType { path: path.clone(), linktype })?;
                let nanosecond = header.ts_resolution == pcap_file::TsResolution::NanoSecond;
                Reader::Pcap { reader, link, snaplen: header.snaplen, nanosecond }
            }
            CaptureFormat::PcapNg => Reader::PcapNg {
                reader: PcapNgReader::new(file).map_err(header_error)?,
                interfaces: Vec::new(),
                frame: Vec::new(),
            },
        };
        Ok(CaptureFile { path, reader, records: 0, finished: false })
    }

    /// The container format.
    pub fn format(&self) -> CaptureFormat {
        match self.reader {
            Reader::Pcap { .. } => CaptureFormat::Pcap,
            Reader::PcapNg { .. } => CaptureFormat::PcapNg,
        }
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records read so far (frames and skipped records).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The next frame or skipped record; `None` at the end of the file.
    ///
    /// After an error the file is finished: the following call returns `None`.
    pub fn next_frame(&mut self) -> Option<Result<FrameEvent<'_>, CaptureError>> {
        if self.finished {
            return None;
        }
        let record = self.records;
        let path = &self.path;
        let result = match &mut self.reader {
            Reader::Pcap { reader, link, snaplen, nanosecond } => {
                let raw = match reader.next_raw_packet()? {
                    Ok(raw) => raw,
                    Err(e) => {
                        self.finished = true;
                        return Some(Err(map_pcap_error(path, record, e)));
                    }
                };
                // A snap length of 0 (written by some tools) means no limit.
                if *snaplen != 0 && raw.incl_len > *snaplen {
                    Ok(FrameEvent::Skipped(FrameSkip::RecordExceedsSnaplen))
                } else if raw.incl_len > raw.orig_len {
                    Ok(FrameEvent::Skipped(FrameSkip::CapturedExceedsOriginal))
                } else {
                    let frac_ns = if *nanosecond { u64::from(raw.ts_frac) } else { u64::from(raw.ts_frac) * 1_000 };
                    let timestamp_ns = u64::from(raw.ts_sec) * 1_000_000_000 + frac_ns;
                    let data: &[u8] = match raw.data {
                        std::borrow::Cow::Borrowed(d) => d,
                        // The raw reader always borrows from its buffer.
                        std::borrow::Cow::Owned(_) => &[],
                    };
                    Ok(FrameEvent::Frame(Frame { timestamp_ns, link: *link, data, wire_len: raw.orig_len }))
                }
            }
            Reader::PcapNg { reader, interfaces, frame } => loop {
                let block = match reader.next_block()? {
                    Ok(block) => block,
                    Err(e) => {
                        self.finished = true;
                        return Some(Err(map_pcap_error(path, record, e)));
                    }
                };
                let (interface_id, timestamp, wire_len, data) = match block {
                    Block::SectionHeader(_) => {
                        interfaces.clear();
                        continue;
                    }
                    Block::InterfaceDescription(idb) => {
                        interfaces.push(describe_interface(&idb));
                        continue;
                    }
                    Block::EnhancedPacket(epb) => (epb.interface_id, Some(epb.timestamp), epb.original_len, epb.data),
                    // Simple packets carry no timestamp and belong to interface 0.
                    Block::SimplePacket(spb) => (0, None, spb.original_len, spb.data),
                    // Statistics, name resolution and the rest hold no frames.
                    _ => continue,
                };
                let Some(interface) = interfaces.get(interface_id as usize).copied() else {
                    break Ok(FrameEvent::Skipped(FrameSkip::UnknownInterface(interface_id)));
                };
                let link = match interface.link {
                    Ok(link) => link,
                    Err(linktype) => break Ok(FrameEvent::Skipped(FrameSkip::UnsupportedLinkType(linktype))),
                };
                if interface.snaplen != 0 && data.len() as u64 > u64::from(interface.snaplen) {
                    break Ok(FrameEvent::Skipped(FrameSkip::RecordExceedsSnaplen));
                }
                let timestamp_ns =
                    timestamp.map_or(0, |t| to_nanos(raw_units(t), interface.tsresol, interface.tsoffset_s));
                frame.clear();
                frame.extend_from_slice(&data);
                break Ok(FrameEvent::Frame(Frame { timestamp_ns, link, data: frame, wire_len }));
            },
        };
        self.records += 1;
        Some(result)
    }
}

fn describe_interface(
    idb: &pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock<'_>,
) -> Interface {
    let linktype = u32::from(idb.linktype);
    let mut interface = Interface {
        link: LinkType::from_linktype(linktype).ok_or(linktype),
        snaplen: idb.snaplen,
        tsresol: DEFAULT_TSRESOL,
        tsoffset_s: 0,
    };
    for option in &idb.options {
        match option {
            InterfaceDescriptionOption::IfTsResol(r) => interface.tsresol = *r,
            InterfaceDescriptionOption::IfTsOffset(o) => interface.tsoffset_s = *o,
            _ => {}
        }
    }
    interface
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

fn map_pcap_error(path: &Path, record: u64, error: PcapError) -> CaptureError {
    match error {
        PcapError::IncompleteBuffer => CaptureError::Truncated { path: path.to_path_buf(), record },
        PcapError::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => {
            CaptureError::Truncated { path: path.to_path_buf(), record }
        }
        PcapError::IoError(source) => CaptureError::Io { path: path.to_path_buf(), source },
        other => CaptureError::Malformed { path: path.to_path_buf(), record, detail: other.to_string() },
    }
}
