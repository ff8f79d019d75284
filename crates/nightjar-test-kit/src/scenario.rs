//! One capture scenario: tcpdump on the darknet while traffic runs, the file
//! kept and held against tshark, then queries and assertions over Nightjar's
//! decoding and classification of it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use nightjar_packet::{Classification, Packet, Tool, TrafficClass, classify, to_ip};

use crate::compare::{OwnedFrame, assert_same_as_tshark, read_frames};
use crate::netns::{Capture, Darknet};
use crate::prereq::Tools;
use crate::tshark::{self, Row};

/// A folder to copy each run's captures into, when set.
pub const ARTIFACTS_VAR: &str = "NIGHTJAR_TEST_ARTIFACTS";

/// One capture, kept and checked against tshark.
pub struct Checked {
    /// Every frame of the capture.
    pub frames: Vec<OwnedFrame>,
    rows: Vec<Row>,
    pcap: PathBuf,
    _dir: tempfile::TempDir,
}

/// A decoded packet of a capture with its classification.
pub struct Seen<'a> {
    /// Frame number.
    pub frame: u64,
    /// Nightjar's decoding.
    pub packet: Packet<'a>,
    /// Nightjar's classification.
    pub class: Classification,
}

impl Checked {
    /// The decoded packets `keep` selects.
    pub fn select(&self, keep: impl Fn(&Packet<'_>) -> bool) -> Vec<Seen<'_>> {
        self.frames
            .iter()
            .filter_map(|frame| frame.decode().ok().map(|packet| (frame.number, packet)))
            .filter(|(_, packet)| keep(packet))
            .map(|(frame, packet)| Seen { frame, packet, class: classify(&packet) })
            .collect()
    }

    /// Like [`Checked::select`], but at least `min` packets must match.
    pub fn select_at_least(&self, min: usize, what: &str, keep: impl Fn(&Packet<'_>) -> bool) -> Vec<Seen<'_>> {
        let seen = self.select(keep);
        assert!(
            seen.len() >= min,
            "{}: expected at least {min} {what}, found {} (of {} frames)",
            self.pcap.display(),
            seen.len(),
            self.frames.len()
        );
        seen
    }

    /// tshark's row for `frame`.
    pub fn row(&self, frame: u64) -> &Row {
        self.rows.iter().find(|r| r.number() == frame).expect("tshark has a row for every frame (checked)")
    }
}

/// Capture on `iface` of `ns` while `traffic` runs, keep the file, and hold
/// Nightjar's decoding of every frame against tshark's.
pub fn capture(
    net: &Darknet,
    tools: &Tools,
    name: &str,
    (ns, iface): (&str, &str),
    link_type: Option<&str>,
    traffic: impl FnOnce(),
) -> Checked {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let pcap = dir.path().join(format!("{name}.pcap"));
    let running = Capture::start(net, tools, ns, iface, link_type, &pcap);
    traffic();
    let pcap = running.stop();
    keep_artifact(&pcap);
    let frames = read_frames(&pcap);
    assert!(!frames.is_empty(), "{}: the capture is empty", pcap.display());
    let rows = tshark::read(tools, &pcap);
    assert_same_as_tshark(&pcap, &frames, &rows);
    Checked { frames, rows, pcap, _dir: dir }
}

/// Copy a capture to `$NIGHTJAR_TEST_ARTIFACTS`, when set, before it is judged.
fn keep_artifact(pcap: &Path) {
    let Some(dir) = std::env::var_os(ARTIFACTS_VAR) else { return };
    let dir = PathBuf::from(dir);
    let name = pcap.file_name().expect("capture files have a name");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::copy(pcap, dir.join(name)))
        .unwrap_or_else(|e| panic!("cannot keep {} in {}: {e}", pcap.display(), dir.display()));
}

/// An address from a test constant.
pub fn ip(text: &str) -> IpAddr {
    text.parse().expect("test addresses are valid")
}

/// Whether the packet's source is `addr`.
pub fn from(packet: &Packet<'_>, addr: &str) -> bool {
    to_ip(&packet.src) == ip(addr)
}

/// Whether the packet is TCP with exactly these flags.
pub fn tcp_flags_are(packet: &Packet<'_>, flags: u8) -> bool {
    packet.tcp().is_some_and(|tcp| tcp.flags == flags)
}

/// Whether the destination lies in `a.b.c.d/len` (IPv4 only).
pub fn to_v4_block(packet: &Packet<'_>, block: &str) -> bool {
    let (net, len) = block.split_once('/').expect("a CIDR");
    let (IpAddr::V4(net), IpAddr::V4(dst)) = (ip(net), to_ip(&packet.dst)) else { return false };
    let mask = u32::MAX << (32 - len.parse::<u32>().expect("a prefix length"));
    u32::from(dst) & mask == u32::from(net) & mask
}

/// Every packet has this class and tool label.
pub fn assert_class(seen: &[Seen<'_>], what: &str, class: TrafficClass, tool: Option<Tool>) {
    for s in seen {
        assert_eq!(s.class.class, class, "frame {} ({what}): class", s.frame);
        assert_eq!(s.class.tool, tool, "frame {} ({what}): tool", s.frame);
    }
}

/// No packet carries a sign of a spoofed source.
pub fn assert_not_spoofed(seen: &[Seen<'_>], what: &str) {
    for s in seen {
        assert_eq!(s.class.spoof, None, "frame {} ({what}): a real stack's packet flagged as spoofed", s.frame);
    }
}

/// Packets of a tool none of the fingerprints describe must carry no tool
/// label. Mirai's fingerprint (seq == destination, 32 bits) must never match.
/// Masscan's and ZMap's rules need the tool's whole SYN template besides a
/// 16-bit IP-id equality; nmap's `-sS` SYN has Masscan's template, so one of
/// its packets in 65 536 matches by chance: one such label per capture is
/// reported and tolerated, more is a classifier bug.
pub fn assert_no_tool_label(seen: &[Seen<'_>], what: &str) {
    let labelled: Vec<&Seen<'_>> = seen.iter().filter(|s| s.class.tool.is_some()).collect();
    for s in &labelled {
        assert_ne!(s.class.tool, Some(Tool::Mirai), "frame {} ({what}) labelled Mirai", s.frame);
    }
    match labelled.as_slice() {
        [] => {}
        [one] => eprintln!(
            "note: frame {} ({what}) matches the {:?} fingerprint by chance (ip id {:?}); tolerated once",
            one.frame, one.class.tool, one.packet.ip_id
        ),
        many => panic!(
            "{what}: {} of {} packets carry a tool label (frames {:?}): nmap/hping3 mislabelled",
            many.len(),
            seen.len(),
            many.iter().map(|s| (s.frame, s.class.tool)).collect::<Vec<_>>()
        ),
    }
}
