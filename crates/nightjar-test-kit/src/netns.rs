//! Network namespaces for the capture tests: a scanner, a darknet that only
//! listens, and optionally a victim whose real kernel answers spoofed SYNs;
//! plus tcpdump captures on the darknet side.
//!
//! ```text
//!  scanner ns                          darknet ns (captures; answers nothing)
//!  s0 198.51.100.1/25  ─── veth ───  d0 198.51.100.2/25
//!     2001:db8:1::1/64                  2001:db8:1::2/64
//!     routes 192.0.2.0/24, 2001:db8:2::/64 via d0     blackhole 192.0.2.0/24, 2001:db8:2::/64
//!  [s0.VID 198.51.100.129/25 ─ vlan ─ d0.VID 198.51.100.130/25; 192.0.2.128/25 goes this way]
//!  sv 203.0.113.1/24   ─── veth ───  vs 203.0.113.10/24   victim ns (optional)
//!     2001:db8:3::1/64                  2001:db8:3::10/64  routes the dark prefixes back via sv
//! ```
//!
//! The scanner forwards, so the victim's answers to spoofed dark sources
//! travel victim → scanner → darknet, where tcpdump sees them arrive like
//! backscatter on a telescope. Every address is from the documentation
//! ranges (RFC 5737, RFC 3849); nothing leaves the namespaces.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::prereq::Tools;
use crate::process::{Background, run, run_ok, unique_suffix};

/// The scanner's address on the link to the darknet.
pub const SCANNER_V4: &str = "198.51.100.1";
/// The darknet side of that link: the scanner's next hop to the dark prefix.
pub const DARKNET_V4: &str = "198.51.100.2";
/// The scanner's IPv6 address on the link to the darknet.
pub const SCANNER_V6: &str = "2001:db8:1::1";
/// The darknet's IPv6 address on that link.
pub const DARKNET_V6: &str = "2001:db8:1::2";
/// The dark IPv4 prefix the darknet watches.
pub const DARK_V4: &str = "192.0.2.0/24";
/// The dark IPv6 prefix the darknet watches.
pub const DARK_V6: &str = "2001:db8:2::/64";
/// The scanner's address on the VLAN, when there is one.
pub const VLAN_SCANNER_V4: &str = "198.51.100.129";
/// The darknet's address on the VLAN.
pub const VLAN_DARKNET_V4: &str = "198.51.100.130";
/// The part of the dark prefix routed over the VLAN.
pub const VLAN_DARK_V4: &str = "192.0.2.128/25";
/// The victim's address.
pub const VICTIM_V4: &str = "203.0.113.10";
/// The scanner's address on the victim link (the victim's next hop).
pub const VICTIM_GW_V4: &str = "203.0.113.1";
/// The victim's IPv6 address.
pub const VICTIM_V6: &str = "2001:db8:3::10";
/// The scanner's IPv6 address on the victim link.
pub const VICTIM_GW_V6: &str = "2001:db8:3::1";

const IP_TIMEOUT: Duration = Duration::from_secs(10);

/// Namespaces made by one test, deleted when dropped (on panic too).
pub struct Lab {
    ip: PathBuf,
    sysctl: PathBuf,
    kill: PathBuf,
    namespaces: Vec<String>,
    base: String,
}

impl Lab {
    /// A lab whose namespace names no other test run shares.
    pub fn new(tools: &Tools) -> Lab {
        Lab {
            ip: tools.path("ip").to_path_buf(),
            sysctl: tools.path("sysctl").to_path_buf(),
            kill: tools.path("kill").to_path_buf(),
            namespaces: Vec::new(),
            base: format!("nj{}", unique_suffix()),
        }
    }

    /// Create a namespace `<base>-<role>` with loopback up and reverse-path
    /// filtering off (spoofed sources must get through), and return its name.
    pub fn namespace(&mut self, role: &str) -> String {
        let name = format!("{}-{role}", self.base);
        run_ok(Command::new(&self.ip).args(["netns", "add", &name]), IP_TIMEOUT);
        self.namespaces.push(name.clone());
        self.ip(&["-n", &name, "link", "set", "lo", "up"]);
        // Set before any interface exists, so every interface inherits them.
        // Duplicate address detection keeps even the link-local address
        // unusable for a second or so after link-up, and IPv6 neighbour
        // discovery (so forwarding) waits for it: off, nothing else is here.
        self.sysctl(
            &name,
            &[
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ],
        );
        name
    }

    /// Run `ip ARGS`; it must succeed.
    pub fn ip(&self, args: &[&str]) {
        run_ok(Command::new(&self.ip).args(args), IP_TIMEOUT);
    }

    /// Set sysctls (`key=value`) inside `ns`.
    pub fn sysctl(&self, ns: &str, settings: &[&str]) {
        let mut cmd = self.exec(ns, &self.sysctl);
        cmd.arg("-qw").args(settings);
        run_ok(&mut cmd, IP_TIMEOUT);
    }

    /// A command that runs `program` inside `ns`.
    ///
    /// `ip netns exec` execs the program in place, so the child's pid is the
    /// program's own and signals reach it directly.
    pub fn exec(&self, ns: &str, program: &Path) -> Command {
        let mut cmd = Command::new(&self.ip);
        cmd.args(["netns", "exec", ns]).arg(program);
        cmd
    }

    /// The MAC address of `iface` in `ns`.
    pub fn mac(&self, ns: &str, iface: &str) -> String {
        let out = run_ok(Command::new(&self.ip).args(["-n", ns, "-br", "link", "show", "dev", iface]), IP_TIMEOUT);
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .nth(2)
            .unwrap_or_else(|| panic!("no MAC in `ip -br link show {iface}`: {text}"))
            .to_string()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            // A namespace lives on while a process holds it: end the processes
            // this test started in it (only ours can be in a namespace of ours).
            if let Ok(out) = Command::new(&self.ip).args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new(&self.kill).args(["-s", "KILL", pid]).output();
                }
            }
            match Command::new(&self.ip).args(["netns", "del", ns]).output() {
                Ok(out) if out.status.success() => {}
                Ok(out) => {
                    eprintln!("warning: could not delete namespace {ns}: {}", String::from_utf8_lossy(&out.stderr))
                }
                Err(e) => eprintln!("warning: could not delete namespace {ns}: {e}"),
            }
        }
    }
}

/// What to build beside the scanner and the darknet.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// A victim namespace behind the scanner, whose answers route to the darknet.
    pub victim: bool,
    /// An 802.1Q VLAN with this id on the scanner–darknet link, carrying
    /// `VLAN_DARK_V4`, when the kernel can make VLAN interfaces.
    pub vlan: Option<u16>,
}

/// The test network: see the module documentation.
pub struct Darknet {
    /// The namespaces (dropped last, after any capture or process of the test).
    pub lab: Lab,
    /// The scanner namespace; its link to the darknet is `s0`.
    pub scanner: String,
    /// The darknet namespace; its link to the scanner is `d0`.
    pub darknet: String,
    /// The victim namespace, when asked for.
    pub victim: Option<String>,
    /// Whether the VLAN asked for exists as kernel interfaces (`s0.VID`, `d0.VID`).
    pub vlan_interfaces: bool,
}

impl Darknet {
    /// Build the namespaces, links, addresses and routes.
    pub fn build(tools: &Tools, options: Options) -> Darknet {
        let mut lab = Lab::new(tools);
        let scanner = lab.namespace("scan");
        let darknet = lab.namespace("dark");
        let (s, d) = (scanner.as_str(), darknet.as_str());
        lab.ip(&["-n", s, "link", "add", "s0", "type", "veth", "peer", "name", "d0", "netns", d]);
        // nodad: an address still in duplicate detection cannot send yet.
        lab.ip(&["-n", s, "addr", "add", &format!("{SCANNER_V4}/25"), "dev", "s0"]);
        lab.ip(&["-n", s, "addr", "add", &format!("{SCANNER_V6}/64"), "dev", "s0", "nodad"]);
        lab.ip(&["-n", d, "addr", "add", &format!("{DARKNET_V4}/25"), "dev", "d0"]);
        lab.ip(&["-n", d, "addr", "add", &format!("{DARKNET_V6}/64"), "dev", "d0", "nodad"]);
        lab.ip(&["-n", s, "link", "set", "s0", "up"]);
        lab.ip(&["-n", d, "link", "set", "d0", "up"]);
        lab.ip(&["-n", s, "route", "add", DARK_V4, "via", DARKNET_V4]);
        lab.ip(&["-n", s, "-6", "route", "add", DARK_V6, "via", DARKNET_V6]);
        // The darknet swallows what it watches: a blackhole drops without a
        // word (IPv6 would otherwise answer "no route" to every probe).
        lab.ip(&["-n", d, "route", "add", "blackhole", DARK_V4]);
        lab.ip(&["-n", d, "-6", "route", "add", "blackhole", DARK_V6]);

        let vlan_interfaces = options.vlan.is_some_and(|vid| {
            let id = vid.to_string();
            let (s_vlan, d_vlan) = (format!("s0.{vid}"), format!("d0.{vid}"));
            // Kernels built without 802.1Q support (CONFIG_VLAN_8021Q) refuse
            // the device type; the caller then sends tagged frames itself.
            let mut probe = Command::new(&lab.ip);
            probe.args(["-n", s, "link", "add", "link", "s0", "name", &s_vlan, "type", "vlan", "id", &id]);
            let out = run(&mut probe, IP_TIMEOUT);
            if !out.status.success() {
                eprintln!(
                    "note: this kernel cannot make 802.1Q interfaces ({}); only crafted tagged frames cross the VLAN",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                return false;
            }
            lab.ip(&["-n", d, "link", "add", "link", "d0", "name", &d_vlan, "type", "vlan", "id", &id]);
            lab.ip(&["-n", s, "addr", "add", &format!("{VLAN_SCANNER_V4}/25"), "dev", &s_vlan]);
            lab.ip(&["-n", d, "addr", "add", &format!("{VLAN_DARKNET_V4}/25"), "dev", &d_vlan]);
            lab.ip(&["-n", s, "link", "set", &s_vlan, "up"]);
            lab.ip(&["-n", d, "link", "set", &d_vlan, "up"]);
            lab.ip(&["-n", s, "route", "add", VLAN_DARK_V4, "via", VLAN_DARKNET_V4]);
            true
        });

        let victim = options.victim.then(|| {
            let v = lab.namespace("victim");
            lab.ip(&["-n", s, "link", "add", "sv", "type", "veth", "peer", "name", "vs", "netns", &v]);
            lab.ip(&["-n", s, "addr", "add", &format!("{VICTIM_GW_V4}/24"), "dev", "sv"]);
            lab.ip(&["-n", s, "addr", "add", &format!("{VICTIM_GW_V6}/64"), "dev", "sv", "nodad"]);
            lab.ip(&["-n", &v, "addr", "add", &format!("{VICTIM_V4}/24"), "dev", "vs"]);
            lab.ip(&["-n", &v, "addr", "add", &format!("{VICTIM_V6}/64"), "dev", "vs", "nodad"]);
            lab.ip(&["-n", s, "link", "set", "sv", "up"]);
            lab.ip(&["-n", &v, "link", "set", "vs", "up"]);
            lab.ip(&["-n", &v, "route", "add", DARK_V4, "via", VICTIM_GW_V4]);
            lab.ip(&["-n", &v, "-6", "route", "add", DARK_V6, "via", VICTIM_GW_V6]);
            lab.sysctl(s, &["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
            // Answer every probe: the kernel's ICMP rate limits would drop
            // some of the port-unreachables the test waits for.
            lab.sysctl(&v, &["net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0"]);
            v
        });
        Darknet { lab, scanner, darknet, victim, vlan_interfaces }
    }

    /// A command running `program` in the scanner namespace.
    pub fn in_scanner(&self, program: &Path) -> Command {
        self.lab.exec(&self.scanner, program)
    }

    /// A command running `program` in the darknet namespace.
    pub fn in_darknet(&self, program: &Path) -> Command {
        self.lab.exec(&self.darknet, program)
    }

    /// A command running `program` in the victim namespace.
    pub fn in_victim(&self, program: &Path) -> Command {
        self.lab.exec(self.victim.as_deref().expect("test bug: the topology was built without a victim"), program)
    }

    /// The MAC of the darknet's `d0`: the scanner's gateway MAC for tools
    /// that build their own Ethernet frames (masscan, zmap).
    pub fn gateway_mac(&self) -> String {
        self.lab.mac(&self.darknet, "d0")
    }

    /// Run masscan in the scanner out of `s0` with its own stack (address
    /// [`SCANNER_V4`], the darknet's `d0` as its router) and `args` (targets,
    /// ports, rate…), to its end.
    ///
    /// masscan's receive thread only notices the end of a scan when a packet
    /// arrives (libpcap 1.10 blocks without traffic), so the darknet side
    /// broadcasts a datagram every 100 ms until masscan exits.
    pub fn masscan(&self, tools: &Tools, args: &[&str]) {
        let mut nudge = self.in_darknet(tools.python());
        nudge.args(["-c", NUDGER, "198.51.100.127"]);
        let _nudger = Background::spawn(&mut nudge, "broadcast nudger");
        let mut masscan = self.in_scanner(tools.path("masscan"));
        masscan.args(["--wait", "0", "--adapter", "s0", "--adapter-ip", SCANNER_V4]);
        masscan.args(["--router-mac", &self.gateway_mac()]).args(args);
        run_ok(&mut masscan, MASSCAN_TIMEOUT);
    }
}

/// How long a masscan run of a test may take.
const MASSCAN_TIMEOUT: Duration = Duration::from_secs(30);

/// Broadcast a datagram to `argv[1]` port 9 every 100 ms for at most 30 s.
const NUDGER: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for _ in range(300):
    s.sendto(b"nudge", (sys.argv[1], 9))
    time.sleep(0.1)
"#;

/// How long in-flight packets (and the victim's answers) get to arrive
/// before a capture stops: at least `SETTLE`, then until the file has not
/// grown for `QUIET` (tcpdump lags on a loaded machine), at most `SETTLE_MAX`.
const SETTLE: Duration = Duration::from_millis(300);
const QUIET: Duration = Duration::from_millis(250);
const SETTLE_MAX: Duration = Duration::from_secs(3);

/// A running tcpdump writing a pcap file.
pub struct Capture {
    tcpdump: Background,
    pcap: PathBuf,
}

impl Capture {
    /// Start `tcpdump -i IFACE [-y LINKTYPE] -w PCAP` in `ns` and wait until it listens.
    pub fn start(net: &Darknet, tools: &Tools, ns: &str, iface: &str, link_type: Option<&str>, pcap: &Path) -> Capture {
        let mut cmd = net.lab.exec(ns, tools.path("tcpdump"));
        // --immediate-mode: hand each packet over as it arrives. Otherwise
        // libpcap's TPACKET_V3 ring holds packets until a block fills or
        // times out, and the packets of the last second die with tcpdump at
        // SIGINT ("0 packets captured, 8 received by filter").
        // Immediate mode gives each packet a ring slot of the snap length:
        // with the default 256 KiB snap and 2 MiB buffer that is 8 slots,
        // and a masscan burst overflows them. 9216 bytes (a jumbo frame)
        // and 16 MiB make ~1800 slots.
        // -U: write each packet as it comes; -Z root: keep the right to write
        // into the test's private temporary folder.
        cmd.args(["-i", iface, "-n", "--immediate-mode", "-s", "9216", "-B", "16384", "-U", "-Z", "root"]);
        if let Some(link_type) = link_type {
            cmd.args(["-y", link_type]);
        }
        cmd.arg("-w").arg(pcap);
        let mut tcpdump = Background::spawn(&mut cmd, &format!("tcpdump on {ns} {iface}"));
        tcpdump.wait_for("listening on", Duration::from_secs(10));
        Capture { tcpdump, pcap: pcap.to_path_buf() }
    }

    /// Let in-flight packets land, stop tcpdump with SIGINT (it flushes and
    /// closes the file) and return the file.
    pub fn stop(self) -> PathBuf {
        let started = Instant::now();
        thread::sleep(SETTLE);
        let size = || std::fs::metadata(&self.pcap).map_or(0, |m| m.len());
        let mut last = size();
        while started.elapsed() < SETTLE_MAX {
            thread::sleep(QUIET);
            let now = size();
            if now == last {
                break;
            }
            last = now;
        }
        let (status, log) = self.tcpdump.stop_with("INT", Duration::from_secs(10));
        assert!(status.success(), "tcpdump ended badly ({status}):\n{log}");
        let count = |what: &str| {
            log.lines()
                .find_map(|line| line.strip_suffix(what)?.trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("tcpdump did not report `{what}`:\n{log}"))
        };
        let (captured, seen, dropped) =
            (count("packets captured"), count("packets received by filter"), count("packets dropped by kernel"));
        // A full ring loses packets anywhere in the run: fail. Packets that
        // reach the ring while tcpdump handles SIGINT (router solicitations,
        // SYN-ACK retransmissions) are not written; they came after the
        // traffic under test, so only say so.
        assert_eq!(dropped, 0, "tcpdump's ring overflowed:\n{log}");
        if captured != seen {
            eprintln!(
                "note: {} packet(s) arrived while tcpdump was stopping and were not written",
                seen.saturating_sub(captured)
            );
        }
        self.pcap
    }
}

/// Run a scapy script inside a namespace; it must end by printing scapy's
/// `Sent N packets.` for `expected` packets.
pub fn scapy(net: &Darknet, ns: &str, tools: &Tools, script: &str, args: &[&str], expected: usize) -> String {
    let mut cmd = net.lab.exec(ns, tools.python());
    cmd.arg("-c").arg(script).args(args);
    let out = run(&mut cmd, Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains(&format!("Sent {expected} packets.")),
        "scapy in {ns} did not send {expected} packets ({}):\n{script}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
