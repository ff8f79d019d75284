//! The referee: tshark's reading of a capture, one row of fields per frame.
//!
//! `tshark -T fields` prints every occurrence of a field, comma-separated:
//! for an ICMP error that quotes a packet, `ip.src` is `outer,inner`, and the
//! quoted TCP/UDP header gives the only `tcp.*`/`udp.*` values of the frame.
//! [`Row`] keeps the occurrences apart so the comparison can check the
//! quoted packet too.
//!
//! tshark reads with IP and IPv6 reassembly off: Nightjar decodes each frame
//! alone, so the referee must show each fragment as it came on the wire — the
//! first with its transport header, later ones as bare data — not the
//! reassembled datagram on the last fragment.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::prereq::Tools;
use crate::process::run_ok;

/// The fields asked of tshark, in column order (names checked with `tshark -G fields`).
pub const FIELDS: &[&str] = &[
    "frame.number",
    "frame.protocols",
    "vlan.id",
    "ieee8021ad.id",
    "ip.src",
    "ip.dst",
    "ip.proto",
    "ip.ttl",
    "ip.id",
    "ip.len",
    "ip.hdr_len",
    "ip.flags.rb",
    "ip.flags.df",
    "ip.flags.mf",
    // The raw 13-bit field, in 8-byte units (`-V` shows it times 8).
    "ip.frag_offset",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.nxt",
    "ipv6.hlim",
    "ipv6.plen",
    "ipv6.hopopts.nxt",
    "ipv6.routing.nxt",
    "ipv6.fraghdr.nxt",
    "ipv6.dstopts.nxt",
    "ipv6.hopopts.len_oct",
    "ipv6.routing.len_oct",
    "ipv6.dstopts.len_oct",
    "ipv6.fraghdr.offset",
    "ipv6.fraghdr.more",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.window_size_value",
    "tcp.len",
    "tcp.option_kind",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "icmp.type",
    "icmp.code",
    "icmpv6.type",
    "icmpv6.code",
];

/// tshark's fields for one frame.
#[derive(Debug, Clone)]
pub struct Row {
    values: Vec<Vec<String>>,
}

impl Row {
    /// Every occurrence of `field`, outermost first; empty when absent.
    pub fn all(&self, field: &str) -> &[String] {
        let column =
            FIELDS.iter().position(|f| *f == field).unwrap_or_else(|| panic!("test bug: `{field}` is not in FIELDS"));
        &self.values[column]
    }

    /// The `index`-th occurrence of `field` (0 is the outermost).
    pub fn nth(&self, field: &str, index: usize) -> Option<&str> {
        self.all(field).get(index).map(String::as_str)
    }

    /// The first (outermost) occurrence of `field`.
    pub fn first(&self, field: &str) -> Option<&str> {
        self.nth(field, 0)
    }

    /// The frame number (1-based, as tshark counts).
    pub fn number(&self) -> u64 {
        self.first("frame.number").and_then(|n| n.parse().ok()).expect("tshark always prints frame.number")
    }
}

/// Preferences that keep every fragment a frame of its own (names checked
/// with `tshark -G defaultprefs`).
const NO_REASSEMBLY: &[&str] = &["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"];

/// Read `pcap` with tshark, one [`Row`] per frame in file order.
pub fn read(tools: &Tools, pcap: &Path) -> Vec<Row> {
    let mut cmd = Command::new(tools.path("tshark"));
    cmd.args(["-n"]).args(NO_REASSEMBLY).arg("-r").arg(pcap).args([
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for field in FIELDS {
        cmd.args(["-e", field]);
    }
    let out = run_ok(&mut cmd, Duration::from_secs(60));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            assert_eq!(columns.len(), FIELDS.len(), "tshark printed an unexpected line: {line:?}");
            let values = columns
                .into_iter()
                .map(|c| if c.is_empty() { Vec::new() } else { c.split(',').map(str::to_string).collect() })
                .collect();
            Row { values }
        })
        .collect()
}

/// A number as tshark prints it: decimal, or hexadecimal with `0x` (ip.id, tcp.flags).
pub fn number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// A boolean field: tshark 4.0 prints `1`/`0`, later versions `True`/`False`.
pub fn boolean(text: &str) -> Option<bool> {
    match text {
        "1" | "True" | "true" => Some(true),
        "0" | "False" | "false" => Some(false),
        _ => None,
    }
}
