//! The SQL that rolls one day of `packets` up into each rollup table (`schemas/rollups-v1.md`).
//!
//! Each statement reads the `day` partitions listed and returns `day` first, then the table's
//! columns, ordered by `day`: the writer cuts the rows into days and writes each day's rows
//! without `day` (the partition value of the file they go to). Risk flags are built from the per-packet
//! conditions of `nightjar_risk` ([`nightjar_risk::packet_condition`]), never restated here.

use std::fmt::Write as _;

use chrono::NaiveDate;
use nightjar_risk::{Taxonomy, packet_condition, rollup_flag_column};

fn day_filter(days: &[NaiveDate]) -> String {
    let listed: Vec<String> = days.iter().map(|day| format!("DATE '{}'", day.format("%Y-%m-%d"))).collect();
    format!("day IN ({})", listed.join(", "))
}

/// `source_days` of `days`: one row per source and attribution (country, ASN, AS name, research
/// label), with two flags per risk of `taxonomy` (its packets not likely spoofed, its
/// likely-spoofed packets).
pub fn source_days(days: &[NaiveDate], taxonomy: &Taxonomy) -> String {
    let mut sql = String::from(
        "SELECT day, src_ip, country, asn, as_name, research,
       min(time) AS first_seen,
       max(time) AS last_seen,
       count(*) AS packets,
       count(*) FILTER (WHERE spoof IS NOT NULL) AS spoofed_packets,
       sum(CAST(ip_len AS BIGINT)) AS bytes,
       count(DISTINCT dst_port) AS distinct_ports,
       count(DISTINCT dst_ip) AS distinct_destinations,
       array_sort(array_agg(DISTINCT sensor)) AS sensors,
       array_sort(array_agg(DISTINCT class)) AS classes,
       array_sort(array_agg(DISTINCT tool) FILTER (WHERE tool IS NOT NULL)) AS tools,
       array_sort(array_agg(DISTINCT spoof) FILTER (WHERE spoof IS NOT NULL)) AS spoof_signs",
    );
    for risk in taxonomy.risks() {
        let Some(condition) = packet_condition(&risk.slug) else { continue };
        let _ = write!(
            sql,
            ",\n       bool_or(spoof IS NULL AND {condition}) AS {},\n       bool_or(spoof IS NOT NULL AND {condition}) AS {}",
            rollup_flag_column(&risk.slug, false),
            rollup_flag_column(&risk.slug, true),
        );
    }
    let _ = write!(
        sql,
        "\nFROM packets\nWHERE {}\nGROUP BY day, src_ip, country, asn, as_name, research\nORDER BY day, country, src_ip",
        day_filter(days)
    );
    sql
}

/// `country_hours` of `days`: per hour, country and risk, the distinct sources and the packets
/// that showed it; research sources and likely-spoofed packets left out, and packets without a
/// country.
pub fn country_hours(days: &[NaiveDate], taxonomy: &Taxonomy) -> String {
    let mut sql = String::from("WITH flagged AS (\n  SELECT day, date_trunc('hour', time) AS hour, country, src_ip");
    let risks: Vec<(String, String)> = taxonomy
        .risks()
        .iter()
        .filter_map(|risk| packet_condition(&risk.slug).map(|condition| (risk.slug.clone(), condition)))
        .collect();
    for (slug, condition) in &risks {
        let _ = write!(sql, ",\n    {condition} AS {}", rollup_flag_column(slug, false));
    }
    let _ = write!(
        sql,
        "\n  FROM packets\n  WHERE {} AND country IS NOT NULL AND research IS NULL AND spoof IS NULL\n)",
        day_filter(days)
    );
    for (i, (slug, _)) in risks.iter().enumerate() {
        let union = if i == 0 { "\n" } else { "\nUNION ALL\n" };
        let _ = write!(
            sql,
            "{union}SELECT day, hour, country, '{slug}' AS risk, count(DISTINCT src_ip) AS sources, count(*) AS packets \
             FROM flagged WHERE {} GROUP BY day, hour, country",
            rollup_flag_column(slug, false)
        );
    }
    sql.push_str("\nORDER BY day, hour, country, risk");
    sql
}

/// `port_days` of `days`: per protocol and destination port, packets and distinct sources, of
/// every packet and of scans.
pub fn port_days(days: &[NaiveDate]) -> String {
    format!(
        "SELECT day, protocol, dst_port,
       count(*) AS packets,
       count(DISTINCT src_ip) AS sources,
       count(*) FILTER (WHERE class = 'scan') AS scan_packets,
       count(DISTINCT CASE WHEN class = 'scan' THEN src_ip END) AS scan_sources
FROM packets
WHERE {} AND dst_port IS NOT NULL
GROUP BY day, protocol, dst_port
ORDER BY day, protocol, dst_port",
        day_filter(days)
    )
}

/// How many packets each day's `source_days` rows stand for: what a day's rollup is compared
/// with to know whether it is current.
pub const ROLLED_UP_PACKETS: &str = "SELECT day, CAST(sum(packets) AS BIGINT) AS packets FROM source_days GROUP BY day";
