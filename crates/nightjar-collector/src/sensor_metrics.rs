//! Per-sensor series, read from the registry at each scrape:
//!
//! | series | type | meaning |
//! |--------|------|---------|
//! | `nightjar_collector_sensor_last_seen_timestamp_seconds{sensor}` | gauge | last batch, heartbeat or refused request |
//! | `nightjar_collector_sensor_last_batch_timestamp_seconds{sensor}` | gauge | last stored batch |
//! | `nightjar_collector_sensor_rows_stored_total{sensor}` | counter | rows stored (kept across restarts) |
//! | `nightjar_collector_sensor_state{sensor,state}` | gauge | 1 for the sensor's [`SensorState`], 0 for the others |
//!
//! Only sensors registered and not revoked get series: their ids are
//! validated (`[A-Za-z0-9._-]{1,64}`), so the label values are bounded by the
//! operator's sensor list. A registered sensor never heard from has only its
//! state series (`silent`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::registry::{Registry, SensorStatus};
use crate::sensor_state::SensorState;
use crate::tokens::{list_sensors, valid_sensor_id};

/// A per-sensor timestamp series: name (before the unit), help, and the field it reads.
type TimestampSeries = (&'static str, &'static str, fn(&SensorStatus) -> Option<i64>);

/// The scrape-time collector of per-sensor series.
#[derive(Debug)]
pub(crate) struct SensorMetrics {
    registry: Arc<Registry>,
    state_dir: PathBuf,
}

impl SensorMetrics {
    pub(crate) fn new(registry: Arc<Registry>, state_dir: &Path) -> SensorMetrics {
        SensorMetrics { registry, state_dir: state_dir.to_path_buf() }
    }

    /// Each registered, active sensor with its status (if ever heard from)
    /// and state at `now`. When the sensor list cannot be read, the sensors
    /// the registry knows (all of which once authenticated) stand in.
    fn sensors(&self, now: i64) -> Vec<(String, Option<SensorStatus>, SensorState)> {
        let mut statuses = self.registry.snapshot();
        let names: Vec<String> = match list_sensors(&self.state_dir) {
            Ok(entries) => entries.into_iter().filter(|e| !e.revoked).map(|e| e.name).collect(),
            Err(_) => statuses.keys().cloned().collect(),
        };
        let silent_after_s = self.registry.silent_after_s();
        names
            .into_iter()
            .filter(|name| valid_sensor_id(name))
            .map(|name| {
                let status = statuses.remove(&name);
                let state = SensorState::of(status.as_ref(), now, silent_after_s);
                (name, status, state)
            })
            .collect()
    }
}

impl Collector for SensorMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sensors = self.sensors(chrono::Utc::now().timestamp());
        let seconds = Unit::Seconds;

        let timestamps: [TimestampSeries; 2] = [
            ("sensor_last_seen_timestamp", "Unix time of the sensor's last batch, heartbeat or refused request", |s| {
                s.last_seen
            }),
            ("sensor_last_batch_timestamp", "Unix time of the sensor's last stored batch", |s| s.last_batch),
        ];
        for (name, help, field) in timestamps {
            let mut family = encoder.encode_descriptor(name, help, Some(&seconds), MetricType::Gauge)?;
            for (sensor, status, _) in &sensors {
                if let Some(time) = status.as_ref().and_then(field) {
                    family.encode_family(&[("sensor", sensor.as_str())])?.encode_gauge(&time)?;
                }
            }
        }

        let mut rows = encoder.encode_descriptor(
            "sensor_rows_stored",
            "Packet records stored from the sensor",
            None,
            MetricType::Counter,
        )?;
        for (sensor, status, _) in &sensors {
            let stored = status.as_ref().map_or(0, |s| s.rows);
            rows.encode_family(&[("sensor", sensor.as_str())])?.encode_counter::<NoLabelSet, _, u64>(&stored, None)?;
        }

        let mut states = encoder.encode_descriptor(
            "sensor_state",
            "1 for the sensor's state (new, ok, silent, refused, stalled), 0 for the others",
            None,
            MetricType::Gauge,
        )?;
        for (sensor, _, state) in &sensors {
            for candidate in SensorState::ALL {
                let value = i64::from(candidate == *state);
                states
                    .encode_family(&[("sensor", sensor.as_str()), ("state", candidate.as_str())])?
                    .encode_gauge(&value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    #[test]
    fn registered_sensors_get_last_seen_rows_and_state_series() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["osaka-1", "kobe-1", "gone-1"] {
            crate::tokens::add_sensor(dir.path(), name).unwrap();
        }
        crate::tokens::revoke_sensor(dir.path(), "gone-1").unwrap();
        let registry = Arc::new(Registry::open(dir.path()));
        let now = chrono::Utc::now().timestamp();
        registry.batch("osaka-1", 42, false, now);
        registry.batch("gone-1", 1, false, now);
        let text = Metrics::with_sensors(Arc::clone(&registry), dir.path()).render();

        let line = |needle: &str| text.lines().any(|l| l == needle);
        assert!(
            line(&format!("nightjar_collector_sensor_last_seen_timestamp_seconds{{sensor=\"osaka-1\"}} {now}")),
            "{text}"
        );
        assert!(line("nightjar_collector_sensor_rows_stored_total{sensor=\"osaka-1\"} 42"), "{text}");
        assert!(line("nightjar_collector_sensor_state{sensor=\"osaka-1\",state=\"ok\"} 1"), "{text}");
        assert!(line("nightjar_collector_sensor_state{sensor=\"osaka-1\",state=\"silent\"} 0"), "{text}");
        assert!(line("nightjar_collector_sensor_state{sensor=\"kobe-1\",state=\"silent\"} 1"), "{text}");
        assert!(line("nightjar_collector_sensor_rows_stored_total{sensor=\"kobe-1\"} 0"), "{text}");
        assert!(!text.contains("last_seen_timestamp_seconds{sensor=\"kobe-1\""), "never heard from: {text}");
        assert!(!text.contains("gone-1"), "revoked sensors get no series: {text}");
        assert!(text.contains("# TYPE nightjar_collector_sensor_last_seen_timestamp_seconds gauge"), "{text}");
        assert!(text.contains("# UNIT nightjar_collector_sensor_last_seen_timestamp_seconds seconds"), "{text}");
    }
}
