//! The end-of-run summary of the per-frame path, printed for people.

use std::fmt::Write as _;

use nightjar_packet::{Tool, TrafficClass};
use nightjar_record::IngestCounters;

/// A human-readable summary of ingest counters, one fact per line.
pub fn describe(counters: &IngestCounters, capture_skips: &[(String, u64)]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "frames read        {:>12}", counters.frames);
    let _ = writeln!(out, "records kept       {:>12}", counters.kept);
    for class in [TrafficClass::Scan, TrafficClass::Backscatter, TrafficClass::Other] {
        let _ = writeln!(out, "  {:<16} {:>12}", class.name(), counters.class(class));
    }
    for tool in [Tool::Mirai, Tool::Masscan, Tool::Zmap] {
        let _ = writeln!(out, "  tool {:<11} {:>12}", tool.name(), counters.tool(tool));
    }
    let _ = writeln!(out, "  likely spoofed   {:>12}", counters.spoofed);
    let _ = writeln!(out, "  research         {:>12}", counters.research);
    let _ = writeln!(out, "filtered           {:>12}", counters.filtered());
    if counters.filtered() > 0 {
        let _ = writeln!(out, "  outside dark     {:>12}", counters.filtered_outside_dark);
        let _ = writeln!(out, "  source in dark   {:>12}", counters.filtered_source_dark);
        let _ = writeln!(out, "  own address      {:>12}", counters.filtered_own_address);
    }
    let capture_skipped: u64 = capture_skips.iter().map(|(_, n)| n).sum();
    let _ = writeln!(out, "skipped            {:>12}", counters.skipped.total() + capture_skipped);
    for (reason, count) in counters.skipped.nonzero() {
        let _ = writeln!(out, "  {:<28} {:>12}", reason.name(), count);
    }
    for (reason, count) in capture_skips {
        let _ = writeln!(out, "  {:<28} {:>12}", reason, count);
    }
    out
}

/// `one` when `count` is 1, `many` otherwise: "1 sensor", "2 sensors", "0 files".
pub fn plural(count: u64, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 { one } else { many }
}
