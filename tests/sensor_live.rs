//! The `nightjar sensor` binary capturing live in a darknet namespace.
//!
//! A scanner namespace routes the dark /24 (and an IPv6 /64) to the darknet
//! namespace's veth `d0` (see `nightjar_test_kit::netns`). There, tcpdump and the
//! sensor listen on `d0`, and the sensor uploads to a test receiver that
//! listens on 127.0.0.1 inside the darknet namespace and checks the wire
//! format. Real scans (nmap, hping3) run from the scanner. Every IP packet
//! tcpdump saw going to the dark prefixes must reach the receiver exactly
//! once, and the sensor's counters must account for the rest.
//!
//! Needs root, `ip netns`, tcpdump, tshark (the shared prerequisites), nmap
//! and hping3. Without them it is reported ignored, with what is missing,
//! unless `NIGHTJAR_SYSTEM_TESTS=require`, where it fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use nightjar_capture::{CaptureFile, FrameEvent};
use nightjar_packet::{Prefix, PrefixSet, decode};
use nightjar_test_kit::netns::{Capture, DARK_V4, DARK_V6, DARKNET_V4, DARKNET_V6, Darknet, Options};
use nightjar_test_kit::prereq::{Need, Skipped, Tools, prepare};
use nightjar_test_kit::process;
use nightjar_test_kit::process::{Background, run_ok};
use nightjar_test_kit::receiver::Receiver;
use nightjar_test_kit::row_keys::{PacketKey, key_counts, packet_key};
use nightjar_test_kit::sensor_toml::SensorToml;

const SENSOR: &str = "netns-1";
const TOKEN: &str = "live-test-token";
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

fn dark() -> PrefixSet {
    PrefixSet::new(vec![DARK_V4.parse::<Prefix>().unwrap(), DARK_V6.parse().unwrap()])
}

/// The IP packets to the dark prefixes in a capture file, as keys.
fn dark_packets_in(pcap: &Path) -> (BTreeMap<PacketKey, usize>, usize) {
    let dark = dark();
    let mut keys = BTreeMap::new();
    let mut frames = 0;
    let mut file = CaptureFile::open(pcap).expect("tcpdump's capture opens");
    while let Some(event) = file.next_frame() {
        let FrameEvent::Frame(frame) = event.expect("tcpdump's capture reads") else { continue };
        frames += 1;
        let Ok(packet) = decode(frame.link, frame.data) else { continue };
        if !dark.contains(&packet.dst) {
            continue;
        }
        *keys.entry(packet_key(&packet)).or_default() += 1;
    }
    (keys, frames)
}

fn received(receiver: &Receiver) -> BTreeMap<PacketKey, usize> {
    receiver.with(|inner| key_counts(&inner.stored.values().flatten().cloned().collect::<Vec<_>>()))
}

fn nmap(net: &Darknet, tools: &Tools, args: &[&str]) {
    let mut cmd = net.in_scanner(tools.path("nmap"));
    cmd.args(["-n", "-Pn", "--max-retries", "0", "--host-timeout", "20s"]).args(args);
    run_ok(&mut cmd, TOOL_TIMEOUT);
}

fn hping3(net: &Darknet, tools: &Tools, count: u32, args: &[&str]) {
    let mut cmd = net.in_scanner(tools.path("hping3"));
    cmd.args(["-I", "s0", "-c", &count.to_string(), "-i", "u20000"]).args(args);
    let out = process::run(&mut cmd, TOOL_TIMEOUT);
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(&format!("{count} packets transmitted")), "hping3 {args:?} did not send {count}: {said}");
}

/// The number on a summary line such as `packets kept        123`.
fn summary_number(log: &str, label: &str) -> u64 {
    log.lines()
        .find_map(|line| line.trim_start().strip_prefix(label)?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no `{label}` line in the sensor's output:\n{log}"))
}

fn live_sensor_delivers_every_dark_packet_tcpdump_saw() -> Result<(), Skipped> {
    live_capture("ring")
}

fn live_sensor_through_pnet_delivers_every_dark_packet_tcpdump_saw() -> Result<(), Skipped> {
    live_capture("pnet")
}

/// Real scans into the darknet, captured live with the capture `method` of the sensor's config.
fn live_capture(method: &str) -> Result<(), Skipped> {
    let tools = prepare("sensor_live", &[Need::Tool("nmap"), Need::Tool("hping3")])?;
    let net = Darknet::build(&tools, Options::default());
    let dir = tempfile::tempdir().expect("a temporary folder");
    let receiver = Receiver::start_in_netns(&net.darknet, SENSOR, TOKEN);
    std::fs::write(dir.path().join("token"), TOKEN).unwrap();
    let config = SensorToml::live(SENSOR, "token", &receiver.url(), "d0")
        .set("capture.promiscuous", true)
        .set("capture.method", method)
        .set("filter.dark_prefixes", vec![DARK_V4, DARK_V6])
        .set("filter.own_addresses", vec![DARKNET_V4, DARKNET_V6])
        .set("privacy.destination", "keep")
        .set("batch.max_age", "200ms")
        .set("heartbeat.interval", "1s")
        .set("metrics.log_interval", "1s")
        .write(&dir.path().join("sensor.toml"));

    let pcap = dir.path().join("d0.pcap");
    let tcpdump = Capture::start(&net, &tools, &net.darknet, "d0", None, &pcap);
    let binary = Path::new(env!("CARGO_BIN_EXE_nightjar"));
    let mut cmd = net.in_darknet(binary);
    cmd.args(["sensor", "--config"]).arg(&config).env("NIGHTJAR_LOG", "info");
    let mut sensor = Background::spawn(&mut cmd, "nightjar sensor");
    sensor.wait_for("capturing", Duration::from_secs(30));

    nmap(&net, &tools, &["-sS", "-p", "22,23,80,443,8080", "192.0.2.10-12"]);
    nmap(&net, &tools, &["-sU", "-p", "53,123,161", "192.0.2.13"]);
    nmap(&net, &tools, &["-6", "-sS", "-p", "22,80", "2001:db8:2::10"]);
    hping3(&net, &tools, 5, &["-S", "-p", "80", "192.0.2.20"]);
    hping3(&net, &tools, 3, &["--icmp", "192.0.2.21"]);
    hping3(&net, &tools, 3, &["--udp", "-p", "161", "192.0.2.22"]);
    hping3(&net, &tools, 3, &["-R", "-A", "-p", "443", "192.0.2.23"]);
    let pcap = tcpdump.stop();

    let (expected, frames_seen) = dark_packets_in(&pcap);
    let expected_count: usize = expected.values().sum();
    assert!(expected_count >= 15 + 3 + 2 + 5 + 3 + 3 + 3, "tcpdump saw the scans: {expected_count} dark packets");
    receiver.wait_until_blocking(Duration::from_secs(30), "every dark packet at the receiver", |inner| {
        inner.stored.values().flatten().map(RecordBatch::num_rows).sum::<usize>() >= expected_count
    });
    // A moment for anything extra to show up, then stop the sensor.
    std::thread::sleep(Duration::from_millis(500));
    let (status, log) = sensor.stop_with("INT", Duration::from_secs(30));
    assert!(status.success(), "the sensor exits cleanly on SIGINT ({status}):\n{log}");

    let got = received(&receiver);
    let missing: Vec<&PacketKey> = expected.iter().filter(|(k, n)| got.get(*k) != Some(n)).map(|(k, _)| k).collect();
    let extra: Vec<&PacketKey> = got.iter().filter(|(k, n)| expected.get(*k) != Some(n)).map(|(k, _)| k).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}\nsensor log:\n{log}");
    let problems = receiver.with(|inner| inner.problems.clone());
    assert!(problems.is_empty(), "wire-format problems: {problems:?}");
    assert!(receiver.with(|inner| !inner.heartbeats.is_empty()), "heartbeats arrived");

    // The sensor's own account: every kept packet was sent, nothing is left
    // spooled, and every other frame it read was filtered or skipped by reason.
    let kept = summary_number(&log, "packets kept");
    let captured = summary_number(&log, "frames captured");
    let filtered = summary_number(&log, "filtered");
    let not_ip = summary_number(&log, "not IP");
    let malformed = summary_number(&log, "malformed");
    assert_eq!(kept, expected_count as u64, "{log}");
    assert_eq!(captured, kept + filtered + not_ip + malformed, "{log}");
    assert_eq!(summary_number(&log, "left in spool"), 0, "{log}");
    if method == "ring" {
        assert_eq!(summary_number(&log, "kernel dropped"), 0, "{log}");
    }
    eprintln!(
        "{method}: tcpdump: {frames_seen} frames, {expected_count} to the dark prefixes; sensor: {captured} captured, {kept} kept, {filtered} filtered, {not_ip} not IP, {malformed} malformed"
    );
    // The receiver's thread leaves the namespace before `net` deletes it.
    drop(receiver);
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(live_sensor_delivers_every_dark_packet_tcpdump_saw),
        trial!(live_sensor_through_pnet_delivers_every_dark_packet_tcpdump_saw),
    ]
}
