//! Periods say what they cover: on a dataset of a day and a half (2026-11-21 whole, 2026-11-22
//! until noon, as when today's data is still arriving), `nightjar risk` marks the month and the
//! last day partial with their real days in every format, and `nightjar publish` puts the latest
//! complete day on its front page, labels a partial month with its days, and draws the partial
//! day apart from the line instead of as a drop.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::risk_data::{DARK_PREFIXES, Traffic, generate_and_import, nightjar};

/// 20,000 packets from 2026-11-21 00:00 over 36 hours: the 22nd stops at noon.
fn day_and_a_half(work: &Path) -> PathBuf {
    let traffic =
        Traffic { packets: 20_000, seed: 5, start: "2026-11-21", seconds: 129_600, dark_prefixes: &DARK_PREFIXES[..1] };
    generate_and_import(work, &traffic, &[])
}

/// A CSV table without quoted cells (country and coverage tables) as header → value maps.
fn csv_rows(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    lines.map(|line| header.iter().map(|h| h.to_string()).zip(line.split(',').map(str::to_string)).collect()).collect()
}

fn risk_marks_partial_periods_with_their_days_in_every_format() {
    let work = tempfile::tempdir().unwrap();
    let data = day_and_a_half(work.path());
    let data = data.to_str().unwrap();

    let json: Value =
        serde_json::from_str(&nightjar(&["risk", "--data", data, "--period", "month", "--format", "json"])).unwrap();
    assert_eq!(json["last_day_incomplete"], true, "the 22nd stops at noon");
    let coverage = &json["coverage"][0];
    assert_eq!(
        (&coverage["period"], &coverage["first_day"], &coverage["last_day"], &coverage["partial"]),
        (&Value::from("2026-11"), &Value::from("2026-11-21"), &Value::from("2026-11-22"), &Value::from(true))
    );
    let rows = json["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r["partial"] == true && r["first_day"] == "2026-11-21" && r["last_day"] == "2026-11-22")
    );

    let days: Value =
        serde_json::from_str(&nightjar(&["risk", "--data", data, "--period", "day", "--format", "json"])).unwrap();
    let partial: Vec<(&str, bool)> = days["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["period"].as_str().unwrap(), c["partial"].as_bool().unwrap()))
        .collect();
    assert_eq!(partial, [("2026-11-21", false), ("2026-11-22", true)], "only the incomplete day is partial");

    let csv = nightjar(&["risk", "--data", data, "--period", "day", "--format", "csv"]);
    let rows = csv_rows(&csv);
    assert!(rows.iter().any(|r| r["period"] == "2026-11-21" && r["partial"] == "false"), "{csv}");
    assert!(rows.iter().filter(|r| r["period"] == "2026-11-22").all(|r| r["partial"] == "true"), "{csv}");

    let table = nightjar(&["risk", "--data", data, "--period", "week"]);
    // 2026-11-21 is a Saturday: week 47 is cut to its last two days.
    assert!(table.contains("# coverage 2026-W47 (partial: 2026-11-21 to 2026-11-22)"), "{table}");
    assert!(table.contains("# 2026-11-22 is incomplete"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("period") && l.contains("partial")), "{table}");
}

fn publish_shows_the_latest_complete_period_and_marks_the_partial_day() {
    let work = tempfile::tempdir().unwrap();
    let data = day_and_a_half(work.path());
    let data = data.to_str().unwrap();
    let site = work.path().join("site");

    let out = nightjar(&["publish", "--data", data, "--out", site.to_str().unwrap(), "--period", "day", "-q"]);
    assert!(out.contains("front page period: 2026-11-21\n"), "the 22nd is incomplete:\n{out}");
    let index = fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains("by country, 2026-11-21</h1>"), "{index}");
    assert!(index.contains("The latest period, 2026-11-22 (partial: 2026-11-22 only), is partial"), "{index}");
    let coverage = csv_rows(&fs::read_to_string(site.join("data/coverage-day.csv")).unwrap());
    let marks: Vec<(&str, &str)> = coverage.iter().map(|c| (c["period"].as_str(), c["partial"].as_str())).collect();
    assert_eq!(marks, [("2026-11-21", "false"), ("2026-11-22", "true")]);

    // Every country chart draws the 22nd as an open circle off the line, and says why.
    let country = fs::read_to_string(site.join("country-US.html")).unwrap();
    assert!(country.contains("2026-11-22 is partial (data still arriving)"), "{country}");
    let charts: Vec<&str> = country.split("<svg class=\"chart\"").skip(1).collect();
    assert_eq!(charts.len(), 12, "one chart per risk");
    for chart in charts {
        let circles = chart.matches("<circle").count();
        assert_eq!(circles, 2, "{chart}");
        assert!(chart.contains("class=\"partial\"><title>2026-11-22"), "the 22nd is marked partial: {chart}");
        assert!(!chart.contains("<polyline"), "one complete day draws no line down to the partial one: {chart}");
    }

    // A month of a day and a half: labelled with its days, marked partial.
    let month_site = work.path().join("month");
    let out = nightjar(&["publish", "--data", data, "--out", month_site.to_str().unwrap(), "--period", "month", "-q"]);
    assert!(
        out.contains("front page period: 2026-11 (partial: 2026-11-21 to 2026-11-22) (no complete month has data yet)"),
        "{out}"
    );
    let index = fs::read_to_string(month_site.join("index.html")).unwrap();
    assert!(index.contains("by country, 2026-11 (partial: 2026-11-21 to 2026-11-22)</h1>"), "{index}");
    assert!(index.contains("<strong class=\"partial\">partial</strong>"), "{index}");
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(risk_marks_partial_periods_with_their_days_in_every_format),
        trial!(publish_shows_the_latest_complete_period_and_marks_the_partial_day),
    ]
}
