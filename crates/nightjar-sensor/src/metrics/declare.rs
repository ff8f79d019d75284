//! [`sensor_series!`]: the one place a counter or gauge of the sensor is
//! declared.

/// Declares the sensor's counters and gauges, each once as
/// `/// doc` `field: Counter("name"[, Unit]);` (or `Gauge`), the doc's first
/// paragraph being the series' help text.
///
/// From that list it makes [`Metrics`](super::Metrics) (a prometheus-client
/// metric per entry, which components bump), its registration under the
/// `nightjar_sensor_` prefix, [`MetricsSnapshot`](super::MetricsSnapshot)
/// (a `u64` per entry beside the capture thread's counters, which
/// [`ingest`](super::ingest) fills), and the entries' heartbeat names.
macro_rules! sensor_series {
    (@unit) => { None };
    (@unit $unit:ident) => { Some(Unit::$unit) };
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $kind:ident($name:literal $(, $unit:ident)?);
    )+) => {
        /// The shared counters of one running sensor.
        #[derive(Debug)]
        pub struct Metrics {
            registry: Registry,
            ingest: Arc<IngestShared>,
            refusals: Family<RefusalLabels, Counter>,
            $( $(#[doc = $doc])+ pub $field: $kind, )+
        }

        impl Default for Metrics {
            fn default() -> Self {
                let mut registry = Registry::with_prefix(PREFIX);
                let ingest = Arc::new(IngestShared::default());
                registry.register_collector(Box::new(Arc::clone(&ingest)));
                let refusals = Family::<RefusalLabels, Counter>::default();
                for labels in REFUSAL_LABELS {
                    drop(refusals.get_or_create(&labels));
                }
                registry.register(
                    "collector_refusals",
                    "Requests the collector refused (401 unauthorized, 403 forbidden), by request and reason",
                    refusals.clone(),
                );
                $(
                    let $field = $kind::default();
                    let series_help = declare::help(&[$($doc),+]);
                    match sensor_series!(@unit $($unit)?) {
                        Some(unit) => registry.register_with_unit($name, series_help, unit, $field.clone()),
                        None => registry.register($name, series_help, $field.clone()),
                    }
                )+
                Metrics { registry, ingest, refusals, $($field,)+ }
            }
        }

        impl Metrics {
            /// A consistent-enough copy of every counter.
            pub fn snapshot(&self) -> MetricsSnapshot {
                let [batch_unauthorized, batch_forbidden, heartbeat_unauthorized, heartbeat_forbidden] =
                    REFUSAL_LABELS.map(|labels| self.refusals.get_or_create(&labels).get());
                let mut snapshot = MetricsSnapshot {
                    refused_batches_unauthorized: batch_unauthorized,
                    refused_batches_forbidden: batch_forbidden,
                    refused_heartbeats_unauthorized: heartbeat_unauthorized,
                    refused_heartbeats_forbidden: heartbeat_forbidden,
                    $( $field: self.$field.get(), )+
                    ..MetricsSnapshot::default()
                };
                self.ingest.fill(&mut snapshot);
                snapshot
            }
        }

        /// Every counter at one moment.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct MetricsSnapshot {
            /// Seconds since the sensor started.
            pub uptime_s: u64,
            /// Frames read from the interface or files.
            pub captured: u64,
            /// Records made (destination dark, source neither dark nor own).
            pub kept: u64,
            /// Decoded packets whose destination is outside the dark prefixes.
            pub filtered_outside_dark: u64,
            /// Decoded packets whose source is inside the dark prefixes.
            pub filtered_source_dark: u64,
            /// Decoded packets from the sensor's own addresses.
            pub filtered_own_address: u64,
            /// Well-formed frames that carry no IP (ARP, LLDP…).
            pub not_ip: u64,
            /// Broken frames (every skip reason but `not_ip`).
            pub malformed: u64,
            /// Frames and capture-file records skipped, by reason.
            pub skipped: BTreeMap<String, u64>,
            /// Uploads the collector refused with 401 (unknown or revoked token).
            pub refused_batches_unauthorized: u64,
            /// Uploads the collector refused with 403 (the token belongs to another sensor id).
            pub refused_batches_forbidden: u64,
            /// Heartbeats the collector refused with 401.
            pub refused_heartbeats_unauthorized: u64,
            /// Heartbeats the collector refused with 403.
            pub refused_heartbeats_forbidden: u64,
            $( $(#[doc = $doc])+ pub $field: u64, )+
        }

        impl MetricsSnapshot {
            /// `(sample name without the prefix, value)` of every declared
            /// series, as Prometheus shows it (`_total` on counters).
            fn declared(&self) -> Vec<(String, u64)> {
                vec![$(
                    (
                        sample_name($name, sensor_series!(@unit $($unit)?), <$kind as TypedMetric>::TYPE),
                        self.$field,
                    ),
                )+]
            }
        }
    };
}

pub(super) use sensor_series;

/// A series' help text from the lines of its doc comment: the first paragraph
/// on one line, without its closing period (the exposition adds one).
pub(super) fn help(doc_lines: &[&str]) -> String {
    let paragraph: Vec<&str> = doc_lines.iter().map(|line| line.trim()).take_while(|line| !line.is_empty()).collect();
    paragraph.join(" ").trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::help;

    #[test]
    fn the_help_is_the_first_paragraph_on_one_line() {
        assert_eq!(
            help(&[" Bytes written", " to the spool.", "", " Batch files, headers included."]),
            "Bytes written to the spool"
        );
        assert_eq!(help(&[" 1 when stopped, else 0."]), "1 when stopped, else 0");
    }
}
