//! Nightjar's decoding of a capture, held against tshark's field by field.
//!
//! Every frame is compared: frames tshark sees no IP in must be skipped as
//! not-IP; every other frame must decode, and each field Nightjar keeps must
//! equal tshark's — outer header, transport header, TCP options summary, and
//! for ICMP errors the quoted packet's protocol, addresses and ports.
//! Fragments are compared as they came (tshark reads without reassembly):
//! offset and more-fragments flag for both families, the IPv6 extension
//! bytes, and no transport header past the first fragment.

use std::collections::HashMap;
use std::fmt::{Display, Write as _};
use std::net::IpAddr;
use std::path::Path;

use nightjar_capture::{CaptureFile, FrameEvent};
use nightjar_packet::{LinkType, Packet, SkipReason, Transport, ipproto, to_ip};

use crate::tshark::{Row, boolean, number};

/// A captured frame, owned so decoded packets can borrow it for the whole test.
pub struct OwnedFrame {
    /// 1-based position in the file, as tshark numbers frames.
    pub number: u64,
    /// The file's link type for this frame.
    pub link: LinkType,
    /// The captured bytes.
    pub data: Vec<u8>,
}

impl OwnedFrame {
    /// Nightjar's decoding of the frame.
    pub fn decode(&self) -> Result<Packet<'_>, SkipReason> {
        nightjar_packet::decode(self.link, &self.data)
    }

    fn hex(&self) -> String {
        self.data.iter().fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
    }
}

/// Every frame of `pcap` through nightjar-capture; any capture error or skipped record fails the test.
pub fn read_frames(pcap: &Path) -> Vec<OwnedFrame> {
    let mut capture =
        CaptureFile::open(pcap).unwrap_or_else(|e| panic!("nightjar cannot open {}: {e}", pcap.display()));
    let mut frames = Vec::new();
    while let Some(event) = capture.next_frame() {
        let number = frames.len() as u64 + 1;
        match event {
            Ok(FrameEvent::Frame(frame)) => {
                frames.push(OwnedFrame { number, link: frame.link, data: frame.data.to_vec() })
            }
            Ok(FrameEvent::Skipped(why)) => {
                panic!("{}: record {number} skipped by nightjar-capture: {why}", pcap.display())
            }
            Err(e) => panic!("{}: nightjar-capture failed after {} frames: {e}", pcap.display(), frames.len()),
        }
    }
    frames
}

/// One field on which Nightjar and tshark disagree.
#[derive(Debug)]
pub struct Mismatch {
    /// Frame number.
    pub frame: u64,
    /// The field, named as tshark names it (with the occurrence for quoted packets).
    pub field: String,
    /// Nightjar's value.
    pub ours: String,
    /// tshark's value.
    pub tshark: String,
}

struct Checker<'r> {
    frame: u64,
    row: &'r Row,
    mismatches: Vec<Mismatch>,
}

impl Checker<'_> {
    fn differ(&mut self, field: impl Display, ours: impl Display, tshark: impl Display) {
        self.mismatches.push(Mismatch {
            frame: self.frame,
            field: field.to_string(),
            ours: ours.to_string(),
            tshark: tshark.to_string(),
        });
    }

    fn label(field: &str, occurrence: usize) -> String {
        if occurrence == 0 { field.to_string() } else { format!("{field}[{occurrence}] (quoted packet)") }
    }

    /// A numeric field; `None` on our side means "we have no such value".
    fn num(&mut self, field: &str, occurrence: usize, ours: Option<u64>) {
        let theirs_text = self.row.nth(field, occurrence);
        let theirs = theirs_text.map(|t| number(t).ok_or(t));
        match (ours, theirs) {
            (Some(o), Some(Ok(t))) if o == t => {}
            (None, None) => {}
            (o, t) => {
                let ours = o.map_or("(none)".to_string(), |v| v.to_string());
                let theirs = match t {
                    None => "(absent)".to_string(),
                    Some(Ok(v)) => v.to_string(),
                    Some(Err(text)) => format!("unparsable {text:?}"),
                };
                self.differ(Self::label(field, occurrence), ours, theirs);
            }
        }
    }

    fn addr(&mut self, field: &str, occurrence: usize, ours: IpAddr) {
        let theirs = self.row.nth(field, occurrence);
        if theirs.and_then(|t| t.parse::<IpAddr>().ok()) != Some(ours) {
            self.differ(Self::label(field, occurrence), ours, theirs.unwrap_or("(absent)"));
        }
    }

    /// A fragment offset: ours in bytes, tshark's raw field in 8-byte units.
    fn fragment_offset(&mut self, field: &str, occurrence: usize, ours_bytes: u32) {
        let theirs = self.row.nth(field, occurrence);
        if theirs.and_then(number).map(|units| units * 8) != Some(ours_bytes.into()) {
            let theirs = theirs.map_or("(absent)".to_string(), |t| format!("{t} × 8 bytes"));
            self.differ(Self::label(field, occurrence), format!("{ours_bytes} bytes"), theirs);
        }
    }

    fn flag(&mut self, field: &str, occurrence: usize, ours: bool) {
        let theirs = self.row.nth(field, occurrence);
        if theirs.and_then(boolean) != Some(ours) {
            self.differ(Self::label(field, occurrence), ours, theirs.unwrap_or("(absent)"));
        }
    }
}

/// The protocol tokens of `frame.protocols`, e.g. `eth:ethertype:ip:icmp:ip:udp`.
fn protocols(row: &Row) -> Vec<&str> {
    row.first("frame.protocols").map(|p| p.split(':').collect()).unwrap_or_default()
}

/// The outer IP layer tshark found (`ip` or `ipv6`) and the layer after it
/// (extension headers skipped): `tcp`, `udp`, `icmp`, `icmpv6`, or something else.
fn outer_layers(row: &Row) -> Option<(&str, &str)> {
    let tokens = protocols(row);
    let at = tokens.iter().position(|t| *t == "ip" || *t == "ipv6")?;
    let upper = tokens[at + 1..].iter().find(|t| !t.starts_with("ipv6.")).copied().unwrap_or("");
    Some((tokens[at], upper))
}

/// The outer IPv6 header's extension chain as tshark dissected it.
struct Ipv6Chain {
    /// The protocol after the extension headers.
    upper: u64,
    /// Bytes of extension headers (Nightjar's `ip_options_len`).
    extension_len: u64,
    /// The occurrence of the `ipv6.fraghdr.*` fields that belongs to the
    /// outer header, when it has a fragment header.
    fragment: Option<usize>,
}

/// Follow `ipv6.nxt` through the extension headers tshark dissected. The
/// outer header's come first in each field's occurrences (a quoted packet's
/// follow), so the n-th header of a kind takes the n-th occurrence.
fn ipv6_chain(row: &Row) -> Option<Ipv6Chain> {
    let mut used: HashMap<&str, usize> = HashMap::new();
    let mut chain = Ipv6Chain { upper: number(row.first("ipv6.nxt")?)?, extension_len: 0, fragment: None };
    for _ in 0..16 {
        let (prefix, len_field) = match chain.upper {
            0 => ("ipv6.hopopts", Some("ipv6.hopopts.len_oct")),
            43 => ("ipv6.routing", Some("ipv6.routing.len_oct")),
            44 => ("ipv6.fraghdr", None),
            60 => ("ipv6.dstopts", Some("ipv6.dstopts.len_oct")),
            _ => return Some(chain),
        };
        let occurrence = used.entry(prefix).or_default();
        let at = *occurrence;
        *occurrence += 1;
        chain.upper = number(row.nth(&format!("{prefix}.nxt"), at)?)?;
        // A fragment header is 8 bytes; the others say their length.
        chain.extension_len += match len_field {
            Some(field) => number(row.nth(field, at)?)?,
            None => 8,
        };
        if prefix == "ipv6.fraghdr" {
            chain.fragment = Some(at);
            // Past the first fragment the rest is fragment data: tshark
            // (reassembly off) and Nightjar both stop here.
            if number(row.nth("ipv6.fraghdr.offset", at)?)? != 0 {
                return Some(chain);
            }
        }
    }
    None
}

/// The option layout letters tshark's `tcp.option_kind` list spells
/// (the letters of `TcpOptions::layout`).
fn layout_from_kinds(row: &Row) -> String {
    row.all("tcp.option_kind")
        .iter()
        .map(|kind| match number(kind) {
            Some(0) => 'E',
            Some(1) => 'N',
            Some(2) => 'M',
            Some(3) => 'W',
            Some(4) => 'S',
            Some(5) => 'K',
            Some(8) => 'T',
            _ => '?',
        })
        .collect()
}

fn transport_name(transport: &Transport, ip_version: u8) -> &'static str {
    match transport {
        Transport::Tcp { .. } => "tcp",
        Transport::Udp { .. } => "udp",
        Transport::Icmp(_) if ip_version == 4 => "icmp",
        Transport::Icmp(_) => "icmpv6",
        Transport::None => "none",
    }
}

fn compare_packet(check: &mut Checker<'_>, packet: &Packet<'_>, tshark_ip: &str, tshark_upper: &str) {
    let v4 = tshark_ip == "ip";
    if packet.ip_version != if v4 { 4 } else { 6 } {
        check.differ("ip version", packet.ip_version, tshark_ip);
        return;
    }
    let (src, dst) = (to_ip(&packet.src), to_ip(&packet.dst));
    if v4 {
        check.addr("ip.src", 0, src);
        check.addr("ip.dst", 0, dst);
        check.num("ip.proto", 0, Some(packet.protocol.into()));
        check.num("ip.ttl", 0, Some(packet.ttl.into()));
        check.num("ip.id", 0, packet.ip_id.map(u64::from));
        check.num("ip.len", 0, Some(packet.ip_len.into()));
        check.num("ip.hdr_len", 0, Some(u64::from(packet.ip_options_len) + 20));
        check.flag("ip.flags.rb", 0, packet.reserved_flag);
        check.flag("ip.flags.df", 0, packet.dont_fragment);
        check.flag("ip.flags.mf", 0, packet.more_fragments);
        check.fragment_offset("ip.frag_offset", 0, packet.fragment_offset);
    } else {
        check.addr("ipv6.src", 0, src);
        check.addr("ipv6.dst", 0, dst);
        check.num("ipv6.hlim", 0, Some(packet.ttl.into()));
        check.num("ipv6.plen", 0, Some(u64::from(packet.ip_len) - 40));
        match ipv6_chain(check.row) {
            Some(chain) => {
                if chain.upper != u64::from(packet.protocol) {
                    check.differ(
                        "ipv6 upper protocol (ipv6.nxt through extension headers)",
                        packet.protocol,
                        chain.upper,
                    );
                }
                if chain.extension_len != u64::from(packet.ip_options_len) {
                    let field = "ipv6 extension header bytes (ipv6.*.len_oct, 8 per fraghdr)";
                    check.differ(field, packet.ip_options_len, chain.extension_len);
                }
                match chain.fragment {
                    Some(at) => {
                        check.fragment_offset("ipv6.fraghdr.offset", at, packet.fragment_offset);
                        check.flag("ipv6.fraghdr.more", at, packet.more_fragments);
                    }
                    None if packet.is_fragment() => check.differ(
                        "ipv6 fragment header",
                        format!("offset {} bytes, more {}", packet.fragment_offset, packet.more_fragments),
                        "(absent)",
                    ),
                    None => {}
                }
            }
            None => check.differ(
                "ipv6 extension chain (ipv6.nxt through extension headers)",
                format!("protocol {} after {} bytes", packet.protocol, packet.ip_options_len),
                "(tshark's fields do not spell a whole chain)",
            ),
        }
        if packet.ip_id.is_some() {
            check.differ("ip.id", format!("{:?}", packet.ip_id), "(absent: IPv6)");
        }
    }

    let ours_upper = transport_name(&packet.transport, packet.ip_version);
    let tshark_kind = match tshark_upper {
        "tcp" | "udp" | "icmp" | "icmpv6" => tshark_upper,
        _ => "none",
    };
    if ours_upper != tshark_kind {
        check.differ("transport layer", ours_upper, tshark_upper);
        return;
    }
    match &packet.transport {
        Transport::Tcp { src_port, dst_port, header } => {
            check.num("tcp.srcport", 0, Some((*src_port).into()));
            check.num("tcp.dstport", 0, Some((*dst_port).into()));
            // tshark's flags field is 12 bits (with the reserved and AE bits);
            // Nightjar keeps byte 13, the eight classic flags.
            let theirs = check.row.first("tcp.flags").and_then(number).map(|f| f & 0xff);
            if theirs != Some(header.flags.into()) {
                check.differ("tcp.flags (low 8 bits)", format!("{:#04x}", header.flags), format!("{theirs:#04x?}"));
            }
            check.num("tcp.seq_raw", 0, Some(header.seq.into()));
            check.num("tcp.ack_raw", 0, Some(header.ack.into()));
            check.num("tcp.window_size_value", 0, Some(header.window.into()));
            // tshark gives no segment length for a fragment (it cannot know
            // the segment's length); Nightjar's is then this fragment's share.
            if !packet.is_fragment() {
                check.num("tcp.len", 0, Some(packet.payload_len.into()));
            }
            check.num("tcp.options.mss_val", 0, header.options.mss.map(u64::from));
            check.num("tcp.options.wscale.shift", 0, header.options.window_scale.map(u64::from));
            let theirs = layout_from_kinds(check.row);
            if theirs != header.options.layout() {
                check.differ("tcp.option_kind (as layout letters)", header.options.layout(), theirs);
            }
            let kinds = check.row.all("tcp.option_kind").to_vec();
            let has = |kind: &str| kinds.iter().any(|k| k == kind);
            if has("4") != header.options.sack_permitted {
                check.differ("tcp SACK-permitted option", header.options.sack_permitted, has("4"));
            }
            if has("8") != header.options.timestamps {
                check.differ("tcp timestamps option", header.options.timestamps, has("8"));
            }
        }
        Transport::Udp { src_port, dst_port } => {
            check.num("udp.srcport", 0, Some((*src_port).into()));
            check.num("udp.dstport", 0, Some((*dst_port).into()));
            check.num("udp.length", 0, Some(u64::from(packet.payload_len) + 8));
        }
        Transport::Icmp(icmp) => {
            let (type_field, code_field, src_field, dst_field) = if v4 {
                ("icmp.type", "icmp.code", "ip.src", "ip.dst")
            } else {
                ("icmpv6.type", "icmpv6.code", "ipv6.src", "ipv6.dst")
            };
            check.num(type_field, 0, Some(icmp.icmp_type.into()));
            check.num(code_field, 0, Some(icmp.code.into()));
            let tshark_quotes = check.row.nth(src_field, 1).is_some();
            match &icmp.quoted {
                Some(quoted) => {
                    check.addr(src_field, 1, to_ip(&quoted.src));
                    check.addr(dst_field, 1, to_ip(&quoted.dst));
                    let protocol_field = if v4 { "ip.proto" } else { "ipv6.nxt" };
                    check.num(protocol_field, 1, Some(quoted.protocol.into()));
                    let (sport, dport) = match quoted.protocol {
                        ipproto::TCP => ("tcp.srcport", "tcp.dstport"),
                        ipproto::UDP => ("udp.srcport", "udp.dstport"),
                        _ => return,
                    };
                    // The quoted header is the only TCP/UDP header of the frame.
                    check.num(sport, 0, quoted.src_port.map(u64::from));
                    check.num(dport, 0, quoted.dst_port.map(u64::from));
                }
                None if tshark_quotes => {
                    check.differ("quoted packet", "(none)", check.row.all(src_field).join(","));
                }
                None => {}
            }
        }
        Transport::None if packet.fragment_offset != 0 => {
            // A later fragment carries no transport header: tshark (without
            // reassembly) must not have read ports from its data either.
            for field in ["tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"] {
                check.num(field, 0, None);
            }
        }
        Transport::None => {}
    }
}

/// Compare every frame; the mismatches found (empty when all agree).
pub fn compare(frames: &[OwnedFrame], rows: &[Row]) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    if frames.len() != rows.len() {
        mismatches.push(Mismatch {
            frame: 0,
            field: "frame count".into(),
            ours: frames.len().to_string(),
            tshark: rows.len().to_string(),
        });
    }
    for (frame, row) in frames.iter().zip(rows) {
        let mut check = Checker { frame: frame.number, row, mismatches: Vec::new() };
        if row.number() != frame.number {
            check.differ("frame.number", frame.number, row.number());
        }
        match (frame.decode(), outer_layers(row)) {
            (Err(SkipReason::NotIp), None) => {}
            (Err(reason), None) => {
                check.differ("skip reason for a frame tshark sees no IP in", format!("{reason:?}"), "NotIp")
            }
            (Err(reason), Some((ip, upper))) => {
                check.differ("decode", format!("skipped: {reason:?}"), format!("an {ip} packet carrying {upper}"))
            }
            (Ok(packet), None) => check.differ(
                "decode",
                format!("an IPv{} packet", packet.ip_version),
                format!("no IP ({})", row.first("frame.protocols").unwrap_or("?")),
            ),
            (Ok(packet), Some((ip, upper))) => compare_packet(&mut check, &packet, ip, upper),
        }
        mismatches.append(&mut check.mismatches);
    }
    mismatches
}

/// Fail, listing every disagreement with the frame bytes, unless Nightjar and tshark agree on every frame.
pub fn assert_same_as_tshark(pcap: &Path, frames: &[OwnedFrame], rows: &[Row]) {
    let mismatches = compare(frames, rows);
    if mismatches.is_empty() {
        return;
    }
    let mut report = format!(
        "{}: Nightjar and tshark disagree on {} field(s) over {} frames:\n",
        pcap.display(),
        mismatches.len(),
        frames.len()
    );
    for m in mismatches.iter().take(60) {
        let _ = writeln!(report, "  frame {}: {}: nightjar {}, tshark {}", m.frame, m.field, m.ours, m.tshark);
    }
    let mut shown = Vec::new();
    for m in &mismatches {
        if shown.len() < 5 && !shown.contains(&m.frame) {
            shown.push(m.frame);
        }
    }
    for number in shown {
        if let Some(frame) = frames.iter().find(|f| f.number == number) {
            let _ = writeln!(report, "  frame {number} ({:?}) bytes: {}", frame.link, frame.hex());
        }
    }
    panic!("{report}");
}
