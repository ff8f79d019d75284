use std::path::Path;
use std::time::Duration;

use super::*;
use crate::capture::ReplayPace;
use crate::pipeline::DestinationPrivacy;

const MINIMAL: &str = r#"
[sensor]
id = "tokyo-1"
token_file = "token"

[uplink]
url = "https://collector.example.net:8443/nightjar"

[capture]
interface = "eth1"

[filter]
dark_prefixes = ["192.0.2.0/24", "2001:db8:2::/64"]

[spool]
dir = "spool"
"#;

fn parse(text: &str) -> Result<SensorConfig, ConfigError> {
    SensorConfig::parse(text, Path::new("/etc/nightjar"))
}

/// `MINIMAL` with `key = value` added to `[section]` (or replacing a line).
fn with(section: &str, line: &str) -> String {
    let header = format!("[{section}]\n");
    let key = line.split('=').next().unwrap_or("").trim();
    let mut out = String::new();
    let mut in_section = false;
    let mut added = false;
    for l in MINIMAL.lines() {
        if l.starts_with('[') {
            in_section = l == header.trim_end();
        }
        if in_section && !key.is_empty() && l.split('=').next().unwrap_or("").trim() == key {
            continue;
        }
        out.push_str(l);
        out.push('\n');
        if in_section && !added && l == header.trim_end() {
            out.push_str(line);
            out.push('\n');
            added = true;
        }
    }
    if !added {
        out.push_str(&header);
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn key_of(result: Result<SensorConfig, ConfigError>) -> String {
    let error = result.expect_err("the config must be refused");
    error.key().unwrap_or_else(|| panic!("{error} names no key")).to_string()
}

#[test]
fn minimal_config_gets_the_documented_defaults() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(config.sensor.token_file, Path::new("/etc/nightjar/token"));
    assert_eq!(config.spool.dir, Path::new("/etc/nightjar/spool"));
    assert_eq!(config.spool.max_bytes, 1 << 30);
    assert_eq!(config.batch.max_rows, 65_536);
    assert_eq!(config.batch.max_age, Duration::from_secs(1));
    assert_eq!(config.heartbeat.interval, Duration::from_secs(30));
    assert_eq!(config.privacy.destination, DestinationPrivacy::Keep);
    assert_eq!(config.privacy.payload_prefix, 0);
    assert!(config.capture.promiscuous);
    assert!(!config.metrics.enabled);
    assert!(config.metrics.listen.ip().is_loopback());
    assert!(!config.uplink.allow_insecure);
    let urls: Vec<String> = config.uplink.base_urls().unwrap().iter().map(|u| u.to_string()).collect();
    assert_eq!(urls, ["https://collector.example.net:8443/nightjar/"]);
}

#[test]
fn unknown_keys_are_named_with_their_section() {
    let error = parse(&with("capture", "promiscous = false")).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("promiscous"), "{text}");
    assert!(text.starts_with("capture"), "the error names the section: {text}");
    let error = parse(&with("nonsense", "x = 1")).unwrap_err();
    assert!(error.to_string().contains("nonsense"), "{error}");
}

#[test]
fn wrong_types_are_named() {
    let error = parse(&with("batch", "max_rows = \"many\"")).unwrap_err();
    assert_eq!(error.key(), Some("batch.max_rows"), "{error}");
    let error = parse(&with("batch", "max_age = \"soon\"")).unwrap_err();
    assert_eq!(error.key(), Some("batch.max_age"), "{error}");
}

#[test]
fn bad_cidrs_name_the_entry_and_suggest_a_fix() {
    let error = parse(&with("filter", "dark_prefixes = [\"192.0.2.0/24\", \"198.51.100.7/24\"]")).unwrap_err();
    assert_eq!(error.key(), Some("filter.dark_prefixes[1]"));
    assert!(error.to_string().contains("198.51.100.0/24"), "{error}");
    assert_eq!(key_of(parse(&with("filter", "dark_prefixes = []"))), "filter.dark_prefixes");
    assert_eq!(key_of(parse(&with("filter", "own_addresses = [\"nope\"]"))), "filter.own_addresses[0]");
}

#[test]
fn an_own_address_inside_the_dark_block_is_refused() {
    let error = parse(&with("filter", "own_addresses = [\"198.51.100.2\", \"192.0.2.1\"]")).unwrap_err();
    assert_eq!(error.key(), Some("filter.own_addresses[1]"));
    assert!(error.to_string().contains("INSTALL.md"), "{error}");
}

#[test]
fn plain_http_only_to_loopback_unless_allowed() {
    assert_eq!(key_of(parse(&with("uplink", "url = \"http://collector.example.net\""))), "uplink.url");
    parse(&with("uplink", "url = \"http://127.0.0.1:8080\"")).unwrap();
    parse(&with("uplink", "url = \"http://[::1]:8080\"")).unwrap();
    parse(&with("uplink", "url = \"http://localhost:8080\"")).unwrap();
    let allowed = with("uplink", "url = \"http://collector.example.net\"\nallow_insecure = true");
    parse(&allowed).unwrap();
    assert_eq!(key_of(parse(&with("uplink", "url = \"ftp://collector.example.net\""))), "uplink.url");
    assert_eq!(key_of(parse(&with("uplink", "url = \"https://user:pw@collector.example.net\""))), "uplink.url");
    assert_eq!(key_of(parse(&with("uplink", "url = \"not a url\""))), "uplink.url");
}

#[test]
fn several_collectors_are_kept_in_order_and_each_is_checked() {
    let two = with("uplink", "url = [\"https://b.example.net:8443\", \"https://a.example.net/nj\"]");
    let config = parse(&two).unwrap();
    let urls: Vec<String> = config.uplink.base_urls().unwrap().iter().map(|u| u.to_string()).collect();
    assert_eq!(urls, ["https://b.example.net:8443/", "https://a.example.net/nj/"]);

    let second_in_clear = with("uplink", "url = [\"https://a.example.net\", \"http://b.example.net\"]");
    let error = parse(&second_in_clear).unwrap_err();
    assert_eq!(error.key(), Some("uplink.url"));
    assert!(error.to_string().contains("b.example.net"), "{error}");

    let twice = with("uplink", "url = [\"https://a.example.net\", \"https://a.example.net/\"]");
    assert!(parse(&twice).unwrap_err().to_string().contains("twice"));
    assert_eq!(key_of(parse(&with("uplink", "url = []"))), "uplink.url");
    assert_eq!(key_of(parse(&with("uplink", "url = 3"))), "uplink.url");
}

#[test]
fn exactly_one_packet_source() {
    let both = with("capture", "replay = [\"a.pcap\"]");
    assert_eq!(key_of(parse(&both)), "capture.replay");
    let none = MINIMAL.replace("interface = \"eth1\"", "");
    assert_eq!(key_of(parse(&none)), "capture.interface");
    let offline = MINIMAL.replace("interface = \"eth1\"", "replay = [\"a.pcap\"]\nreplay_pace = \"original\"");
    let config = parse(&offline).unwrap();
    assert_eq!(config.capture.replay, [Path::new("/etc/nightjar/a.pcap")]);
    assert_eq!(config.capture.replay_pace, ReplayPace::Original);
    assert_eq!(key_of(parse(&with("capture", "interface = \"a/b\""))), "capture.interface");
}

#[test]
fn ranges_are_checked() {
    assert_eq!(key_of(parse(&with("batch", "max_rows = 0"))), "batch.max_rows");
    assert_eq!(key_of(parse(&with("batch", "max_age = \"1ms\""))), "batch.max_age");
    assert_eq!(key_of(parse(&with("heartbeat", "interval = \"5m\""))), "heartbeat.interval");
    assert_eq!(key_of(parse(&with("spool", "max_bytes = 1000"))), "spool.max_bytes");
    assert_eq!(key_of(parse(&with("spool", "max_bytes = \"12 parsecs\""))), "spool.max_bytes");
    assert_eq!(key_of(parse(&with("privacy", "payload_prefix = 70000"))), "privacy.payload_prefix");
    assert_eq!(key_of(parse(&with("sensor", "id = \"tokyo 1\""))), "sensor.id");
    assert_eq!(key_of(parse(&with("uplink", "zstd_level = 40"))), "uplink.zstd_level");
    assert_eq!(key_of(parse(&with("metrics", "log_interval = \"10ms\""))), "metrics.log_interval");
    assert_eq!(key_of(parse(&with("privacy", "destination = \"hide\""))), "privacy.destination");
}

#[test]
fn byte_counts_take_units() {
    assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
    assert_eq!(parse_bytes("512 MiB"), Ok(512 << 20));
    assert_eq!(parse_bytes("2GB"), Ok(2_000_000_000));
    assert_eq!(parse_bytes("1.5 GiB"), Ok(3 << 29));
    assert!(parse_bytes("1 parsec").is_err());
    assert!(parse_bytes("99999999999 TiB").is_err());
    assert_eq!(parse(&with("spool", "max_bytes = \"2 GiB\"")).unwrap().spool.max_bytes, 2 << 30);
}

#[test]
fn the_token_file_is_checked_and_trimmed() {
    let folder = tempfile::tempdir().unwrap();
    let config = SensorConfig::parse(MINIMAL, folder.path()).unwrap();
    let error = config.read_token().unwrap_err();
    assert_eq!(error.key(), Some("sensor.token_file"));
    assert!(error.to_string().contains(&folder.path().join("token").display().to_string()), "{error}");
    std::fs::write(folder.path().join("token"), "  \n").unwrap();
    assert!(config.read_token().unwrap_err().to_string().contains("empty"));
    std::fs::write(folder.path().join("token"), "s3cret-token\n").unwrap();
    assert_eq!(config.read_token().unwrap(), "s3cret-token");
}

#[test]
fn a_missing_file_is_named() {
    let error = SensorConfig::load("/nonexistent/sensor.toml").unwrap_err();
    assert!(error.to_string().contains("/nonexistent/sensor.toml"), "{error}");
}
