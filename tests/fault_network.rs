//! Network faults between a sensor and its collector: the real `nightjar
//! sensor` (replaying a capture at its original pace) in one network
//! namespace, the real `nightjar collector` in another, joined by a veth
//! pair, and the path between them made bad:
//!
//! ```text
//!  sensor ns  ns0 198.51.100.1/24 ─── veth ─── nc0 198.51.100.2/24  collector ns (:8080)
//!             netem loss 20% delay 50ms±20ms     netem loss 10% duplicate 10%
//!             reorder 25% (50% correlation)      delay 20ms±10ms reorder 25%
//!             + the link taken down for 6 s, several times, mid-upload
//! ```
//!
//! Every packet the sensor kept must be in the dataset exactly once, checked
//! packet by packet; lost responses show up as `duplicate` answers, never as
//! rows stored twice. All addresses are TEST-NET-2 (RFC 5737); nothing
//! leaves the namespaces.
//!
//! Needs root, `ip netns` and `tc` (iproute2), plus the shared system-test
//! prerequisites (`nightjar_test_kit::prereq`). netem needs the kernel's `sch_netem`;
//! a kernel built without it refuses the qdisc kind. Like the VLAN note in
//! `tool_captures.rs`, the test then says so in a `note:` line and impairs
//! the path with what the kernel has: a token bucket (`tbf`) with a short
//! queue, which delays and tail-drops, and the link flaps. Set
//! `NIGHTJAR_REQUIRE_NETEM=1` to make a missing netem a failure.
//! `NIGHTJAR_LONG_TESTS=1` runs a longer replay with more flaps.

use std::path::Path;
use std::time::{Duration, Instant};

use nightjar_test_kit::conservation;
use nightjar_test_kit::conservation::{Collected, SensorSetup};
use nightjar_test_kit::netns::Lab;
use nightjar_test_kit::prereq::{Need, Skipped, Tools, prepare};
use nightjar_test_kit::process::{Background, run, run_ok};
use nightjar_test_kit::replay_capture::make_capture;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
const SENSOR: &str = "netem-1";
const SENSOR_V4: &str = "198.51.100.1";
const COLLECTOR_V4: &str = "198.51.100.2";
const PORT: u16 = 8080;
/// How long the link stays down at each flap.
const FLAP: Duration = Duration::from_secs(6);

/// The impairment of each direction, as `tc qdisc add … root` arguments.
const NETEM_SENSOR_SIDE: &[&str] = &["netem", "loss", "20%", "delay", "50ms", "20ms", "reorder", "25%", "50%"];
const NETEM_COLLECTOR_SIDE: &[&str] =
    &["netem", "loss", "10%", "duplicate", "10%", "delay", "20ms", "10ms", "reorder", "25%", "50%"];
/// Without netem: 2 Mbit/s and a queue of 12 KB, so bursts are tail-dropped.
const TBF: &[&str] = &["tbf", "rate", "2mbit", "burst", "8kb", "limit", "12kb"];

/// Add a root qdisc on `dev` in `ns`; the error text when the kernel refuses.
fn qdisc(tools: &Tools, lab: &Lab, ns: &str, dev: &str, spec: &[&str]) -> Result<(), String> {
    let mut cmd = lab.exec(ns, tools.path("tc"));
    cmd.args(["qdisc", "add", "dev", dev, "root"]).args(spec);
    let out = run(&mut cmd, Duration::from_secs(10));
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).trim().to_string()) }
}

/// Packets the qdiscs of `dev` dropped so far (`tc -s qdisc show`).
fn qdisc_drops(tools: &Tools, lab: &Lab, ns: &str, dev: &str) -> u64 {
    let mut cmd = lab.exec(ns, tools.path("tc"));
    cmd.args(["-s", "qdisc", "show", "dev", dev]);
    let out = run_ok(&mut cmd, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("dropped ")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u64>().ok())
        .sum()
}

fn loss_delay_reordering_and_flaps_lose_and_repeat_nothing() -> Result<(), Skipped> {
    let tools = prepare("fault_network", &[Need::Tool("tc")])?;
    let (packets, capture_s, flaps) = if conservation::long_tests() { (60_000, 90, 8) } else { (20_000, 30, 3) };
    let dir = tempfile::tempdir().unwrap();
    let mut lab = Lab::new(&tools);
    let sensor_ns = lab.namespace("sens");
    let collector_ns = lab.namespace("coll");
    lab.ip(&["-n", &sensor_ns, "link", "add", "ns0", "type", "veth", "peer", "name", "nc0", "netns", &collector_ns]);
    lab.ip(&["-n", &sensor_ns, "addr", "add", &format!("{SENSOR_V4}/24"), "dev", "ns0"]);
    lab.ip(&["-n", &collector_ns, "addr", "add", &format!("{COLLECTOR_V4}/24"), "dev", "nc0"]);
    lab.ip(&["-n", &sensor_ns, "link", "set", "ns0", "up"]);
    lab.ip(&["-n", &collector_ns, "link", "set", "nc0", "up"]);

    let netem = match qdisc(&tools, &lab, &sensor_ns, "ns0", NETEM_SENSOR_SIDE) {
        Ok(()) => {
            qdisc(&tools, &lab, &collector_ns, "nc0", NETEM_COLLECTOR_SIDE).expect("netem works on the second link");
            true
        }
        Err(why) if why.contains("unknown") => {
            assert!(
                std::env::var("NIGHTJAR_REQUIRE_NETEM").as_deref() != Ok("1"),
                "NIGHTJAR_REQUIRE_NETEM=1, but this kernel has no netem qdisc: {why}"
            );
            eprintln!(
                "note: this kernel has no netem qdisc (sch_netem: `{why}`); the path gets a tail-dropping \
                 token bucket and link flaps instead of random loss, delay and reordering"
            );
            for (ns, dev) in [(&sensor_ns, "ns0"), (&collector_ns, "nc0")] {
                qdisc(&tools, &lab, ns, dev, TBF).expect("tbf is available");
            }
            false
        }
        Err(why) => panic!("tc qdisc add netem failed: {why}"),
    };

    let collector_config = dir.path().join("collector.toml");
    // Plain HTTP off loopback: the namespaces are the test's own, and TLS is
    // not what is under test here (tests/sensor_collector.rs covers it).
    let toml = conservation::collector_toml(&format!("{COLLECTOR_V4}:{PORT}"), 2) + "allow_insecure = true\n";
    std::fs::write(&collector_config, toml).unwrap();
    conservation::add_sensor(NIGHTJAR, &collector_config, SENSOR, &dir.path().join("sensor.token"));
    let mut collector = {
        let mut cmd = lab.exec(&collector_ns, Path::new(NIGHTJAR));
        cmd.arg("collector").arg("--config").arg(&collector_config);
        Background::spawn(&mut cmd, "the collector")
    };
    collector.wait_for("nightjar collector listening on", Duration::from_secs(30));

    let (pcap, mut ingest) = make_capture(dir.path(), "replay.pcap", packets, 51, capture_s);
    let kept = ingest.counters().kept;
    let expected = conservation::packet_keys(&[ingest.finish_batch(SENSOR, 0)]);
    let url = format!("http://{COLLECTOR_V4}:{PORT}");
    let config = conservation::write_sensor_config(
        dir.path(),
        &SensorSetup {
            id: SENSOR,
            url: &url,
            pcap: &pcap,
            pace: "original",
            uplink: "allow_insecure = true\nconnect_timeout = \"2s\"\nrequest_timeout = \"3s\"",
            spool_dir: &dir.path().join("spool"),
            spool: "",
        },
    );
    let started = Instant::now();
    let mut sensor = Collected::spawn(
        lab.exec(&sensor_ns, Path::new(NIGHTJAR)).args(["sensor", "--config"]).arg(&config),
        "the sensor",
    );
    // Flaps spread over the replay, each longer than the sensor's request
    // timeout: requests in flight time out, answers are lost on the way.
    let gap = Duration::from_secs(capture_s) / (flaps + 1);
    for _ in 0..flaps {
        std::thread::sleep(gap.saturating_sub(FLAP));
        assert!(sensor.running(), "the sensor keeps running:\n{}", sensor.stderr());
        lab.ip(&["-n", &sensor_ns, "link", "set", "ns0", "down"]);
        std::thread::sleep(FLAP);
        lab.ip(&["-n", &sensor_ns, "link", "set", "ns0", "up"]);
    }
    let (stdout, _) = sensor.wait(Duration::from_secs(capture_s + 90).saturating_sub(started.elapsed()));
    let wire_drops = qdisc_drops(&tools, &lab, &sensor_ns, "ns0") + qdisc_drops(&tools, &lab, &collector_ns, "nc0");
    let (status, log) = collector.stop_with("TERM", Duration::from_secs(30));
    assert!(status.success(), "the collector stops cleanly:\n{log}");

    assert_eq!(conservation::sensor_line(&stdout, "packets kept").0, kept, "{stdout}");
    assert_eq!(conservation::sensor_line(&stdout, "dropped, spool full"), (0, 0), "{stdout}");
    assert_eq!(conservation::sensor_line(&stdout, "left in spool").0, 0, "{stdout}");
    let (stored_answers, duplicate_answers) = conservation::acknowledged(&stdout);
    let retries = conservation::sensor_line(&stdout, "upload retries").0;
    let (tally, per_batch) = conservation::assert_conserved(&expected, &dir.path().join("data"));
    assert_eq!(per_batch.len() as u64, stored_answers + duplicate_answers, "one stored batch per acknowledged one");
    assert!(retries > 0, "the faults made uploads fail and retry:\n{stdout}");
    if netem {
        assert!(wire_drops > 0, "netem dropped packets on the path");
    }
    conservation::report(
        "network_faults",
        &[
            ("netem", if netem { "yes" } else { "no(tbf)" }.to_string()),
            ("flaps", flaps.to_string()),
            ("packets", tally.expected.to_string()),
            ("batches", per_batch.len().to_string()),
            ("wire_drops", wire_drops.to_string()),
            ("retries", retries.to_string()),
            ("duplicate_answers", duplicate_answers.to_string()),
            ("lost", tally.lost.to_string()),
            ("duplicated", tally.duplicated.to_string()),
        ],
    );
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![trial!(loss_delay_reordering_and_flaps_lose_and_repeat_nothing)]
}
