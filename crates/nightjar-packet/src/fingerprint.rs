//! Scanning-tool fingerprints: which rule recognises a packet as Mirai,
//! Masscan or ZMap, and how often each rule fires on traffic that is not
//! the tool.
//!
//! A rule never rests on one 16-bit field alone. A telescope sees around 10⁹
//! SYNs a day, so a rule that a random SYN meets with probability 2⁻¹⁶
//! (Masscan's IP id formula, ZMap's IP id 54321) would wrongly label some
//! 15,000 packets a day. Each rule therefore also checks the fields the
//! tool's packets always carry, read from the tools' own packet templates
//! (Masscan's `templ-pkt.c`, ZMap's `probe_modules/packet.c` and
//! `module_tcp_synscan.c`) and confirmed on captures of the real tools:
//!
//! | Rule | Tool | Fields | False match, per SYN that is no tool |
//! |------|------|--------|--------------------------------------|
//! | `mirai-sequence` | mirai | SYN without ACK; sequence number = destination IPv4 address | 2⁻³² for any SYN |
//! | `masscan-ip-id` | masscan | flags exactly SYN; ack 0; window 1024; DF clear; no payload; options none or MSS alone; IP id = low 16 bits of (destination ⊕ destination port ⊕ sequence) | 2⁻¹⁶ for a SYN built like Masscan's (nmap `-sS` sends window 1024, MSS 1460, no DF); about 2⁻³⁴ for a SYN with a random window and DF (2⁻¹⁶ window × ½ DF × ⅓ options × 2⁻¹⁶ IP id) |
//! | `zmap-ip-id` | zmap | IP id 54321; DF clear; and either a SYN with flags exactly SYN, ack 0, window 65535, no payload, options none or MSS 1460 — or a UDP datagram or ICMP echo request with TTL above 128 (ZMap ≤ 4.0 sends 255) | 2⁻¹⁶ for a SYN built like ZMap's; about 2⁻³⁵ for a SYN with a random window and DF |
//! | `zmap-options` | zmap | flags exactly SYN; ack 0; window 65535; DF clear; no payload; options exactly one of ZMap 4.1's `--probe-args` sets with MSS 1460: `windows` (the default; `MNWNNS`, scale 8), `linux` (`MSTNW`, scale 7) or `bsd` (`MNWNNTSE`, scale 6) | no random field: 2⁻¹⁷ (window, DF) × the share of SYNs with exactly that option set, MSS and scale — about 2⁻²³ in the benchmark's mix of six option sets; the stacks that send these sets (Windows, Linux, macOS) set DF and, Windows and Linux, a window other than 65535 |
//!
//! The rates are checked by `benches/examples/tool_false_match.rs` on
//! 10 million generated SYNs (`benches/run --tool-false-match`).
//!
//! ZMap since 4.1 sends a random IP id (the low bits of its validation
//! tag) and takes the sequence number and source port from the same keyed
//! tag, so nothing in one packet can be checked against the destination; its
//! fixed template fields (`zmap-options`) are what remains; its UDP and
//! ICMP probes, which have no such fields, are not recognised, nor is the
//! SYN-ACK of its `tcp_synackscan` module (the rules ask for a bare SYN). ZMap 4.1 with
//! `--probe-args=smallest-probes` (MSS alone) is not recognised: window 65535
//! with MSS 1460 and no DF is too common a shape to carry a label without the
//! IP id. Masscan with `--tcp-wscale`, `--tcp-sackok` or `--tcp-tsecho` is
//! not recognised either (its default sends MSS alone or, before 1.3, no
//! options). TTL is not part of the TCP rules: Masscan's `--ttl` and ZMap's
//! `--probe-ttl` change it, and ZMap 4.1 sends 64 by default.
//!
//! A per-packet rate of 2⁻¹⁶ still labels a few packets of every large
//! nmap-like scan, so the `sources` view takes a source as a tool only when
//! its packets agree: at least [`min_source_packets`] of them carry the
//! tool's label (two for Masscan and ZMap, one for Mirai) and they are more
//! than half of its scan packets. A chance Masscan or ZMap source then needs
//! two independent 2⁻¹⁶ coincidences among two or three SYNs (2⁻³² or less),
//! or thousands among thousands. Mirai's rule is a 32-bit equality (2⁻³²
//! per SYN, about one chance label in four days at 10⁹ SYNs a day), and a
//! Mirai bot scanning all of IPv4 reaches a small telescope only a few times
//! a day, so one SYN suffices for it.

use crate::addr::as_v4;
use crate::classify::{Classification, Tool, TrafficClass};
use crate::packet::{Packet, Transport, ipproto, tcp_flags};

/// The ZMap IP id (fixed up to ZMap 4.0, randomised after).
pub const ZMAP_IP_ID: u16 = 54321;

/// The least number of a source's packets that must carry `tool`'s label
/// before the source counts as that tool (they must also be more than half
/// of its scan packets): two for the rules resting on a 16-bit field, one
/// for Mirai's 32-bit rule.
pub fn min_source_packets(tool: Tool) -> u64 {
    match tool {
        Tool::Mirai => 1,
        Tool::Masscan | Tool::Zmap => 2,
    }
}

/// The TCP fields a tool rule reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpEvidence<'a> {
    /// Destination port.
    pub dst_port: u16,
    /// The flag byte.
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Receive window, unscaled.
    pub window: u16,
    /// Option layout letters (see [`crate::TcpOptions::layout`]).
    pub layout: &'a str,
    /// MSS option value.
    pub mss: Option<u16>,
    /// Window scale shift count.
    pub window_scale: Option<u8>,
}

/// The fields a tool rule reads: from a decoded [`Packet`] (the sensor) or
/// from the stored record columns (the `tool_rule` SQL function).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToolEvidence<'a> {
    /// The destination as a number, for IPv4; `None` for IPv6 (no rule applies).
    pub dst_v4: Option<u32>,
    /// IP protocol number.
    pub protocol: u8,
    /// TTL as received.
    pub ttl: u8,
    /// IPv4 identification.
    pub ip_id: Option<u16>,
    /// IPv4 don't-fragment flag.
    pub dont_fragment: bool,
    /// ICMP type, for ICMP.
    pub icmp_type: Option<u8>,
    /// Transport payload length in bytes.
    pub payload_len: u32,
    /// TCP fields, for TCP.
    pub tcp: Option<TcpEvidence<'a>>,
}

impl<'a> ToolEvidence<'a> {
    /// The evidence a decoded packet gives.
    pub fn of(packet: &'a Packet<'_>) -> ToolEvidence<'a> {
        let tcp = match &packet.transport {
            Transport::Tcp { dst_port, header, .. } => Some(TcpEvidence {
                dst_port: *dst_port,
                flags: header.flags,
                seq: header.seq,
                ack: header.ack,
                window: header.window,
                layout: header.options.layout(),
                mss: header.options.mss,
                window_scale: header.options.window_scale,
            }),
            _ => None,
        };
        ToolEvidence {
            dst_v4: as_v4(&packet.dst).map(u32::from),
            protocol: packet.protocol,
            ttl: packet.ttl,
            ip_id: packet.ip_id,
            dont_fragment: packet.dont_fragment,
            icmp_type: packet.icmp().map(|icmp| icmp.icmp_type),
            payload_len: packet.payload_len,
            tcp,
        }
    }
}

/// A rule that recognises a tool; the table in the module doc gives each
/// one's fields and false-match rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ToolRule {
    /// Mirai: SYN whose sequence number is the destination address.
    MiraiSequence,
    /// Masscan: its SYN template and its IP id formula.
    MasscanIpId,
    /// ZMap up to 4.0: IP id 54321 on its SYN, UDP or ICMP echo template.
    ZmapIpId,
    /// ZMap 4.1 and later: its SYN template with one of its option sets.
    ZmapOptions,
}

impl ToolRule {
    /// Every rule, in the order they are tried.
    pub const ALL: [ToolRule; 4] =
        [ToolRule::MiraiSequence, ToolRule::MasscanIpId, ToolRule::ZmapIpId, ToolRule::ZmapOptions];

    /// The rule's name, e.g. `masscan-ip-id`.
    pub fn name(self) -> &'static str {
        match self {
            ToolRule::MiraiSequence => "mirai-sequence",
            ToolRule::MasscanIpId => "masscan-ip-id",
            ToolRule::ZmapIpId => "zmap-ip-id",
            ToolRule::ZmapOptions => "zmap-options",
        }
    }

    /// The tool the rule recognises.
    pub fn tool(self) -> Tool {
        match self {
            ToolRule::MiraiSequence => Tool::Mirai,
            ToolRule::MasscanIpId => Tool::Masscan,
            ToolRule::ZmapIpId | ToolRule::ZmapOptions => Tool::Zmap,
        }
    }

    /// Whether the evidence meets this rule.
    pub fn matches(self, evidence: &ToolEvidence<'_>) -> bool {
        let Some(dst) = evidence.dst_v4 else { return false };
        match self {
            ToolRule::MiraiSequence => evidence
                .tcp
                .is_some_and(|tcp| tcp.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN && tcp.seq == dst),
            ToolRule::MasscanIpId => evidence.tcp.is_some_and(|tcp| {
                let masscan_id = (dst ^ u32::from(tcp.dst_port) ^ tcp.seq) as u16;
                bare_template_syn(evidence, &tcp, 1024)
                    && (tcp.layout.is_empty() || tcp.layout == "M")
                    && evidence.ip_id == Some(masscan_id)
            }),
            ToolRule::ZmapIpId => {
                if evidence.ip_id != Some(ZMAP_IP_ID) || evidence.dont_fragment {
                    return false;
                }
                match evidence.tcp {
                    Some(tcp) => {
                        bare_template_syn(evidence, &tcp, u16::MAX)
                            && (tcp.layout.is_empty() || (tcp.layout == "M" && tcp.mss == Some(1460)))
                    }
                    None => {
                        let probe = evidence.protocol == ipproto::UDP
                            || (evidence.protocol == ipproto::ICMP && evidence.icmp_type == Some(8));
                        probe && evidence.ttl > 128
                    }
                }
            }
            ToolRule::ZmapOptions => evidence.tcp.is_some_and(|tcp| {
                let option_set = match tcp.layout {
                    "MNWNNS" => Some(8),
                    "MSTNW" => Some(7),
                    "MNWNNTSE" => Some(6),
                    _ => None,
                };
                bare_template_syn(evidence, &tcp, u16::MAX)
                    && option_set.is_some()
                    && tcp.window_scale == option_set
                    && tcp.mss == Some(1460)
            }),
        }
    }
}

/// A SYN as a raw-packet template sends it: flags exactly SYN, ack 0, the
/// template's window, DF clear, no payload.
fn bare_template_syn(evidence: &ToolEvidence<'_>, tcp: &TcpEvidence<'_>, window: u16) -> bool {
    tcp.flags == tcp_flags::SYN
        && tcp.ack == 0
        && tcp.window == window
        && !evidence.dont_fragment
        && evidence.payload_len == 0
}

/// The first rule of [`ToolRule::ALL`] the evidence meets, if any.
pub fn tool_rule(evidence: &ToolEvidence<'_>) -> Option<ToolRule> {
    ToolRule::ALL.into_iter().find(|rule| rule.matches(evidence))
}

/// The tool a packet's fingerprint names, if any.
pub(crate) fn fingerprint(packet: &Packet<'_>) -> Option<Tool> {
    tool_rule(&ToolEvidence::of(packet)).map(ToolRule::tool)
}

/// One source's packets counted for the per-source agreement rule that the
/// `sources` view applies in SQL: a source is a tool when at least
/// [`min_source_packets`] of its packets carry the tool's label and they are
/// more than half of its scan packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceToolTally {
    scan_packets: u64,
    labelled: [u64; Tool::ALL.len()],
}

impl SourceToolTally {
    /// Count one of the source's packets.
    pub fn add(&mut self, classification: &Classification) {
        if classification.class == TrafficClass::Scan {
            self.scan_packets += 1;
        }
        if let Some(tool) = classification.tool
            && let Some(position) = Tool::ALL.iter().position(|t| *t == tool)
        {
            self.labelled[position] += 1;
        }
    }

    /// The tool the source's packets agree on, if any (at most one can hold a majority).
    pub fn tool(&self) -> Option<Tool> {
        Tool::ALL.into_iter().zip(self.labelled).find_map(|(tool, count)| {
            (count >= min_source_packets(tool) && 2 * count > self.scan_packets).then_some(tool)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(tool: Option<Tool>) -> Classification {
        Classification { class: TrafficClass::Scan, tool, spoof: None }
    }

    #[test]
    fn a_source_needs_two_labelled_packets_and_a_majority_of_its_scans() {
        let mut tally = SourceToolTally::default();
        tally.add(&scan(Some(Tool::Masscan)));
        assert_eq!(tally.tool(), None, "one packet is not enough");
        tally.add(&scan(Some(Tool::Masscan)));
        assert_eq!(tally.tool(), Some(Tool::Masscan));
        tally.add(&scan(None));
        tally.add(&scan(None));
        assert_eq!(tally.tool(), None, "two of four is no majority");
        let mut nmap = SourceToolTally::default();
        for i in 0..896 {
            nmap.add(&scan((i == 300).then_some(Tool::Masscan)));
        }
        assert_eq!(nmap.tool(), None, "one chance match among 896 nmap SYNs");
        let mut mirai = SourceToolTally::default();
        mirai.add(&scan(Some(Tool::Mirai)));
        assert_eq!(mirai.tool(), Some(Tool::Mirai), "one Mirai SYN (a 32-bit match) is enough");
    }
}
