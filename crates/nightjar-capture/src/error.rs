//! Errors and counted skips of capture files.

use std::fmt;
use std::path::PathBuf;

/// A capture file that cannot be read (further).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("reading {path}")]
    Io {
        /// The capture file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The first bytes are neither a pcap nor a pcapng header.
    #[error(
        "{path}: not a pcap or pcapng file (first bytes {magic:02x?}); convert other formats with `editcap -F pcap`"
    )]
    BadMagic {
        /// The capture file.
        path: PathBuf,
        /// The bytes found.
        magic: Vec<u8>,
    },
    /// A classic pcap file whose link type the decoder does not know.
    #[error(
        "{path}: link type {linktype} is not supported (supported: Ethernet 1, raw IP 101/228/229, Linux cooked 113/276, loopback 0/108)"
    )]
    UnsupportedLinkType {
        /// The capture file.
        path: PathBuf,
        /// The `LINKTYPE_*` value.
        linktype: u32,
    },
    /// The file ends inside a record: it was cut short (copy interrupted,
    /// capture killed). The records before were read.
    #[error(
        "{path}: the file ends inside record {record} (truncated capture); the {record} records before it were read"
    )]
    Truncated {
        /// The capture file.
        path: PathBuf,
        /// 0-based index of the record that is cut short.
        record: u64,
    },
    /// The header or a block is malformed so that the rest cannot be found.
    #[error("{path}: malformed at record {record}: {detail}")]
    Malformed {
        /// The capture file.
        path: PathBuf,
        /// 0-based record index.
        record: u64,
        /// What the parser said.
        detail: String,
    },
}

/// A record that was skipped; the file goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameSkip {
    /// The record claims more captured bytes than the file's snap length.
    RecordExceedsSnaplen,
    /// The record claims more captured bytes than were on the wire.
    CapturedExceedsOriginal,
    /// A pcapng packet on an interface whose link type is not supported.
    UnsupportedLinkType(u32),
    /// A pcapng packet naming an interface that was never described.
    UnknownInterface(u32),
}

impl FrameSkip {
    /// A stable snake_case name for counters and summaries.
    pub fn name(self) -> &'static str {
        match self {
            FrameSkip::RecordExceedsSnaplen => "record_exceeds_snaplen",
            FrameSkip::CapturedExceedsOriginal => "captured_exceeds_original",
            FrameSkip::UnsupportedLinkType(_) => "unsupported_link_type",
            FrameSkip::UnknownInterface(_) => "unknown_interface",
        }
    }
}

impl fmt::Display for FrameSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameSkip::UnsupportedLinkType(t) => write!(f, "unsupported_link_type ({t})"),
            FrameSkip::UnknownInterface(i) => write!(f, "unknown_interface ({i})"),
            other => f.write_str(other.name()),
        }
    }
}
