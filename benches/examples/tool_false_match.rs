//! Tool fingerprints against traffic that is no tool: how many of 10 million
//! generated SYNs each rule labels, next to the number the rule's documented
//! false-match rate predicts, and how many sources the per-source agreement
//! rule (`nightjar_packet::SourceToolTally`) would call a tool. Goal: 0 sources.
//!
//! Three populations, every SYN with ack 0 and no payload, as real stacks send:
//! - `random`: random destination, port, sequence number, IP id, TTL, window
//!   and DF, and one of six common option sets (MSS random or 1460, window
//!   scale random);
//! - `nmap-like`: nmap `-sS`'s template (window 1024, MSS 1460, no DF) with a
//!   random IP id: only the 16-bit IP id stands between it and Masscan;
//! - `zmap-like`: ZMap's template (window 65535, no options or MSS 1460, no
//!   DF) with a random IP id: only the 16-bit IP id stands between it and ZMap.
//!
//! Each population's packets are dealt to sources in turn, sources of 1, 2,
//! 3, 10, 100 and 896 SYNs. Run: `cargo run --example tool_false_match
//! [PACKETS]` (default 10,000,000), or `benches/run --tool-false-match`.

use std::collections::BTreeMap;

use nightjar_packet::{LinkType, SourceToolTally, ToolEvidence, ToolRule, classify, decode, tool_rule};

/// Option sets of the `random` population, with whether the MSS is 1460 decided per packet.
const OPTION_LAYOUTS: [&str; 6] = ["", "M", "MSTNW", "MNWNNS", "MNWNNTSE", "MNNS"];
/// Source sizes the packets are dealt to, in turn.
const SOURCE_SIZES: [u64; 6] = [1, 2, 3, 10, 100, 896];

/// SplitMix64: deterministic, so a run can be repeated.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The TCP options bytes of a layout.
fn options(layout: &str, mss: u16, scale: u8) -> Vec<u8> {
    let [m0, m1] = mss.to_be_bytes();
    let mut bytes = Vec::new();
    for letter in layout.bytes() {
        match letter {
            b'M' => bytes.extend_from_slice(&[2, 4, m0, m1]),
            b'W' => bytes.extend_from_slice(&[3, 3, scale]),
            b'S' => bytes.extend_from_slice(&[4, 2]),
            b'T' => bytes.extend_from_slice(&[8, 10, 1, 2, 3, 4, 0, 0, 0, 0]),
            b'N' => bytes.push(1),
            _ => bytes.push(0),
        }
    }
    while bytes.len() % 4 != 0 {
        bytes.push(0);
    }
    bytes
}

/// One IPv4 TCP SYN.
struct Syn {
    dst: u32,
    dst_port: u16,
    seq: u32,
    ip_id: u16,
    ttl: u8,
    dont_fragment: bool,
    window: u16,
    options: Vec<u8>,
}

impl Syn {
    fn write(&self, frame: &mut Vec<u8>) {
        let tcp_len = 20 + self.options.len();
        frame.clear();
        frame.extend_from_slice(&[0x45, 0]);
        frame.extend_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
        frame.extend_from_slice(&self.ip_id.to_be_bytes());
        frame.extend_from_slice(&[if self.dont_fragment { 0x40 } else { 0 }, 0, self.ttl, 6, 0, 0]);
        frame.extend_from_slice(&[198, 51, 100, 7]);
        frame.extend_from_slice(&self.dst.to_be_bytes());
        frame.extend_from_slice(&40000u16.to_be_bytes());
        frame.extend_from_slice(&self.dst_port.to_be_bytes());
        frame.extend_from_slice(&self.seq.to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 0, ((tcp_len / 4) as u8) << 4, 0x02]);
        frame.extend_from_slice(&self.window.to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(&self.options);
    }
}

/// The populations, each with the chance per SYN, by rule, that the module doc of
/// `nightjar_packet`'s fingerprint rules gives for it.
#[derive(Clone, Copy, Debug)]
enum Population {
    Random,
    NmapLike,
    ZmapLike,
}

const P16: f64 = 1.0 / 65_536.0;

impl Population {
    fn name(self) -> &'static str {
        match self {
            Population::Random => "random",
            Population::NmapLike => "nmap-like",
            Population::ZmapLike => "zmap-like",
        }
    }

    fn syn(self, rng: &mut SplitMix) -> Syn {
        let r = rng.next();
        let r2 = rng.next();
        let (dst, dst_port, seq, ip_id) = (r as u32, (r >> 32) as u16, r2 as u32, (r2 >> 32) as u16);
        let r3 = rng.next();
        match self {
            Population::Random => {
                let layout = OPTION_LAYOUTS[(r3 % 6) as usize];
                let mss = if r3 & 1 << 8 != 0 { 1460 } else { (r3 >> 16) as u16 };
                Syn {
                    dst,
                    dst_port,
                    seq,
                    ip_id,
                    ttl: (r3 >> 32) as u8,
                    dont_fragment: r3 & 1 << 9 != 0,
                    window: (r3 >> 40) as u16,
                    options: options(layout, mss, ((r3 >> 56) % 15) as u8),
                }
            }
            Population::NmapLike => Syn {
                dst,
                dst_port,
                seq,
                ip_id,
                ttl: 37 + (r3 % 23) as u8,
                dont_fragment: false,
                window: 1024,
                options: options("M", 1460, 0),
            },
            Population::ZmapLike => Syn {
                dst,
                dst_port,
                seq,
                ip_id,
                ttl: (r3 >> 8) as u8,
                dont_fragment: false,
                window: u16::MAX,
                options: options(if r3 & 1 != 0 { "M" } else { "" }, 1460, 0),
            },
        }
    }

    /// The documented chance per SYN of this population that `rule` matches.
    fn predicted(self, rule: ToolRule) -> f64 {
        // random: window 2⁻¹⁶, DF clear ½, the layouts a rule takes (each 1/6, MSS 1460 ½,
        // window scale 1/15), and the rule's own 16- or 32-bit field.
        let layout = 1.0 / 6.0;
        match (self, rule) {
            (_, ToolRule::MiraiSequence) => P16 * P16,
            (Population::Random, ToolRule::MasscanIpId) => P16 * 0.5 * (2.0 * layout) * P16,
            (Population::Random, ToolRule::ZmapIpId) => P16 * 0.5 * (layout + layout * 0.5) * P16,
            (Population::Random, ToolRule::ZmapOptions) => P16 * 0.5 * (3.0 * layout * 0.5 / 15.0),
            (Population::NmapLike, ToolRule::MasscanIpId) => P16,
            (Population::ZmapLike, ToolRule::ZmapIpId) => P16,
            (Population::NmapLike, _) | (Population::ZmapLike, _) => 0.0,
        }
    }
}

fn main() {
    let packets: u64 = std::env::args().nth(1).and_then(|a| a.replace('_', "").parse().ok()).unwrap_or(10_000_000);
    let populations =
        [(Population::Random, packets / 2), (Population::NmapLike, packets / 4), (Population::ZmapLike, packets / 4)];
    let mut rng = SplitMix(0x746f_6f6c_7275_6c65);
    let mut frame = Vec::with_capacity(80);
    let started = std::time::Instant::now();
    println!("| population | SYNs | rule | labelled | predicted |");
    println!("|---|---:|---|---:|---:|");
    let mut summary = Vec::new();
    for (population, count) in populations {
        let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
        let (mut sources, mut tool_sources, mut size_index, mut in_source) = (0u64, 0u64, 0usize, 0u64);
        // Sources with any labelled packet: what a count without the agreement rule names.
        let (mut any_label_sources, mut source_has_label) = (0u64, false);
        let mut tally = SourceToolTally::default();
        // What the rules that read the IP id alone (Masscan's formula, ZMap's 54321) would label.
        let (mut id_alone_masscan, mut id_alone_zmap) = (0u64, 0u64);
        for _ in 0..count {
            let syn = population.syn(&mut rng);
            id_alone_masscan += u64::from(syn.ip_id == (syn.dst ^ u32::from(syn.dst_port) ^ syn.seq) as u16);
            id_alone_zmap += u64::from(syn.ip_id == nightjar_packet::ZMAP_IP_ID);
            syn.write(&mut frame);
            let Ok(packet) = decode(LinkType::Raw, &frame) else { panic!("a generated SYN does not decode") };
            if let Some(rule) = tool_rule(&ToolEvidence::of(&packet)) {
                *by_rule.entry(rule.name()).or_default() += 1;
            }
            let classification = classify(&packet);
            source_has_label |= classification.tool.is_some();
            tally.add(&classification);
            in_source += 1;
            if in_source == SOURCE_SIZES[size_index] {
                sources += 1;
                tool_sources += u64::from(tally.tool().is_some());
                any_label_sources += u64::from(source_has_label);
                source_has_label = false;
                tally = SourceToolTally::default();
                in_source = 0;
                size_index = (size_index + 1) % SOURCE_SIZES.len();
            }
        }
        for rule in ToolRule::ALL {
            let labelled = by_rule.get(rule.name()).copied().unwrap_or(0);
            let predicted = population.predicted(rule) * count as f64;
            println!("| {} | {count} | {} | {labelled} | {predicted:.4} |", population.name(), rule.name());
        }
        let name = population.name();
        println!(
            "| {name} | {count} | IP id alone, Masscan's formula | {id_alone_masscan} | {:.1} |",
            P16 * count as f64
        );
        println!("| {name} | {count} | IP id alone, 54321 | {id_alone_zmap} | {:.1} |", P16 * count as f64);
        summary.push((population.name(), sources, any_label_sources, tool_sources));
    }
    println!();
    println!("| population | sources | sources with a labelled packet | sources a tool by the agreement rule |");
    println!("|---|---:|---:|---:|");
    for (name, sources, any_label_sources, tool_sources) in &summary {
        println!("| {name} | {sources} | {any_label_sources} | {tool_sources} |");
    }
    println!();
    println!("{packets} SYNs in {:.1} s", started.elapsed().as_secs_f64());
    if summary.iter().any(|(_, _, _, tool_sources)| *tool_sources > 0) {
        eprintln!("a source that is no tool was labelled one");
        std::process::exit(1);
    }
}
