//! Capture files, good and damaged, read end to end.

use std::borrow::Cow;
use std::fs;
use std::path::Path;
use std::time::Duration;

use nightjar_capture::{CaptureError, CaptureFile, CaptureFormat, FrameEvent, FrameSkip};
use nightjar_packet::LinkType;
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};

/// A raw IPv4 UDP probe whose last byte says which frame it is.
fn frame(n: u8) -> Vec<u8> {
    vec![0x45, 0, 0, 29, 0, 1, 0, 0, 64, 17, 0, 0, 198, 51, 100, 7, 192, 0, 2, 10, 0x9c, 0x40, 0, 53, 0, 9, 0, 0, n]
}

fn write_pcap(path: &Path, frames: &[Vec<u8>], snaplen: u32) {
    let header = PcapHeader { datalink: DataLink::RAW, snaplen, ..PcapHeader::default() };
    let mut writer = PcapWriter::with_header(fs::File::create(path).unwrap(), header).unwrap();
    for (i, data) in frames.iter().enumerate() {
        let packet = PcapPacket::new(Duration::new(1_700_000_000 + i as u64, 250_000), data.len() as u32, data);
        writer.write_packet(&packet).unwrap();
    }
}

enum Seen {
    Frame { last_byte: u8, timestamp_ns: u64, link: LinkType },
    Skip(FrameSkip),
}

fn read_all(path: &Path) -> (Vec<Seen>, Option<CaptureError>) {
    let mut capture = CaptureFile::open(path).unwrap();
    let mut seen = Vec::new();
    while let Some(event) = capture.next_frame() {
        match event {
            Ok(FrameEvent::Frame(f)) => seen.push(Seen::Frame {
                last_byte: *f.data.last().unwrap(),
                timestamp_ns: f.timestamp_ns,
                link: f.link,
            }),
            Ok(FrameEvent::Skipped(s)) => seen.push(Seen::Skip(s)),
            Err(e) => return (seen, Some(e)),
        }
    }
    (seen, None)
}

#[test]
fn pcap_frames_come_back_with_microsecond_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.pcap");
    write_pcap(&path, &[frame(1), frame(2)], 65535);
    let capture = CaptureFile::open(&path).unwrap();
    assert_eq!(capture.format(), CaptureFormat::Pcap);
    let (seen, error) = read_all(&path);
    assert!(error.is_none());
    assert_eq!(seen.len(), 2);
    match &seen[1] {
        Seen::Frame { last_byte, timestamp_ns, link } => {
            assert_eq!(*last_byte, 2);
            assert_eq!(*timestamp_ns, 1_700_000_001_000_250_000);
            assert_eq!(*link, LinkType::Raw);
        }
        Seen::Skip(s) => panic!("unexpected skip {s}"),
    }
}

#[test]
fn truncated_file_keeps_the_frames_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.pcap");
    write_pcap(&path, &[frame(1), frame(2), frame(3)], 65535);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let (seen, error) = read_all(&path);
    assert_eq!(seen.len(), 2);
    let error = error.expect("the cut is reported");
    assert!(matches!(error, CaptureError::Truncated { record: 2, .. }), "{error}");
    assert!(error.to_string().contains("truncated"), "{error}");
}

#[test]
fn record_longer_than_snaplen_is_skipped_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.pcap");
    let mut long = frame(2);
    long.extend_from_slice(&[0u8; 64]);
    // The writer refuses records over the snap length, so write with a large
    // one and lower it in the file header afterwards (offset 16).
    write_pcap(&path, &[frame(1), long, frame(3)], 65535);
    let mut bytes = fs::read(&path).unwrap();
    bytes[16..20].copy_from_slice(&40u32.to_be_bytes());
    fs::write(&path, &bytes).unwrap();
    let (seen, error) = read_all(&path);
    assert!(error.is_none());
    assert!(matches!(seen[1], Seen::Skip(FrameSkip::RecordExceedsSnaplen)));
    assert!(matches!(seen[2], Seen::Frame { last_byte: 3, .. }));
}

#[test]
fn bad_magic_and_empty_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    fs::write(&text, b"hello world").unwrap();
    let error = CaptureFile::open(&text).err().expect("text is not a capture");
    assert!(error.to_string().contains("not a pcap or pcapng file"), "{error}");
    let empty = dir.path().join("empty.pcap");
    fs::write(&empty, b"").unwrap();
    assert!(matches!(CaptureFile::open(&empty), Err(CaptureError::BadMagic { .. })));
    let missing = CaptureFile::open(dir.path().join("missing.pcap")).err().expect("missing file");
    assert!(matches!(missing, CaptureError::Io { .. }));
}

#[test]
fn unknown_pcap_link_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wifi.pcap");
    let header = PcapHeader { datalink: DataLink::IEEE802_11, ..PcapHeader::default() };
    PcapWriter::with_header(fs::File::create(&path).unwrap(), header).unwrap();
    let error = CaptureFile::open(&path).err().expect("802.11 is not supported");
    assert!(error.to_string().contains("link type 105"), "{error}");
}

fn write_pcapng(path: &Path, tsresol: Option<u8>, raw_timestamp: u64) {
    let mut writer = PcapNgWriter::new(fs::File::create(path).unwrap()).unwrap();
    let mut raw_if = InterfaceDescriptionBlock::new(DataLink::RAW, 0);
    if let Some(r) = tsresol {
        raw_if.options.push(InterfaceDescriptionOption::IfTsResol(r));
    }
    writer.write_pcapng_block(raw_if).unwrap();
    writer.write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::IEEE802_11, 0)).unwrap();
    for interface_id in [0u32, 1] {
        let data = frame(interface_id as u8);
        let block = EnhancedPacketBlock {
            interface_id,
            // pcap-file stores the Duration's nanoseconds as the raw unit count.
            timestamp: Duration::from_nanos(raw_timestamp),
            original_len: data.len() as u32,
            data: Cow::Owned(data),
            options: vec![],
        };
        writer.write_pcapng_block(block).unwrap();
    }
}

#[test]
fn pcapng_times_follow_the_interface_resolution_and_unsupported_interfaces_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    for (tsresol, raw, expected_ns) in [
        (None, 1_700_000_000_123_456u64, 1_700_000_000_123_456_000u64),
        (Some(9), 1_700_000_000_123_456_789, 1_700_000_000_123_456_789),
        (Some(3), 1_700_000_000_123, 1_700_000_000_123_000_000),
    ] {
        let path = dir.path().join(format!("t{tsresol:?}.pcapng"));
        write_pcapng(&path, tsresol, raw);
        assert_eq!(CaptureFile::open(&path).unwrap().format(), CaptureFormat::PcapNg);
        let (seen, error) = read_all(&path);
        assert!(error.is_none());
        assert_eq!(seen.len(), 2);
        assert!(matches!(seen[0], Seen::Frame { timestamp_ns, .. } if timestamp_ns == expected_ns), "{tsresol:?}");
        assert!(matches!(seen[1], Seen::Skip(FrameSkip::UnsupportedLinkType(105))));
    }
}
