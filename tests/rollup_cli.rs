//! `nightjar rollup`: the rollup tables hold what the packets say (each checked against SQL over
//! `packets` written here, apart from the writer's), a second run finds every day current, a
//! late batch for a past day rewrites that day only, and `nightjar sql` lists the tables.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::risk_data::{Traffic, generate_and_import, nightjar};

/// `nightjar sql --format jsonl -c SQL` over `data`: its lines, as a set.
fn rows(data: &Path, sql: &str) -> BTreeSet<String> {
    let out = nightjar(&["sql", "--data", data.to_str().expect("UTF-8"), "--format", "jsonl", "-c", sql]);
    out.lines().map(str::to_owned).collect()
}

/// Both queries give the same rows; `what` names the comparison.
fn same_rows(data: &Path, what: &str, ours: &str, theirs: &str) {
    let (ours, theirs) = (rows(data, ours), rows(data, theirs));
    assert!(!ours.is_empty(), "{what}: no rows");
    let missing: Vec<&String> = theirs.difference(&ours).take(5).collect();
    let extra: Vec<&String> = ours.difference(&theirs).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{what}: rollup lacks {missing:#?}\nrollup has extra {extra:#?}");
}

/// The per-packet rules of a few risks, written out here (not taken from the code under test).
const SSH: &str = "class = 'scan' AND protocol = 6 AND dst_port IN (22, 2222)";
const MIRAI: &str = "class = 'scan' AND protocol = 6 AND tool = 'mirai'";
const AMPLIFIER: &str =
    "class = 'scan' AND protocol = 17 AND dst_port IN (53, 123, 161, 1900, 19, 11211, 389, 3702, 5683, 17)";
const VICTIM: &str = "class = 'backscatter'";

/// Every rollup table against SQL over `packets`.
fn rollups_match_packets(data: &Path) {
    let flags = |spoofed: &str| {
        [("ssh", SSH), ("mirai", MIRAI), ("amplifier_probe", AMPLIFIER), ("ddos_victim", VICTIM)]
            .iter()
            .map(|(name, rule)| {
                format!(
                    "bool_or(spoof IS NULL AND coalesce({rule}, false)) AS risk_{name}, \
                     bool_or(spoof IS NOT NULL AND coalesce({rule}, false)) AS risk_{name}_spoofed{spoofed}"
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    same_rows(
        data,
        "source_days",
        "SELECT day, src_ip, country, asn, as_name, research, first_seen, last_seen, packets, spoofed_packets, bytes, \
         distinct_ports, distinct_destinations, sensors, classes, tools, spoof_signs, \
         risk_ssh, risk_ssh_spoofed, risk_mirai, risk_mirai_spoofed, risk_amplifier_probe, risk_amplifier_probe_spoofed, \
         risk_ddos_victim, risk_ddos_victim_spoofed FROM source_days",
        &format!(
            "SELECT day, src_ip, country, asn, as_name, research, min(time) AS first_seen, max(time) AS last_seen, \
             count(*) AS packets, sum(CASE WHEN spoof IS NULL THEN 0 ELSE 1 END) AS spoofed_packets, \
             sum(ip_len) AS bytes, count(DISTINCT dst_port) AS distinct_ports, \
             count(DISTINCT dst_ip) AS distinct_destinations, array_sort(array_agg(DISTINCT sensor)) AS sensors, \
             array_sort(array_agg(DISTINCT class)) AS classes, \
             array_sort(array_agg(DISTINCT tool) FILTER (WHERE tool IS NOT NULL)) AS tools, \
             array_sort(array_agg(DISTINCT spoof) FILTER (WHERE spoof IS NOT NULL)) AS spoof_signs, {} \
             FROM packets GROUP BY day, src_ip, country, asn, as_name, research",
            flags("")
        ),
    );
    // Every packet is in exactly one source_days row.
    same_rows(
        data,
        "packets per day",
        "SELECT day, sum(packets) AS packets FROM source_days GROUP BY day",
        "SELECT day, count(*) AS packets FROM packets GROUP BY day",
    );
    same_rows(
        data,
        "port_days",
        "SELECT day, protocol, dst_port, packets, sources, scan_packets, scan_sources FROM port_days",
        "SELECT day, protocol, dst_port, packets, sources, scan_packets, scan_sources FROM port_activity",
    );
    for (slug, rule) in [("mirai", MIRAI), ("ddos-victim", VICTIM), ("ssh", SSH)] {
        same_rows(
            data,
            &format!("country_hours of {slug}"),
            &format!("SELECT day, hour, country, sources, packets FROM country_hours WHERE risk = '{slug}'"),
            &format!(
                "SELECT day, date_trunc('hour', time) AS hour, country, count(DISTINCT src_ip) AS sources, \
                 count(*) AS packets FROM packets \
                 WHERE {rule} AND research IS NULL AND spoof IS NULL AND country IS NOT NULL \
                 GROUP BY day, date_trunc('hour', time), country"
            ),
        );
    }
}

fn rollups_hold_what_the_packets_say_and_follow_a_late_batch() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let traffic =
        Traffic { packets: 6_000, seed: 5, start: "2026-11-21", seconds: 3 * 86_400, dark_prefixes: &["192.0.2.0/24"] };
    let data = generate_and_import(work.path(), &traffic, &[]);
    let data_text = data.to_str().expect("UTF-8");

    let listed = nightjar(&["sql", "--data", data_text, "-c", "\\d"]);
    assert!(!listed.contains("source_days"), "no rollups before the first run:\n{listed}");
    let first = nightjar(&["rollup", "--data", data_text]);
    assert!(first.contains("3 of 3 days rolled up"), "{first}");
    assert!(first.contains("2026-11-22: rolled up") && first.contains("(new)"), "{first}");
    let listed = nightjar(&["sql", "--data", data_text, "-c", "\\d"]);
    for table in ["source_days", "country_hours", "port_days"] {
        assert!(listed.contains(table), "{table} missing from \\d:\n{listed}");
    }
    assert!(data.join("_rollups/source_days/_delta_log").is_dir());
    rollups_match_packets(&data);
    // The spoofed flags are exercised: generated traffic has likely-spoofed packets.
    let spoofed = rows(&data, "SELECT count(*) AS n FROM source_days WHERE spoofed_packets > 0");
    assert!(!spoofed.contains("{\"n\":0}"), "{spoofed:?}");

    let second = nightjar(&["rollup", "--data", data_text]);
    assert!(second.contains("0 of 3 days rolled up") && second.contains("2026-11-21: current"), "{second}");

    // A late batch for 2026-11-22: that day alone is rolled up again.
    let late = Traffic { packets: 500, seed: 9, start: "2026-11-22", seconds: 3_600, dark_prefixes: &["192.0.2.0/24"] };
    let late_work = work.path().join("late");
    std::fs::create_dir_all(&late_work).expect("a folder");
    let pcap = late_work.join("late.pcap");
    let (packets, seed, seconds) = (late.packets.to_string(), late.seed.to_string(), late.seconds.to_string());
    let pcap_text = pcap.to_str().expect("UTF-8");
    nightjar(&[
        "generate",
        "--out",
        pcap_text,
        "--packets",
        &packets,
        "--seed",
        &seed,
        "--start",
        late.start,
        "--duration",
        &seconds,
    ]);
    nightjar(&["import", pcap_text, "--data", data_text, "--quiet"]);
    let third = nightjar(&["rollup", "--data", data_text]);
    assert!(third.contains("1 of 3 days rolled up"), "{third}");
    assert!(third.contains("2026-11-22: rolled up") && third.contains("stood for"), "{third}");
    rollups_match_packets(&data);
    // Only the named day, and not today (incomplete).
    let today = chrono::Utc::now().date_naive().to_string();
    let named = nightjar(&["rollup", "--data", data_text, "--day", "2026-11-21", "--day", &today]);
    assert!(named.contains("0 of 2 days rolled up") && named.contains("not complete yet"), "{named}");
}

/// `nightjar risk --format json` over `data` for `args`: its document.
fn risk_json(data: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["risk", "--data", data, "--format", "json", "--by", "asn", "--k", "1"];
    all.extend(args);
    serde_json::from_str(&nightjar(&all)).expect("risk prints JSON")
}

fn risk_counts_from_current_rollups_and_from_them_alone_once_packets_are_removed() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let traffic =
        Traffic { packets: 6_000, seed: 8, start: "2026-11-21", seconds: 3 * 86_400, dark_prefixes: &["192.0.2.0/24"] };
    let data = generate_and_import(work.path(), &traffic, &[]);
    let data_text = data.to_str().expect("UTF-8");
    let range = ["--period", "day", "--from", "2026-11-21", "--to", "2026-11-22"];
    let version = || {
        nightjar_test_kit::harness::block_on(async {
            let location = nightjar_dataset::TableLocation::parse(data_text).expect("a location");
            let table = nightjar_dataset::PacketTable::open(&location, &nightjar_dataset::AsOf::Latest).await;
            table.expect("a table").version().to_string()
        })
    };
    // No rollups yet: packets.
    let before = risk_json(data_text, &range);
    assert_eq!(before["counted_from"], "packets");
    nightjar(&["rollup", "--data", data_text]);
    let rolled = risk_json(data_text, &range);
    assert_eq!(rolled["counted_from"], "rollups");
    assert_eq!(rolled["rows"], before["rows"], "the same rows from rollups as from packets");
    assert!(rolled["rows"].as_array().is_some_and(|rows| rows.len() > 50), "{}", rolled["rows"]);
    // --as-of reads the packets of that version.
    let pinned = risk_json(data_text, &[&range[..], &["--as-of", &version()]].concat());
    assert_eq!(pinned["counted_from"], "packets");
    assert_eq!(pinned["rows"], rolled["rows"]);
    let sql = nightjar(&[&["risk", "--data", data_text, "--show-sql"][..], &range].concat());
    assert!(sql.starts_with("-- counted from the source_days rollup"), "{sql}");
    assert!(sql.contains("FROM source_days") && sql.contains("packets > spoofed_packets"), "{sql}");
    let text = nightjar(&[&["risk", "--data", data_text][..], &range].concat());
    assert!(text.contains("# counted from the source_days rollup"), "{text}");

    // The packets of 2026-11-21 and 2026-11-22 leave the table (a retention commit and a vacuum).
    nightjar_test_kit::harness::block_on(async {
        let location = nightjar_dataset::TableLocation::parse(data_text).expect("a location");
        let mut table =
            nightjar_dataset::PacketTable::open(&location, &nightjar_dataset::AsOf::Latest).await.expect("a table");
        let expired = table.expire_before("2026-11-23".parse().expect("a date")).await.expect("expired");
        assert_eq!(expired.days, ["2026-11-21", "2026-11-22"]);
        table.vacuum(chrono::Duration::zero()).await.expect("vacuumed");
    });
    let packets_left = rows(&data, "SELECT count(*) AS n FROM packets WHERE day < DATE '2026-11-23'");
    assert!(packets_left.contains("{\"n\":0}"), "{packets_left:?}");
    let after = risk_json(data_text, &range);
    assert_eq!(after["counted_from"], "rollups");
    assert_eq!(after["rows"], before["rows"], "the removed days' indicators are kept");
    let sensors: Vec<u64> = after["coverage"]
        .as_array()
        .expect("coverage")
        .iter()
        .map(|c| c["sensors"].as_u64().expect("sensors"))
        .collect();
    assert_eq!(sensors, [1, 1], "the sensors of the removed days come from the rollups");
    let kept = nightjar(&["rollup", "--data", data_text, "--day", "2026-11-21"]);
    assert!(kept.contains("2026-11-21: no packets in the table; rollups kept"), "{kept}");
    let still = rows(&data, "SELECT count(*) AS n FROM source_days WHERE day = DATE '2026-11-21'");
    assert!(!still.contains("{\"n\":0}"), "{still:?}");
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(rollups_hold_what_the_packets_say_and_follow_a_late_batch),
        trial!(risk_counts_from_current_rollups_and_from_them_alone_once_packets_are_removed),
    ]
}
