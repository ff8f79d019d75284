//! The tool rules of `fingerprint.rs` on hand-built SYNs, and a million
//! random SYNs whose signature field matches by construction but whose
//! template fields do not: none may carry a Masscan or ZMap label.

use nightjar_packet::{LinkType, Tool, ToolEvidence, ToolRule, ZMAP_IP_ID, classify, decode, tool_rule};
use proptest::prelude::Rng;
use proptest::test_runner::{RngAlgorithm, TestRng};

const SCANNER: [u8; 4] = [198, 51, 100, 7];
const DARK: [u8; 4] = [192, 0, 2, 10];

/// The fields of one SYN these tests vary.
#[derive(Clone, Copy, Debug)]
struct Syn<'a> {
    ip_id: u16,
    ttl: u8,
    dont_fragment: bool,
    dst: [u8; 4],
    dst_port: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    window: u16,
    options: &'a [u8],
    payload: &'a [u8],
}

impl Syn<'_> {
    fn frame(&self) -> Vec<u8> {
        let tcp_len = 20 + self.options.len();
        let total = 20 + tcp_len + self.payload.len();
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&(total as u16).to_be_bytes());
        p.extend_from_slice(&self.ip_id.to_be_bytes());
        p.extend_from_slice(&[if self.dont_fragment { 0x40 } else { 0 }, 0, self.ttl, 6, 0, 0]);
        p.extend_from_slice(&SCANNER);
        p.extend_from_slice(&self.dst);
        p.extend_from_slice(&40000u16.to_be_bytes());
        p.extend_from_slice(&self.dst_port.to_be_bytes());
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&self.ack.to_be_bytes());
        p.extend_from_slice(&[((tcp_len / 4) as u8) << 4, self.flags]);
        p.extend_from_slice(&self.window.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]);
        p.extend_from_slice(self.options);
        p.extend_from_slice(self.payload);
        p
    }

    fn tool(&self) -> Option<Tool> {
        classify(&decode(LinkType::Raw, &self.frame()).expect("test frames are well formed")).tool
    }

    fn rule(&self) -> Option<ToolRule> {
        let frame = self.frame();
        let packet = decode(LinkType::Raw, &frame).expect("test frames are well formed");
        tool_rule(&ToolEvidence::of(&packet))
    }
}

const MSS_1460: &[u8] = &[2, 4, 0x05, 0xb4];
/// ZMap 4.1's default (`windows`) option set: MSS 1460, NOP, WS 8, NOP, NOP, SACK permitted.
const ZMAP_WINDOWS: &[u8] = &[2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2];
/// ZMap 4.1's `linux` set: MSS 1460, SACK permitted, timestamps, NOP, WS 7.
const ZMAP_LINUX: &[u8] = &[2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x67, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];
/// ZMap 4.1's `bsd` set: MSS 1460, NOP, WS 6, NOP, NOP, timestamps, SACK permitted, EOL.
const ZMAP_BSD: &[u8] = &[2, 4, 0x05, 0xb4, 1, 3, 3, 6, 1, 1, 8, 10, 0x67, 0, 0, 1, 0, 0, 0, 0, 4, 2, 0, 0];

fn masscan_syn(seq: u32, dst_port: u16) -> Syn<'static> {
    let id = (u32::from_be_bytes(DARK) ^ u32::from(dst_port) ^ seq) as u16;
    Syn {
        ip_id: id,
        ttl: 255,
        dont_fragment: false,
        dst: DARK,
        dst_port,
        flags: 0x02,
        seq,
        ack: 0,
        window: 1024,
        options: MSS_1460,
        payload: &[],
    }
}

fn zmap_syn(ip_id: u16, options: &'static [u8]) -> Syn<'static> {
    Syn { ip_id, window: u16::MAX, options, ttl: 64, ..masscan_syn(0x1234_5678, 80) }
}

#[test]
fn each_tool_template_is_recognised_by_its_rule() {
    assert_eq!(masscan_syn(0xdead_beef, 443).rule(), Some(ToolRule::MasscanIpId));
    assert_eq!(Syn { options: &[], ttl: 40, ..masscan_syn(7, 22) }.rule(), Some(ToolRule::MasscanIpId));
    assert_eq!(zmap_syn(ZMAP_IP_ID, &[]).rule(), Some(ToolRule::ZmapIpId));
    assert_eq!(zmap_syn(ZMAP_IP_ID, MSS_1460).rule(), Some(ToolRule::ZmapIpId));
    for (options, name) in [(ZMAP_WINDOWS, "windows"), (ZMAP_LINUX, "linux"), (ZMAP_BSD, "bsd")] {
        assert_eq!(zmap_syn(0x0bad, options).rule(), Some(ToolRule::ZmapOptions), "ZMap 4.1 {name} options");
        assert_eq!(zmap_syn(0x0bad, options).tool(), Some(Tool::Zmap));
    }
    let dst = u32::from_be_bytes(DARK);
    let mirai = Syn { seq: dst, ip_id: 9, window: 14600, options: &[], dont_fragment: true, ..masscan_syn(0, 23) };
    assert_eq!(mirai.rule(), Some(ToolRule::MiraiSequence));
    for rule in ToolRule::ALL {
        assert!(Tool::ALL.contains(&rule.tool()), "{} names a listed tool", rule.name());
    }
}

#[test]
fn a_signature_field_without_the_template_is_no_label() {
    let masscan = masscan_syn(0xdead_beef, 443);
    for (what, syn) in [
        ("nmap -sS window 2048", Syn { window: 2048, ..masscan }),
        ("DF set", Syn { dont_fragment: true, ..masscan }),
        ("ack not 0", Syn { ack: 1, ..masscan }),
        ("payload", Syn { payload: b"GET", ..masscan }),
        ("Linux options", Syn { options: ZMAP_LINUX, ..masscan }),
        ("SYN with ECE and CWR", Syn { flags: 0xc2, ..masscan }),
    ] {
        assert_eq!(syn.tool(), None, "Masscan's IP id on a SYN with {what}");
    }
    let zmap = zmap_syn(ZMAP_IP_ID, &[]);
    for (what, syn) in [
        ("window 1024", Syn { window: 1024, ..zmap }),
        ("DF set", Syn { dont_fragment: true, ..zmap }),
        ("MSS 1400", Syn { options: &[2, 4, 0x05, 0x78], ..zmap }),
        (
            "Windows options (without the IP id rule's layout)",
            Syn { options: ZMAP_WINDOWS, dont_fragment: true, ..zmap },
        ),
    ] {
        assert_eq!(syn.tool(), None, "IP id 54321 on a SYN with {what}");
    }
    // A real Windows 10 SYN: the option set of ZMap's default, but DF and window 64240.
    let windows = Syn { window: 64240, dont_fragment: true, ttl: 128, ..zmap_syn(0x4411, ZMAP_WINDOWS) };
    assert_eq!(windows.tool(), None);
    // ZMap 4.1 `smallest-probes` (MSS alone, random IP id) is not recognised: documented.
    assert_eq!(zmap_syn(0x4411, MSS_1460).tool(), None);
}

/// A million SYNs with random addresses, ports, sequence numbers, windows,
/// option sets, TTLs and DF, each given the Masscan IP id or 54321 on
/// purpose, and each lacking at least one template field (the window is
/// neither 1024 nor 65535, DF is set, or ack is non-zero): not one may be
/// labelled Masscan or ZMap, where the IP-id-only rules labelled them all.
#[test]
fn a_million_random_syns_with_a_matching_ip_id_but_no_template_get_no_label() {
    const OPTION_SETS: [&[u8]; 6] = [&[], MSS_1460, ZMAP_WINDOWS, ZMAP_LINUX, ZMAP_BSD, &[2, 4, 0x05, 0x78]];
    // A fixed seed, so a failure is reproducible.
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    for i in 0..1_000_000u32 {
        let r = rng.next_u64();
        let dst = (r as u32).to_be_bytes();
        let dst_port = (r >> 32) as u16;
        let seq = rng.next_u64() as u32;
        let r2 = rng.next_u64();
        let (window, dont_fragment, ack) = match i % 3 {
            // An odd window is neither 1024 nor (once 65535 is moved) 65535.
            0 => (Some((r2 as u16) | 1).filter(|w| *w != u16::MAX).unwrap_or(3), r2 & 1 << 20 != 0, 0),
            1 => (if r2 & 1 << 21 != 0 { 1024 } else { u16::MAX }, true, 0),
            _ => (if r2 & 1 << 21 != 0 { 1024 } else { u16::MAX }, r2 & 1 << 22 != 0, (r2 >> 32) as u32 | 1),
        };
        let masscan_id = (u32::from_be_bytes(dst) ^ u32::from(dst_port) ^ seq) as u16;
        let syn = Syn {
            ip_id: if r2 & 1 << 23 != 0 { masscan_id } else { ZMAP_IP_ID },
            ttl: (r2 >> 24) as u8,
            dont_fragment,
            dst,
            dst_port,
            flags: 0x02,
            seq,
            ack,
            window,
            options: OPTION_SETS[(r2 >> 40) as usize % OPTION_SETS.len()],
            payload: &[],
        };
        let frame = syn.frame();
        let Ok(packet) = decode(LinkType::Raw, &frame) else { panic!("frame {i} does not decode: {syn:?}") };
        if let Some(rule) = tool_rule(&ToolEvidence::of(&packet)).filter(|r| *r != ToolRule::MiraiSequence) {
            panic!("SYN {i} {syn:?} matched {} without its template", rule.name());
        }
    }
}
