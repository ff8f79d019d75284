use nightjar_packet::SkipReason;

use super::*;

fn busy_metrics() -> Metrics {
    let metrics = Metrics::default();
    let mut ingest = IngestCounters { frames: 10, kept: 6, filtered_outside_dark: 2, ..IngestCounters::default() };
    ingest.skipped.add(SkipReason::NotIp);
    ingest.skipped.add(SkipReason::TruncatedTcpHeader);
    metrics.publish_ingest(&ingest);
    metrics.capture_skip("pcap_record_truncated");
    metrics.spooled_bytes.inc_by(4096);
    metrics.uploaded_rows.inc_by(6);
    metrics.spool_bytes.set(512);
    metrics.uplink_stopped.set(1);
    metrics.batch_refused(Refusal::Forbidden);
    metrics
}

#[test]
fn every_series_is_exposed_under_its_conventional_name() {
    let text = busy_metrics().render();
    let line = |needle: &str| text.lines().any(|l| l == needle);
    for sample in [
        "nightjar_sensor_captured_frames_total 10",
        "nightjar_sensor_kept_packets_total 6",
        "nightjar_sensor_not_ip_frames_total 1",
        "nightjar_sensor_malformed_frames_total 1",
        "nightjar_sensor_filtered_packets_total{reason=\"outside_dark\"} 2",
        "nightjar_sensor_filtered_packets_total{reason=\"own_address\"} 0",
        "nightjar_sensor_skipped_frames_total{reason=\"pcap_record_truncated\"} 1",
        "nightjar_sensor_spooled_bytes_total 4096",
        "nightjar_sensor_uploaded_rows_total 6",
        "nightjar_sensor_closed_batches_total 0",
        "nightjar_sensor_spool_bytes 512",
        "nightjar_sensor_uplink_stopped 1",
        "nightjar_sensor_collector_refusals_total{request=\"batch\",reason=\"forbidden\"} 1",
        "nightjar_sensor_collector_refusals_total{request=\"heartbeat\",reason=\"unauthorized\"} 0",
        "# HELP nightjar_sensor_spooled_bytes Bytes written to the spool.",
        "# HELP nightjar_sensor_kept_packets Packets kept as records.",
        "# TYPE nightjar_sensor_spooled_bytes counter",
        "# UNIT nightjar_sensor_spooled_bytes bytes",
        "# TYPE nightjar_sensor_uptime_seconds gauge",
        "# UNIT nightjar_sensor_uptime_seconds seconds",
        "# EOF",
    ] {
        assert!(line(sample), "{sample} in\n{text}");
    }
    assert!(text.contains("\nnightjar_sensor_uptime_seconds "), "{text}");
}

#[test]
fn the_heartbeat_counters_carry_the_sample_names() {
    let snapshot = busy_metrics().snapshot();
    let flat = snapshot.flat();
    assert_eq!(flat["kept_packets_total"], 6, "the collector's stall rule reads this name: {flat:?}");
    assert_eq!(flat["captured_frames_total"], 10);
    assert_eq!(flat["spooled_bytes_total"], 4096);
    assert_eq!(flat["spool_bytes"], 512);
    assert_eq!(flat["uplink_stopped"], 1);
    assert_eq!(flat["collector_refusals_batch_forbidden_total"], 1);
    assert_eq!(flat["skipped_pcap_record_truncated"], 1);
    assert!(flat.contains_key("uptime_seconds"), "{flat:?}");
    assert_eq!((snapshot.refused(), snapshot.refused_batches_forbidden), (1, 1));
}

#[test]
fn the_summary_keeps_its_lines() {
    let summary = busy_metrics().snapshot().summary();
    let line = |start: &str| summary.lines().find(|l| l.starts_with(start)).unwrap_or_default().to_string();
    assert_eq!(line("packets kept"), format!("packets kept       {:>12}", 6));
    assert!(line("upload conflicts").ends_with("(uploading stopped: sequence numbers reused; see the log)"));
    assert_eq!(line("left in spool"), format!("left in spool      {:>12} (512 bytes)", 0));
}
