//! `sensors/sensor.example.toml` is read by the real loader, so the example
//! every partner starts from cannot drift from the code.

use std::path::Path;
use std::time::Duration;

use nightjar_sensor::SensorConfig;
use nightjar_sensor::pipeline::DestinationPrivacy;

fn example_path() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../sensors/sensor.example.toml"))
}

#[test]
fn the_example_config_loads_with_the_real_loader() {
    let config = SensorConfig::load(example_path()).unwrap_or_else(|e| panic!("sensors/sensor.example.toml: {e}"));
    assert_eq!(config.sensor.id, "partner-1");
    assert_eq!(config.capture.interface.as_deref(), Some("eth1"));
    assert_eq!(config.capture.ring_size, nightjar_sensor::capture::DEFAULT_RING_SIZE);
    assert_eq!(config.filter.dark_prefix_set().unwrap().prefixes().len(), 2);
    assert_eq!(config.privacy.destination, DestinationPrivacy::Offset);
    assert_eq!(config.privacy.payload_prefix, 0);
    assert_eq!(config.batch.max_rows, 65_536);
    assert_eq!(config.batch.max_age, Duration::from_secs(1));
    assert_eq!(config.spool.max_bytes, 1 << 30);
    assert_eq!(config.heartbeat.interval, Duration::from_secs(30));
    assert!(config.metrics.listen.ip().is_loopback());
    assert!(config.uplink.base_urls().unwrap().iter().all(|url| url.scheme() == "https"));
}

/// Every key the example sets is one the loader knows, and every key of the
/// config structs appears in the example (set or commented out), so that the
/// example explains them all.
#[test]
fn the_example_mentions_every_key() {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let keys: &[(&str, &[&str])] = &[
        ("sensor", &["id", "token_file"]),
        (
            "uplink",
            &[
                "url",
                "ca_file",
                "allow_insecure",
                "connect_timeout",
                "request_timeout",
                "initial_backoff",
                "max_backoff",
                "auth_retry",
                "zstd_level",
            ],
        ),
        ("capture", &["interface", "promiscuous", "replay", "replay_pace", "exit_after_replay", "ring_size"]),
        ("filter", &["dark_prefixes", "own_addresses", "research_list"]),
        ("privacy", &["destination", "payload_prefix"]),
        ("batch", &["max_rows", "max_age"]),
        ("spool", &["dir", "max_bytes"]),
        ("heartbeat", &["interval"]),
        ("metrics", &["enabled", "listen", "log_interval"]),
    ];
    for (section, names) in keys {
        let start = text.find(&format!("\n[{section}]\n")).unwrap_or_else(|| panic!("no [{section}] section"));
        let body = &text[start + section.len() + 4..];
        let body = &body[..body.find("\n[").unwrap_or(body.len())];
        for name in *names {
            let set = body.lines().any(|l| l.trim_start_matches(['#', ' ']).starts_with(&format!("{name} =")));
            assert!(set, "[{section}] {name} is not in the example");
        }
    }
}
