//! Sensor config files for tests: what every test sensor shares, plus what a
//! test changes, instead of a hand-written TOML template per test.
//!
//! ```
//! use nightjar_test_kit::sensor_toml::SensorToml;
//!
//! let text = SensorToml::replay("tokyo-1", "sensor.token", "http://127.0.0.1:9000", &["a.pcap".as_ref()])
//!     .set("batch.max_rows", 500)
//!     .merge("[metrics]\nenabled = true\n")
//!     .to_toml();
//! assert!(text.contains("max_rows = 500"));
//! ```

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::replay_capture::DARK;

/// A sensor config under construction.
#[derive(Debug, Clone)]
pub struct SensorToml {
    table: Table,
}

impl SensorToml {
    /// A sensor `id` whose token is in `token_file` (relative to the config's
    /// folder), uploading to `url`, keeping the dark prefix of the test
    /// captures ([`DARK`]), spooling to `spool/`, retrying after 100 ms up to 1 s.
    fn base(id: &str, token_file: &str, url: &str) -> SensorToml {
        SensorToml { table: Table::new() }
            .set("sensor.id", id)
            .set("sensor.token_file", token_file)
            .set("uplink.url", url)
            .set("uplink.initial_backoff", "100ms")
            .set("uplink.max_backoff", "1s")
            .set("filter.dark_prefixes", vec![DARK])
            .set("spool.dir", "spool")
    }

    /// An offline sensor replaying `pcaps` (see [`SensorToml::base`] for the rest).
    pub fn replay(id: &str, token_file: &str, url: &str, pcaps: &[&Path]) -> SensorToml {
        let pcaps: Vec<String> = pcaps.iter().map(|pcap| pcap.display().to_string()).collect();
        SensorToml::base(id, token_file, url).set("capture.replay", pcaps)
    }

    /// A live sensor capturing on `interface` (see [`SensorToml::base`] for the rest).
    pub fn live(id: &str, token_file: &str, url: &str, interface: &str) -> SensorToml {
        SensorToml::base(id, token_file, url).set("capture.interface", interface)
    }

    /// Set `section.key` (e.g. `uplink.ca_file`) to `value`.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> SensorToml {
        let (section, field) = key.split_once('.').unwrap_or_else(|| panic!("test bug: `{key}` is not `section.key`"));
        let section = self.table.entry(section).or_insert_with(|| Value::Table(Table::new()));
        let Value::Table(section) = section else { panic!("test bug: `{key}`: its section is not a table") };
        section.insert(field.to_string(), value.into());
        self
    }

    /// Merge whole sections of TOML `text` over what is set, key by key.
    pub fn merge(mut self, text: &str) -> SensorToml {
        let extra: Table = text.parse().unwrap_or_else(|e| panic!("test bug: extra sensor TOML: {e}\n{text}"));
        for (name, value) in extra {
            match (self.table.get_mut(&name), value) {
                (Some(Value::Table(section)), Value::Table(fields)) => section.extend(fields),
                (_, value) => {
                    self.table.insert(name, value);
                }
            }
        }
        self
    }

    /// The config as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.table).expect("a TOML table always serializes")
    }

    /// Write the config to `path` and return it.
    pub fn write(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.to_toml()).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::SensorToml;

    #[test]
    fn settings_and_merged_sections_land_in_their_sections() {
        let table: toml::Table = SensorToml::live("s", "t", "http://127.0.0.1:1", "d0")
            .set("uplink.max_backoff", "2s")
            .merge("[uplink]\nallow_insecure = true\n[metrics]\nenabled = true\n")
            .to_toml()
            .parse()
            .unwrap();
        assert_eq!(table["uplink"]["max_backoff"].as_str(), Some("2s"));
        assert_eq!(table["uplink"]["initial_backoff"].as_str(), Some("100ms"), "kept beside the merged key");
        assert_eq!(table["uplink"]["allow_insecure"].as_bool(), Some(true));
        assert_eq!(table["metrics"]["enabled"].as_bool(), Some(true));
        assert_eq!(table["capture"]["interface"].as_str(), Some("d0"));
    }
}
