//! Captures made by real tools, decoded by Nightjar and by tshark.
//!
//! Each test builds its own network namespaces (see `nightjar_test_kit::netns`),
//! runs real scanners — nmap, masscan, zmap, hping3 — or scapy-crafted
//! packets from a scanner namespace toward the dark prefixes, and captures
//! with tcpdump what reaches the darknet. Backscatter comes from a real
//! kernel in a victim namespace answering SYNs and datagrams spoofed from the
//! dark prefix. Then:
//! - every frame of every capture decodes to the same fields tshark shows;
//! - Masscan, ZMap and Mirai traffic carries its tool label, nmap and hping3
//!   traffic carries none, and the victim's answers are backscatter;
//! - IPv4 and IPv6 fragments are compared one by one (tshark reassembles
//!   nothing): a first fragment keeps its ports and is a scan, later ones
//!   carry no transport and are the `Fragment` spoof sign.
//!
//! These tests need root, `ip netns`, tcpdump, tshark and the tools
//! (`.ci/install-system-tools`). Without them each test is reported ignored
//! with what is missing, unless `NIGHTJAR_SYSTEM_TESTS=require` (CI), where it fails.
//! `NIGHTJAR_TEST_ARTIFACTS=DIR` keeps the captures.

use std::net::IpAddr;
use std::time::Duration;

use nightjar_packet::{LinkType, SpoofSign, Tool, TrafficClass, Transport, ipproto, tcp_flags, to_ip};
use nightjar_test_kit::netns::{
    Darknet, Options, SCANNER_V4, SCANNER_V6, VICTIM_V4, VICTIM_V6, VLAN_SCANNER_V4, scapy,
};
use nightjar_test_kit::prereq::{Need, Skipped, Tools, prepare};
use nightjar_test_kit::process;
use nightjar_test_kit::process::{Background, run_ok};
use nightjar_test_kit::scenario::{
    assert_class, assert_no_tool_label, assert_not_spoofed, capture, from, ip, tcp_flags_are, to_v4_block,
};

/// Bound for one tool run; each is sized to finish in a second or two.
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// Run nmap in the scanner namespace: no DNS, no host discovery, no retries.
fn nmap(net: &Darknet, tools: &Tools, args: &[&str]) {
    let mut cmd = net.in_scanner(tools.path("nmap"));
    cmd.args(["-n", "-Pn", "--max-retries", "0", "--host-timeout", "20s"]).args(args);
    run_ok(&mut cmd, TOOL_TIMEOUT);
}

/// Run hping3 out of `iface` for `count` packets, 50 ms apart.
fn hping3(net: &Darknet, tools: &Tools, iface: &str, count: u32, args: &[&str]) {
    let mut cmd = net.in_scanner(tools.path("hping3"));
    cmd.args(["-I", iface, "-c", &count.to_string(), "-i", "u50000"]).args(args);
    // hping3 exits 1 when nothing answered, which is the darknet's point.
    let out = process::run(&mut cmd, TOOL_TIMEOUT);
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(&format!("{count} packets transmitted")), "hping3 {args:?} did not send {count}: {said}");
}

// ---------------------------------------------------------------- scanners

fn nmap_syn_scan_matches_tshark_and_is_an_unlabelled_scan() -> Result<(), Skipped> {
    let tools = prepare("nmap_syn_scan", &[Need::Tool("nmap")])?;
    let net = Darknet::build(&tools, Options::default());
    let checked = capture(&net, &tools, "nmap-syn", (&net.darknet, "d0"), None, || {
        nmap(&net, &tools, &["-sS", "-p", "22,23,80,443,3389,8080", "192.0.2.10-11"]);
    });
    let syns = checked.select_at_least(12, "nmap SYNs", |p| from(p, SCANNER_V4) && tcp_flags_are(p, tcp_flags::SYN));
    assert!(syns.iter().all(|s| s.packet.tcp().is_some_and(|t| t.options.mss.is_some())), "nmap SYNs carry an MSS");
    for s in &syns {
        assert_eq!(s.class.class, TrafficClass::Scan, "frame {}: an nmap SYN is a scan", s.frame);
    }
    assert_not_spoofed(&syns, "nmap -sS SYN");
    assert_no_tool_label(&syns, "nmap -sS SYN");
    Ok(())
}

fn nmap_udp_scan_matches_tshark_and_is_an_unlabelled_scan() -> Result<(), Skipped> {
    let tools = prepare("nmap_udp_scan", &[Need::Tool("nmap")])?;
    let net = Darknet::build(&tools, Options::default());
    let checked = capture(&net, &tools, "nmap-udp", (&net.darknet, "d0"), None, || {
        nmap(&net, &tools, &["-sU", "-p", "53,123,161,1900", "192.0.2.12"]);
    });
    let probes = checked.select_at_least(4, "nmap UDP probes", |p| from(p, SCANNER_V4) && p.protocol == ipproto::UDP);
    let mut ports: Vec<u16> = probes.iter().filter_map(|s| s.packet.dst_port()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports, [53, 123, 161, 1900], "every probed port was seen");
    assert_class(&probes, "nmap -sU probe", TrafficClass::Scan, None);
    assert_not_spoofed(&probes, "nmap -sU probe");
    Ok(())
}

fn masscan_matches_tshark_and_is_labelled_masscan() -> Result<(), Skipped> {
    let tools = prepare("masscan", &[Need::Tool("masscan"), Need::Scapy])?;
    let net = Darknet::build(&tools, Options::default());
    let checked = capture(&net, &tools, "masscan", (&net.darknet, "d0"), None, || {
        net.masscan(&tools, &["192.0.2.32/28", "-p80,443,8080", "--rate", "1000"]);
    });
    let syns = checked.select(|p| from(p, SCANNER_V4) && p.protocol == ipproto::TCP);
    let mut probed: Vec<(IpAddr, u16)> =
        syns.iter().map(|s| (to_ip(&s.packet.dst), s.packet.dst_port().unwrap_or(0))).collect();
    probed.sort_unstable();
    let expected: Vec<(IpAddr, u16)> = (32u8..48)
        .flat_map(|host| [80u16, 443, 8080].map(|port| (IpAddr::from([192, 0, 2, host]), port)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(probed, expected, "masscan probes each of 16 addresses × 3 ports exactly once");
    assert!(syns.iter().all(|s| tcp_flags_are(&s.packet, tcp_flags::SYN)), "masscan sends bare SYNs");
    assert_class(&syns, "masscan SYN", TrafficClass::Scan, Some(Tool::Masscan));
    assert_not_spoofed(&syns, "masscan SYN (TTL 255 is masscan's own)");
    Ok(())
}

/// ZMap's release as `(major, minor)`, from `zmap --version` ("zmap 2.1.1").
fn zmap_version(tools: &Tools) -> (u32, u32) {
    let out = run_ok(std::process::Command::new(tools.path("zmap")).arg("--version"), TOOL_TIMEOUT);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let version = text.split_whitespace().find(|w| w.starts_with(|c: char| c.is_ascii_digit()));
    let mut parts = version.unwrap_or_else(|| panic!("no version in `zmap --version`: {text}")).split('.');
    let mut next = || parts.next().and_then(|p| p.trim_start_matches('v').parse().ok()).unwrap_or(0);
    (next(), next())
}

/// ZMap-like SYNs: IP id 54321, TTL 255, no options, to port 80.
const ZMAP_LIKE: &str = r#"
import sys
from scapy.all import IP, TCP, conf, send
conf.verb = 1
src = sys.argv[1]
send([IP(src=src, dst=dst, id=54321, ttl=255) / TCP(sport=50000 + i, dport=80, flags="S", seq=0x1000 + i, window=65535)
      for i, dst in enumerate(sys.argv[2:])])
"#;

fn zmap_matches_tshark_and_its_ip_id_is_labelled_zmap() -> Result<(), Skipped> {
    let tools = prepare("zmap", &[Need::Tool("zmap"), Need::Scapy])?;
    let version = zmap_version(&tools);
    let net = Darknet::build(&tools, Options::default());
    let gateway_mac = net.gateway_mac();
    let scratch = tempfile::tempdir().expect("a temporary folder");
    // zmap's default blocklist excludes the documentation ranges; use an empty one.
    let blocklist = scratch.path().join("blocklist.conf");
    std::fs::write(&blocklist, "").expect("write an empty blocklist");
    let zmap_like_dsts: Vec<String> = (96..104).map(|h| format!("192.0.2.{h}")).collect();
    let checked = capture(&net, &tools, "zmap", (&net.darknet, "d0"), None, || {
        let mut zmap = net.in_scanner(tools.path("zmap"));
        zmap.args(["-i", "s0", "-G", &gateway_mac, "-S", SCANNER_V4, "-p", "80", "-n", "16", "-r", "1000", "-c", "1"]);
        zmap.arg("-b").arg(&blocklist).args(["-o", "/dev/null", "192.0.2.64/28"]);
        run_ok(&mut zmap, TOOL_TIMEOUT);
        let mut args = vec![SCANNER_V4];
        args.extend(zmap_like_dsts.iter().map(String::as_str));
        scapy(&net, &net.scanner, &tools, ZMAP_LIKE, &args, zmap_like_dsts.len());
    });

    let real = checked.select_at_least(16, "zmap SYNs", |p| from(p, SCANNER_V4) && to_v4_block(p, "192.0.2.64/28"));
    if version <= (4, 0) {
        assert_class(&real, "zmap SYN", TrafficClass::Scan, Some(Tool::Zmap));
    } else {
        // ZMap after 4.0 randomises the IP id: the fingerprint cannot apply.
        eprintln!(
            "note: zmap {}.{} randomises the IP id; the ZMap fingerprint does not apply to it",
            version.0, version.1
        );
        for s in &real {
            assert_eq!(s.class.class, TrafficClass::Scan, "frame {}: a zmap SYN is a scan", s.frame);
            assert_ne!(s.class.tool, Some(Tool::Mirai), "frame {}: zmap labelled Mirai", s.frame);
        }
    }
    let crafted =
        checked.select_at_least(8, "ZMap-like scapy SYNs", |p| from(p, SCANNER_V4) && to_v4_block(p, "192.0.2.96/29"));
    assert!(crafted.iter().all(|s| s.packet.ip_id == Some(nightjar_packet::ZMAP_IP_ID)));
    assert_class(&crafted, "scapy SYN with IP id 54321", TrafficClass::Scan, Some(Tool::Zmap));
    Ok(())
}

fn hping3_syn_and_icmp_match_tshark_and_are_unlabelled_scans() -> Result<(), Skipped> {
    let tools = prepare("hping3", &[Need::Tool("hping3")])?;
    let net = Darknet::build(&tools, Options::default());
    let syn = capture(&net, &tools, "hping3-syn", (&net.darknet, "d0"), None, || {
        hping3(&net, &tools, "s0", 4, &["-S", "-p", "80", "192.0.2.20"]);
    });
    let syns = syn.select_at_least(4, "hping3 SYNs", |p| from(p, SCANNER_V4) && tcp_flags_are(p, tcp_flags::SYN));
    for s in &syns {
        assert_eq!(s.class.class, TrafficClass::Scan, "frame {}: an hping3 SYN is a scan", s.frame);
    }
    assert_no_tool_label(&syns, "hping3 -S");

    let icmp = capture(&net, &tools, "hping3-icmp", (&net.darknet, "d0"), None, || {
        hping3(&net, &tools, "s0", 4, &["-1", "192.0.2.21"]);
    });
    let echoes = icmp.select_at_least(4, "hping3 echo requests", |p| {
        from(p, SCANNER_V4) && p.icmp().is_some_and(|i| i.icmp_type == 8 && i.code == 0)
    });
    for s in &echoes {
        assert_eq!(s.class.class, TrafficClass::Scan, "frame {}: an echo request is a scan", s.frame);
    }
    assert_not_spoofed(&echoes, "hping3 -1");
    assert_no_tool_label(&echoes, "hping3 -1");
    Ok(())
}

/// Mirai-style SYNs: sequence number = destination address, telnet ports.
const MIRAI: &str = r#"
import sys
from ipaddress import IPv4Address
from random import randint
from scapy.all import IP, TCP, conf, send
conf.verb = 1
src = sys.argv[1]
send([IP(src=src, dst=dst, id=randint(0, 65535)) /
      TCP(sport=randint(1024, 65535), dport=23 if i % 2 == 0 else 2323, flags="S",
          seq=int(IPv4Address(dst)), window=randint(1024, 65535))
      for i, dst in enumerate(sys.argv[2:])])
"#;

fn mirai_syns_match_tshark_and_are_labelled_mirai() -> Result<(), Skipped> {
    let tools = prepare("mirai", &[Need::Scapy])?;
    let net = Darknet::build(&tools, Options::default());
    let dsts: Vec<String> = (40..48).map(|h| format!("192.0.2.{h}")).collect();
    let checked = capture(&net, &tools, "mirai", (&net.darknet, "d0"), None, || {
        let mut args = vec![SCANNER_V4];
        args.extend(dsts.iter().map(String::as_str));
        scapy(&net, &net.scanner, &tools, MIRAI, &args, dsts.len());
    });
    let syns = checked.select_at_least(8, "Mirai SYNs", |p| from(p, SCANNER_V4) && tcp_flags_are(p, tcp_flags::SYN));
    for s in &syns {
        let IpAddr::V4(dst) = to_ip(&s.packet.dst) else { panic!("frame {}: IPv4 expected", s.frame) };
        assert_eq!(s.packet.tcp().map(|t| t.seq), Some(u32::from(dst)), "frame {}: seq == dst", s.frame);
        assert!(matches!(s.packet.dst_port(), Some(23 | 2323)));
    }
    assert_class(&syns, "Mirai SYN", TrafficClass::Scan, Some(Tool::Mirai));
    Ok(())
}

// ------------------------------------------------------------- backscatter

/// The victim's open port: a listener that says when it listens.
const LISTENER: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(16)
print("listening", flush=True)
time.sleep(120)
"#;

const OPEN_PORT: u16 = 8080;
const CLOSED_PORT: u16 = 8081;
const CLOSED_UDP_PORT: u16 = 9999;

/// SYNs to the open and closed ports and a datagram to a closed UDP port,
/// each from its own dark source, over IPv4 and IPv6.
const SPOOFED: &str = r#"
import sys, time
from scapy.all import IP, IPv6, TCP, UDP, conf, send
conf.verb = 1
victim4, victim6, open_port, closed_port, udp_port = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
# Resolve the victim's link address for both families first (from the scanner's own address, so
# nothing of it reaches the darknet): scapy's first neighbour solicitation can go unanswered, and
# the packet it was for is then lost.
for _ in range(3):
    send([IP(dst=victim4) / UDP(dport=9), IPv6(dst=victim6) / UDP(dport=9)], verbose=0)
    time.sleep(0.2)
packets = []
for net, victim in ((IP, victim4), (IPv6, victim6)):
    dark = "192.0.2." if net is IP else "2001:db8:2::"
    packets += [
        net(src=dark + "50", dst=victim) / TCP(sport=40000, dport=open_port, flags="S", seq=1000),
        net(src=dark + "51", dst=victim) / TCP(sport=40001, dport=closed_port, flags="S", seq=2000),
        net(src=dark + "52", dst=victim) / UDP(sport=40002, dport=udp_port) / b"spoofed probe",
    ]
send(packets, inter=0.01)
"#;

fn real_kernel_backscatter_matches_tshark_and_is_backscatter() -> Result<(), Skipped> {
    let tools = prepare("backscatter", &[Need::Scapy])?;
    let net = Darknet::build(&tools, Options { victim: true, ..Options::default() });
    let mut listen = net.in_victim(tools.python());
    listen.args(["-c", LISTENER, &OPEN_PORT.to_string()]);
    let mut listener = Background::spawn(&mut listen, "victim listener");
    listener.wait_for("listening", Duration::from_secs(10));
    let ports = [OPEN_PORT, CLOSED_PORT, CLOSED_UDP_PORT].map(|p| p.to_string());
    let checked = capture(&net, &tools, "backscatter", (&net.darknet, "d0"), None, || {
        let args = [VICTIM_V4, VICTIM_V6, &ports[0], &ports[1], &ports[2]];
        scapy(&net, &net.scanner, &tools, SPOOFED, &args, 6);
    });

    for (victim, dark, v) in [(VICTIM_V4, "192.0.2.", "IPv4"), (VICTIM_V6, "2001:db8:2::", "IPv6")] {
        let to = |host: &str| ip(&format!("{dark}{host}"));
        let syn_ack = checked.select_at_least(1, &format!("{v} SYN-ACKs from the open port"), |p| {
            from(p, victim) && to_ip(&p.dst) == to("50") && tcp_flags_are(p, tcp_flags::SYN | tcp_flags::ACK)
        });
        for s in &syn_ack {
            assert_eq!(s.packet.src_port(), Some(OPEN_PORT));
            assert_eq!(s.packet.dst_port(), Some(40000));
            assert_eq!(s.packet.tcp().map(|t| t.ack), Some(1001), "frame {}: acks the spoofed SYN", s.frame);
        }
        let rst = checked.select_at_least(1, &format!("{v} RST-ACKs from the closed port"), |p| {
            from(p, victim) && to_ip(&p.dst) == to("51") && tcp_flags_are(p, tcp_flags::RST | tcp_flags::ACK)
        });
        for s in &rst {
            assert_eq!(s.packet.src_port(), Some(CLOSED_PORT));
            assert_eq!(s.packet.tcp().map(|t| t.ack), Some(2001), "frame {}: acks the spoofed SYN", s.frame);
        }
        let (icmp_type, code) = if v == "IPv4" { (3, 3) } else { (1, 4) };
        let unreachable = checked.select_at_least(1, &format!("{v} port unreachables"), |p| {
            from(p, victim)
                && to_ip(&p.dst) == to("52")
                && p.icmp().is_some_and(|i| (i.icmp_type, i.code) == (icmp_type, code))
        });
        for s in &unreachable {
            let quoted =
                s.packet.icmp().and_then(|i| i.quoted).unwrap_or_else(|| panic!("frame {}: no quoted packet", s.frame));
            assert_eq!(quoted.protocol, ipproto::UDP, "frame {}: quotes the UDP probe", s.frame);
            assert_eq!((to_ip(&quoted.src), to_ip(&quoted.dst)), (to("52"), ip(victim)), "frame {}", s.frame);
            assert_eq!((quoted.src_port, quoted.dst_port), (Some(40002), Some(CLOSED_UDP_PORT)), "frame {}", s.frame);
        }
        for (seen, what) in [(&syn_ack, "SYN-ACK"), (&rst, "RST-ACK"), (&unreachable, "port unreachable")] {
            let what = format!("{v} {what} from a real kernel");
            assert_class(seen, &what, TrafficClass::Backscatter, None);
            assert_not_spoofed(seen, &what);
        }
    }
    drop(listener);
    Ok(())
}

// ------------------------------------------------- IPv6, VLAN, cooked links

fn ipv6_nmap_scans_match_tshark() -> Result<(), Skipped> {
    let tools = prepare("ipv6_nmap", &[Need::Tool("nmap")])?;
    let net = Darknet::build(&tools, Options::default());
    let checked = capture(&net, &tools, "ipv6-nmap", (&net.darknet, "d0"), None, || {
        for (scan, ports, target) in [("-sS", "22,80,443", "2001:db8:2::10"), ("-sU", "53,123", "2001:db8:2::11")] {
            nmap(&net, &tools, &["-6", scan, "-p", ports, target]);
        }
    });
    let syns =
        checked.select_at_least(3, "IPv6 nmap SYNs", |p| from(p, SCANNER_V6) && tcp_flags_are(p, tcp_flags::SYN));
    assert!(syns.iter().all(|s| s.packet.ip_version == 6));
    assert_class(&syns, "IPv6 nmap SYN", TrafficClass::Scan, None);
    let probes =
        checked.select_at_least(2, "IPv6 nmap UDP probes", |p| from(p, SCANNER_V6) && p.protocol == ipproto::UDP);
    assert_class(&probes, "IPv6 nmap UDP probe", TrafficClass::Scan, None);
    // Neighbour discovery (and MLD behind a hop-by-hop header) came along
    // and was compared too; make sure the capture did hold some.
    let icmpv6 = checked.select(|p| p.ip_version == 6 && p.protocol == ipproto::ICMPV6);
    assert!(!icmpv6.is_empty(), "the IPv6 capture holds neighbour discovery");
    Ok(())
}

/// Tagged frames over the VLAN: 802.1Q-tagged TCP SYN, ICMP echo and IPv6
/// SYN, and a QinQ (802.1ad outer, 802.1Q inner) UDP probe.
const TAGGED: &str = r#"
import sys
from scapy.all import Ether, Dot1AD, Dot1Q, IP, IPv6, TCP, UDP, ICMP, conf, sendp
conf.verb = 1
gateway_mac, src, vid = sys.argv[1], sys.argv[2], int(sys.argv[3])
eth = Ether(dst=gateway_mac)
sendp([
    eth / Dot1Q(vlan=vid) / IP(src=src, dst="192.0.2.210") / TCP(sport=41000, dport=22, flags="S"),
    eth / Dot1Q(vlan=vid) / IP(src=src, dst="192.0.2.211") / ICMP(),
    eth / Dot1Q(vlan=vid) / IPv6(src="2001:db8:1::129", dst="2001:db8:2::212") / TCP(sport=41001, dport=443, flags="S"),
    eth / Dot1AD(vlan=200) / Dot1Q(vlan=vid) / IP(src=src, dst="192.0.2.213") / UDP(sport=41002, dport=53),
], iface="s0")
"#;

fn vlan_tagged_capture_matches_tshark() -> Result<(), Skipped> {
    const VID: u16 = 100;
    let needs = [Need::Tool("nmap"), Need::Tool("hping3"), Need::Scapy];
    let tools = prepare("vlan", &needs)?;
    let net = Darknet::build(&tools, Options { vlan: Some(VID), ..Options::default() });
    let gateway_mac = net.gateway_mac();
    // Captured on the parent interface, so frames keep their tags.
    let checked = capture(&net, &tools, "vlan", (&net.darknet, "d0"), None, || {
        if net.vlan_interfaces {
            nmap(&net, &tools, &["-sS", "-p", "22,80,443", "192.0.2.200"]);
            hping3(&net, &tools, &format!("s0.{VID}"), 2, &["-1", "192.0.2.201"]);
        }
        scapy(&net, &net.scanner, &tools, TAGGED, &[&gateway_mac, VLAN_SCANNER_V4, &VID.to_string()], 4);
    });
    let expected = if net.vlan_interfaces { 9 } else { 4 };
    let tagged = checked
        .select_at_least(expected, "packets over the VLAN", |p| from(p, VLAN_SCANNER_V4) || from(p, "2001:db8:1::129"));
    for s in &tagged {
        let tags = checked.row(s.frame).all("vlan.id");
        assert!(tags.iter().any(|t| *t == VID.to_string()), "frame {}: VLAN tags {tags:?}, {VID} expected", s.frame);
        assert_eq!(s.class.class, TrafficClass::Scan, "frame {}", s.frame);
    }
    let qinq: Vec<u64> =
        tagged.iter().filter(|s| checked.row(s.frame).first("ieee8021ad.id") == Some("200")).map(|s| s.frame).collect();
    assert_eq!(qinq.len(), 1, "one QinQ frame with 802.1ad service tag 200, found frames {qinq:?}");
    assert!(checked.frames.iter().all(|f| f.link == LinkType::Ethernet));
    assert_no_tool_label(&tagged, "packets over a VLAN");
    Ok(())
}

fn any_interface_captures_in_linux_cooked_formats_match_tshark() -> Result<(), Skipped> {
    let tools = prepare("linux_cooked", &[Need::Tool("nmap"), Need::Tool("hping3")])?;
    let net = Darknet::build(&tools, Options::default());
    for (link_type, expected) in [("LINUX_SLL", LinkType::LinuxSll), ("LINUX_SLL2", LinkType::LinuxSll2)] {
        let name = format!("any-{}", link_type.to_lowercase());
        let checked = capture(&net, &tools, &name, (&net.darknet, "any"), Some(link_type), || {
            hping3(&net, &tools, "s0", 2, &["-S", "-p", "443", "192.0.2.30"]);
            nmap(&net, &tools, &["-sU", "-p", "53,161", "192.0.2.31"]);
        });
        assert!(checked.frames.iter().all(|f| f.link == expected), "{name}: every frame is {expected:?}");
        let probes = checked.select_at_least(4, "probes", |p| from(p, SCANNER_V4) && p.dst_port().is_some());
        assert!(probes.iter().any(|s| matches!(s.packet.transport, Transport::Tcp { .. })));
        assert!(probes.iter().any(|s| matches!(s.packet.transport, Transport::Udp { .. })));
        for s in &probes {
            assert_eq!(s.class.class, TrafficClass::Scan, "frame {} ({name})", s.frame);
        }
        assert_no_tool_label(&probes, &format!("hping3/nmap on {name}"));
    }
    Ok(())
}

// --------------------------------------------------------------- fragments

/// The destinations of the fragmented datagrams, one per kind.
const FRAG_UDP_V4: &str = "192.0.2.60";
const FRAG_TCP_V4: &str = "192.0.2.61";
const FRAG_UDP_V6: &str = "2001:db8:2::60";

/// Fragments as scapy's `fragment`/`fragment6` cut them, each sent as it is:
/// a 3000-byte UDP payload in 1000-byte IPv4 fragments (four), a SYN
/// carrying 2000 bytes in 1000-byte fragments (three), and the same UDP
/// payload in IPv6 fragments of at most 1280 bytes (three). IP ids are set
/// so that no tool fingerprint matches.
const FRAGMENTED: &str = r#"
import sys
from scapy.all import IP, IPv6, IPv6ExtHdrFragment, TCP, UDP, conf, fragment, fragment6, send
conf.verb = 1
src4, src6, udp4, tcp4, udp6 = sys.argv[1:6]
payload = bytes(range(256)) * 12
packets = fragment(IP(src=src4, dst=udp4, id=0x4E4A) / UDP(sport=41100, dport=5060) / payload[:3000], fragsize=1000)
packets += fragment(IP(src=src4, dst=tcp4, id=0x4E4B) /
                    TCP(sport=41101, dport=8443, flags="S", seq=0xC0FFEE, window=64240) / payload[:2000],
                    fragsize=1000)
packets += fragment6(IPv6(src=src6, dst=udp6) / IPv6ExtHdrFragment(id=0x4E4A) /
                     UDP(sport=41102, dport=5060) / payload[:3000], 1280)
send(packets, inter=0.01)
"#;

/// One fragmented datagram of [`FRAGMENTED`] and how it must have been cut.
struct Fragmented {
    what: &'static str,
    dst: &'static str,
    protocol: u8,
    /// Source and destination port, in the first fragment only.
    ports: (u16, u16),
    /// `(fragment_offset in bytes, more_fragments)` of each fragment in order.
    layout: &'static [(u32, bool)],
}

const FRAGMENTED_DATAGRAMS: [Fragmented; 3] = [
    Fragmented {
        what: "IPv4 UDP",
        dst: FRAG_UDP_V4,
        protocol: ipproto::UDP,
        ports: (41100, 5060),
        layout: &[(0, true), (1000, true), (2000, true), (3000, false)],
    },
    Fragmented {
        what: "IPv4 TCP SYN",
        dst: FRAG_TCP_V4,
        protocol: ipproto::TCP,
        ports: (41101, 8443),
        layout: &[(0, true), (1000, true), (2000, false)],
    },
    Fragmented {
        what: "IPv6 UDP",
        dst: FRAG_UDP_V6,
        protocol: ipproto::UDP,
        ports: (41102, 5060),
        // 1280 - 40 (IPv6) - 8 (fragment header), down to a multiple of 8.
        layout: &[(0, true), (1232, true), (2464, false)],
    },
];

fn ip_fragments_match_tshark_and_later_fragments_are_a_spoof_sign() -> Result<(), Skipped> {
    let tools = prepare("fragments", &[Need::Scapy])?;
    let net = Darknet::build(&tools, Options::default());
    let checked = capture(&net, &tools, "fragments", (&net.darknet, "d0"), None, || {
        let args = [SCANNER_V4, SCANNER_V6, FRAG_UDP_V4, FRAG_TCP_V4, FRAG_UDP_V6];
        scapy(&net, &net.scanner, &tools, FRAGMENTED, &args, 10);
    });

    for datagram in &FRAGMENTED_DATAGRAMS {
        let what = datagram.what;
        let fragments = checked.select(|p| to_ip(&p.dst) == ip(datagram.dst));
        let layout: Vec<(u32, bool)> =
            fragments.iter().map(|s| (s.packet.fragment_offset, s.packet.more_fragments)).collect();
        assert_eq!(layout, datagram.layout, "{what}: (offset, more fragments) of the fragments Nightjar decoded");
        let v6 = datagram.dst.contains(':');
        for s in &fragments {
            let frame = s.frame;
            assert_eq!(s.packet.protocol, datagram.protocol, "frame {frame} ({what}): protocol");
            let extension_len = if v6 { 8 } else { 0 };
            assert_eq!(s.packet.ip_options_len, extension_len, "frame {frame} ({what}): header bytes past 20/40");
            // The comparison with tshark compared values, not two absences.
            let row = checked.row(frame);
            let tshark_fragment_fields: &[&str] =
                if v6 { &["ipv6.fraghdr.offset", "ipv6.fraghdr.more"] } else { &["ip.frag_offset", "ip.flags.mf"] };
            for field in tshark_fragment_fields {
                assert!(row.first(field).is_some(), "frame {frame} ({what}): tshark shows no {field}");
            }
            assert_eq!(s.class.tool, None, "frame {frame} ({what}): tool");
        }

        let (first, later) = fragments.split_first().unwrap_or_else(|| panic!("{what}: no fragment decoded"));
        assert_eq!(
            (first.packet.src_port(), first.packet.dst_port()),
            (Some(datagram.ports.0), Some(datagram.ports.1)),
            "frame {} ({what}): the first fragment's ports",
            first.frame
        );
        if datagram.protocol == ipproto::TCP {
            assert!(tcp_flags_are(&first.packet, tcp_flags::SYN), "frame {} ({what}): a bare SYN", first.frame);
        }
        assert_eq!(first.class.class, TrafficClass::Scan, "frame {} ({what}): the first fragment", first.frame);
        assert_not_spoofed(std::slice::from_ref(first), &format!("{what} first fragment"));

        for s in later {
            let frame = s.frame;
            assert_eq!(
                s.packet.transport,
                Transport::None,
                "frame {frame} ({what}): a later fragment has no transport"
            );
            let row = checked.row(frame);
            for field in ["tcp.srcport", "udp.srcport"] {
                assert_eq!(row.first(field), None, "frame {frame} ({what}): tshark read {field} from fragment data");
            }
            assert_eq!(s.class.class, TrafficClass::Other, "frame {frame} ({what}): a later fragment");
            assert_eq!(s.class.spoof, Some(SpoofSign::Fragment), "frame {frame} ({what}): spoof sign");
        }
    }
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(nmap_syn_scan_matches_tshark_and_is_an_unlabelled_scan),
        trial!(nmap_udp_scan_matches_tshark_and_is_an_unlabelled_scan),
        trial!(masscan_matches_tshark_and_is_labelled_masscan),
        trial!(zmap_matches_tshark_and_its_ip_id_is_labelled_zmap),
        trial!(hping3_syn_and_icmp_match_tshark_and_are_unlabelled_scans),
        trial!(mirai_syns_match_tshark_and_are_labelled_mirai),
        trial!(real_kernel_backscatter_matches_tshark_and_is_backscatter),
        trial!(ipv6_nmap_scans_match_tshark),
        trial!(vlan_tagged_capture_matches_tshark),
        trial!(any_interface_captures_in_linux_cooked_formats_match_tshark),
        trial!(ip_fragments_match_tshark_and_later_fragments_are_a_spoof_sign),
    ]
}
