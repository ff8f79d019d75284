//! Tool fingerprints on the real tools: each tool's packets carry its own
//! label and no other, per packet and per source.
//!
//! Each test runs one tool from the scanner namespace toward TEST-NET
//! addresses inside its own network namespaces (see `nightjar_test_kit::netns`),
//! captures what reaches the darknet with tcpdump (every frame also held
//! against tshark), and checks:
//! - masscan (default, and with `--source-port` and `--ttl`) and zmap as
//!   packaged: at least 99 % of the tool's packets carry its label, no packet
//!   carries another tool's, and the source is the tool by the per-source
//!   agreement rule (`nightjar_packet::SourceToolTally`, the rule of the
//!   `sources` view);
//! - nmap `-sS`, `-sT` and `-sU` and hping3 (SYN, UDP, ICMP, each also with
//!   ZMap's IP id 54321 forced by `-N`): no packet
//!   carries any tool label and the source is no tool. nmap `-sS` builds its
//!   SYNs exactly like Masscan (window 1024, MSS 1460, no DF), so Masscan's
//!   IP-id rule matches one of them in 65,536 by chance (0.3 % of runs of the
//!   200 SYNs here): one such packet is reported and tolerated, never a
//!   Masscan source.
//!
//! They need root, `ip netns`, tcpdump, tshark and the tools
//! (`.ci/install-system-tools`); without them each test is reported ignored
//! with what is missing, unless `NIGHTJAR_SYSTEM_TESTS=require` (CI), where it fails.

use std::time::Duration;

use nightjar_packet::{SourceToolTally, Tool, TrafficClass, ipproto};
use nightjar_test_kit::netns::{Darknet, Options, SCANNER_V4};
use nightjar_test_kit::prereq::{Need, Skipped, Tools, prepare};
use nightjar_test_kit::process::{run, run_ok};
use nightjar_test_kit::scenario::{Checked, Seen, capture, from};

/// Bound for one tool run; each sends at most a few hundred packets.
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// The scanner's packets of a capture (ARP and the darknet's own traffic left out).
fn scanner_packets(checked: &Checked) -> Vec<Seen<'_>> {
    checked.select(|p| from(p, SCANNER_V4))
}

/// At least 99 % of `seen` carry `tool`, none carries another tool, and the source agrees.
fn assert_labelled(seen: &[Seen<'_>], what: &str, tool: Tool, min_packets: usize) {
    assert!(seen.len() >= min_packets, "{what}: expected at least {min_packets} packets, captured {}", seen.len());
    let mut tally = SourceToolTally::default();
    let mut labelled = 0;
    for s in seen {
        tally.add(&s.class);
        match s.class.tool {
            Some(t) if t == tool => labelled += 1,
            Some(other) => panic!("frame {} ({what}) labelled {} instead of {}", s.frame, other.name(), tool.name()),
            None => eprintln!("note: frame {} ({what}) carries no label: {:?}", s.frame, s.packet),
        }
    }
    assert!(
        100 * labelled >= 99 * seen.len(),
        "{what}: only {labelled} of {} packets labelled {}",
        seen.len(),
        tool.name()
    );
    assert_eq!(tally.tool(), Some(tool), "{what}: the source is {} by the per-source rule", tool.name());
}

/// No packet of `seen` carries a tool label, and the source is no tool.
fn assert_unlabelled(seen: &[Seen<'_>], what: &str, min_packets: usize) {
    assert_unlabelled_but_chance(seen, what, min_packets, None);
}

/// Like [`assert_unlabelled`], except that one packet may carry `chance`'s label when it is a
/// chance match of that tool's 16-bit IP id on a SYN built exactly like the tool's: nmap `-sS`
/// sends Masscan's template (window 1024, MSS 1460, no DF), so one of its SYNs in 65,536 meets
/// Masscan's rule. The source must still be no tool.
fn assert_unlabelled_but_chance(seen: &[Seen<'_>], what: &str, min_packets: usize, chance: Option<Tool>) {
    assert!(seen.len() >= min_packets, "{what}: expected at least {min_packets} packets, captured {}", seen.len());
    let mut tally = SourceToolTally::default();
    let mut chance_matches = 0;
    for s in seen {
        tally.add(&s.class);
        if s.class.tool.is_some() && s.class.tool == chance && chance_matches == 0 {
            chance_matches += 1;
            eprintln!("note: frame {} ({what}) matches {:?}'s IP id by chance (1 in 65,536)", s.frame, chance);
            continue;
        }
        assert_eq!(s.class.tool, None, "frame {} ({what}) labelled: {:?}", s.frame, s.packet);
    }
    assert_eq!(tally.tool(), None, "{what}: the source is no tool");
}

// ---------------------------------------------------------------- masscan

/// masscan over 16 addresses × 8 ports with `extra` arguments: 128 SYNs.
fn masscan(name: &str, extra: &[&str]) -> Result<(), Skipped> {
    let tools = prepare(name, &[Need::Tool("masscan"), Need::Scapy])?;
    let net = Darknet::build(&tools, Options::default());
    let checked = capture(&net, &tools, name, (&net.darknet, "d0"), None, || {
        let mut args = vec!["192.0.2.32/28", "-p21,22,23,80,443,445,3389,8080", "--rate", "2000"];
        args.extend_from_slice(extra);
        net.masscan(&tools, &args);
    });
    let syns: Vec<Seen<'_>> =
        scanner_packets(&checked).into_iter().filter(|s| s.packet.protocol == ipproto::TCP).collect();
    assert_labelled(&syns, &format!("masscan {extra:?}"), Tool::Masscan, 128);
    if let Some(ttl) = extra.iter().position(|a| *a == "--ttl").and_then(|i| extra.get(i + 1)) {
        assert!(syns.iter().all(|s| s.packet.ttl.to_string() == *ttl), "masscan sent TTL {ttl}");
    }
    Ok(())
}

fn masscan_default_is_masscan_on_every_packet_and_source() -> Result<(), Skipped> {
    masscan("masscan-default", &[])
}

fn masscan_with_source_port_and_ttl_is_still_masscan() -> Result<(), Skipped> {
    masscan("masscan-port-ttl", &["--source-port", "40123", "--ttl", "64"])
}

// ---------------------------------------------------------------- zmap

fn zmap_as_packaged_is_zmap_on_every_packet_and_source() -> Result<(), Skipped> {
    let tools = prepare("zmap-fingerprint", &[Need::Tool("zmap")])?;
    let net = Darknet::build(&tools, Options::default());
    let gateway_mac = net.gateway_mac();
    let scratch = tempfile::tempdir().expect("a temporary folder");
    // zmap's default blocklist excludes the documentation ranges; use an empty one.
    let blocklist = scratch.path().join("blocklist.conf");
    std::fs::write(&blocklist, "").expect("write an empty blocklist");
    let checked = capture(&net, &tools, "zmap-fingerprint", (&net.darknet, "d0"), None, || {
        let mut zmap = net.in_scanner(tools.path("zmap"));
        zmap.args(["-i", "s0", "-G", &gateway_mac, "-S", SCANNER_V4, "-p", "443", "-r", "2000", "-c", "1"]);
        zmap.arg("-b").arg(&blocklist).args(["-o", "/dev/null", "192.0.2.64/26"]);
        run_ok(&mut zmap, TOOL_TIMEOUT);
    });
    let syns = scanner_packets(&checked);
    assert_labelled(&syns, "zmap", Tool::Zmap, 64);
    Ok(())
}

// ---------------------------------------------------------------- nmap and hping3

/// Run nmap in the scanner namespace: no DNS, no host discovery, no retries.
fn nmap(net: &Darknet, tools: &Tools, args: &[&str]) {
    let mut cmd = net.in_scanner(tools.path("nmap"));
    cmd.args(["-n", "-Pn", "--max-retries", "0", "--host-timeout", "20s", "-T5"]).args(args);
    run_ok(&mut cmd, TOOL_TIMEOUT);
}

fn nmap_syn_connect_and_udp_scans_carry_no_tool_label() -> Result<(), Skipped> {
    let tools = prepare("nmap-fingerprint", &[Need::Tool("nmap")])?;
    let net = Darknet::build(&tools, Options::default());
    for (name, scan, ports, min) in [
        ("nmap-sS", "-sS", "1-100", 200),
        ("nmap-sT", "-sT", "1-40", 80),
        ("nmap-sU", "-sU", "53,67,69,123,137,161,500,1900,5353,11211", 20),
    ] {
        let checked = capture(&net, &tools, name, (&net.darknet, "d0"), None, || {
            nmap(&net, &tools, &[scan, "-p", ports, "192.0.2.10-11"]);
        });
        let probes: Vec<Seen<'_>> =
            scanner_packets(&checked).into_iter().filter(|s| s.class.class == TrafficClass::Scan).collect();
        let chance = (scan == "-sS").then_some(Tool::Masscan);
        assert_unlabelled_but_chance(&probes, &format!("nmap {scan}"), min, chance);
    }
    Ok(())
}

fn hping3_syn_udp_and_icmp_carry_no_tool_label() -> Result<(), Skipped> {
    let tools = prepare("hping3-fingerprint", &[Need::Tool("hping3")])?;
    let net = Darknet::build(&tools, Options::default());
    // `-N 54321` gives every packet ZMap's IP id, which alone labelled them all `zmap` before
    // the rules also asked for ZMap's template.
    for (name, mode) in [
        ("hping3-syn", &["-S"][..]),
        ("hping3-udp", &["--udp"]),
        ("hping3-icmp", &["-1"]),
        ("hping3-syn-54321", &["-S", "-N", "54321"]),
        ("hping3-udp-54321", &["--udp", "-N", "54321"]),
        ("hping3-icmp-54321", &["-1", "-N", "54321"]),
    ] {
        let checked = capture(&net, &tools, name, (&net.darknet, "d0"), None, || {
            let mut cmd = net.in_scanner(tools.path("hping3"));
            cmd.args(["-I", "s0", "-c", "40", "-i", "u5000"]).args(mode).args(["-p", "80", "192.0.2.20"]);
            // hping3 exits 1 when nothing answered, which is the darknet's point.
            let out = run(&mut cmd, TOOL_TIMEOUT);
            let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
            assert!(said.contains("40 packets transmitted"), "hping3 {mode:?} did not send 40: {said}");
        });
        let sent = scanner_packets(&checked);
        if mode.contains(&"-N") {
            assert!(sent.iter().all(|s| s.packet.ip_id == Some(nightjar_packet::ZMAP_IP_ID)), "hping3 -N 54321");
        }
        assert_unlabelled(&sent, &format!("hping3 {mode:?}"), 40);
    }
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(masscan_default_is_masscan_on_every_packet_and_source),
        trial!(masscan_with_source_port_and_ttl_is_still_masscan),
        trial!(zmap_as_packaged_is_zmap_on_every_packet_and_source),
        trial!(nmap_syn_connect_and_udp_scans_carry_no_tool_label),
        trial!(hping3_syn_udp_and_icmp_carry_no_tool_label),
    ]
}
