//! The indicator SQL: what an analyst reads with `nightjar risk --show-sql`.
//!
//! One query per report, over the `packets` table of the query layer:
//! 1. `packet_flags`: the rows of the requested days (a filter on the `day`
//!    partition column, so other days' files are never opened), minus research
//!    scanners and likely-spoofed packets unless asked, with one boolean per
//!    packet risk (see [`crate::predicate`]);
//! 2. `risk_flags`: the risks defined by the others (`other-scan`);
//! 3. `source_flags`: one row per period, country (or ASN) and source, with
//!    `bool_or` of each flag — whether the source showed that risk at all in
//!    the period, so a source seen on three days of a week is one row;
//! 4. per period and country (or ASN), the number of those rows with each
//!    flag set: the distinct sources. (The same numbers as
//!    `count(DISTINCT CASE WHEN flag THEN src_ip END)`, several times faster
//!    on 16-byte addresses.)

use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::Serialize;

use crate::period::PeriodKind;
use crate::predicate::{Predicate, predicate};
use crate::taxonomy::{Risk, column_name};

/// What a table is per: country or autonomous system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grouping {
    /// ISO 3166-1 alpha-2 country attached at ingest.
    Country,
    /// Autonomous system number attached at ingest.
    Asn,
}

impl Grouping {
    /// `country` or `asn`: the column grouped by.
    pub fn name(self) -> &'static str {
        match self {
            Grouping::Country => "country",
            Grouping::Asn => "asn",
        }
    }
}

/// Which sources and packets are left out of the counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Exclusions {
    /// Leave out sources in the research-scanner list (`research IS NOT NULL`). Default: yes.
    pub research: bool,
    /// Leave out packets classed as likely spoofed (`spoof IS NOT NULL`). Default: yes.
    pub spoofed: bool,
}

impl Default for Exclusions {
    fn default() -> Self {
        Exclusions { research: true, spoofed: true }
    }
}

impl Exclusions {
    /// In words, for output headers: `research scanners excluded; likely-spoofed packets excluded`.
    pub fn describe(&self) -> String {
        let state = |excluded: bool| if excluded { "excluded" } else { "included" };
        format!("research scanners {}; likely-spoofed packets {}", state(self.research), state(self.spoofed))
    }
}

/// One indicator query: which days, per what, which risks, which exclusions.
#[derive(Clone, Debug)]
pub struct IndicatorQuery {
    /// Period length the counts are distinct over.
    pub kind: PeriodKind,
    /// First day (UTC), inclusive.
    pub from: NaiveDate,
    /// Last day (UTC), inclusive.
    pub to: NaiveDate,
    /// Per country or per ASN.
    pub by: Grouping,
    /// The risks to count (each must have a predicate).
    pub risks: Vec<Risk>,
    /// What is left out.
    pub exclusions: Exclusions,
}

fn date(day: NaiveDate) -> String {
    format!("DATE '{}'", day.format("%Y-%m-%d"))
}

fn flag(slug: &str) -> String {
    format!("is_{}", column_name(slug))
}

/// The slugs whose flags a risk's count reads: its parts for a combined risk
/// (`any`), else its own.
fn flags_read(risk: &Risk) -> Vec<&str> {
    match predicate(&risk.slug) {
        Some(Predicate::AnyOf(parts)) => parts.to_vec(),
        _ => vec![risk.slug.as_str()],
    }
}

impl IndicatorQuery {
    /// The grouping columns of an aggregate over `risk_flags` or
    /// `source_flags`, each line indented by `indent`, ending in a comma.
    fn grouped_columns(&self, indent: &str) -> String {
        match self.by {
            Grouping::Country => format!("{indent}country,"),
            Grouping::Asn => format!("{indent}asn,\n{indent}max(as_name) AS as_name,"),
        }
    }

    /// The `WHERE` line that selects the days (and so prunes `day=` folders).
    fn days_filter(&self) -> String {
        format!("day BETWEEN {} AND {}", date(self.from), date(self.to))
    }

    /// The indicator SQL: columns `period_start` (date), `country` (or `asn`
    /// and `as_name`), then one `count(DISTINCT src_ip)` column per risk,
    /// named by its slug.
    pub fn sql(&self, every_risk: &[Risk]) -> String {
        let mut sql = String::new();
        let group = self.by.name();
        let _ = writeln!(
            sql,
            "-- Nightjar risk indicators (schemas/risks.csv): distinct source addresses per {group} and {},",
            self.kind
        );
        let _ = writeln!(sql, "-- {} to {}; {}.", self.from, self.to, self.exclusions.describe());
        let _ = writeln!(sql, "WITH packet_flags AS (");
        let _ = writeln!(sql, "  SELECT");
        let _ = writeln!(sql, "    {} AS period_start,", self.kind.sql_start());
        match self.by {
            Grouping::Country => {
                let _ = writeln!(sql, "    country,");
            }
            Grouping::Asn => {
                let _ = writeln!(sql, "    asn,\n    as_name,");
            }
        }
        let _ = writeln!(sql, "    src_ip,\n    class,");
        let packet_risks: Vec<(&Risk, &str)> = every_risk
            .iter()
            .filter_map(|r| match predicate(&r.slug) {
                Some(Predicate::Packet(condition)) => Some((r, condition)),
                _ => None,
            })
            .collect();
        for (i, (risk, condition)) in packet_risks.iter().enumerate() {
            let comma = if i + 1 == packet_risks.len() { "" } else { "," };
            let _ = writeln!(sql, "    -- {} {}: {}", risk.id, risk.slug, risk.rule);
            let _ = writeln!(sql, "    coalesce({condition}, false) AS {}{comma}", flag(&risk.slug));
        }
        let _ = writeln!(sql, "  FROM packets");
        let _ = writeln!(sql, "  WHERE {}", self.days_filter());
        let _ = writeln!(sql, "    AND {group} IS NOT NULL");
        if self.exclusions.research {
            let _ = writeln!(
                sql,
                "    AND research IS NULL  -- research scanners left out (--include-research keeps them)"
            );
        }
        if self.exclusions.spoofed {
            let _ = writeln!(
                sql,
                "    AND spoof IS NULL  -- likely-spoofed packets left out (--include-spoofed keeps them)"
            );
        }
        let _ = writeln!(sql, "),\nrisk_flags AS (\n  SELECT");
        let _ = write!(sql, "    *");
        for risk in every_risk {
            if let Some(Predicate::ScanNotIn(others)) = predicate(&risk.slug) {
                let others: Vec<String> = others.iter().map(|s| flag(s)).collect();
                let _ = write!(sql, ",\n    -- {} {}: {}", risk.id, risk.slug, risk.rule);
                let _ = write!(sql, "\n    class = 'scan' AND NOT ({}) AS {}", others.join(" OR "), flag(&risk.slug));
            }
        }
        let _ = writeln!(sql, "\n  FROM packet_flags\n),");
        // Which flags the requested risks read, in taxonomy order.
        let needed: Vec<&Risk> = every_risk
            .iter()
            .filter(|flagged| self.risks.iter().any(|risk| flags_read(risk).contains(&flagged.slug.as_str())))
            .collect();
        let _ = writeln!(
            sql,
            "-- one row per source: which risks it showed in the period (counting rows is cheaper than count(DISTINCT))"
        );
        let _ = writeln!(sql, "source_flags AS (\n  SELECT\n    period_start,");
        let _ = writeln!(sql, "{}", self.grouped_columns("    "));
        let _ = write!(sql, "    src_ip");
        for risk in &needed {
            let _ = write!(sql, ",\n    bool_or({0}) AS {0}", flag(&risk.slug));
        }
        let _ = writeln!(sql, "\n  FROM risk_flags\n  GROUP BY period_start, {group}, src_ip\n)");
        let _ = writeln!(sql, "SELECT");
        let _ = writeln!(sql, "  period_start,");
        let _ = writeln!(sql, "{}", self.grouped_columns("  "));
        for (i, risk) in self.risks.iter().enumerate() {
            let comma = if i + 1 == self.risks.len() { "" } else { "," };
            let condition = flags_read(risk).iter().map(|s| flag(s)).collect::<Vec<_>>().join(" OR ");
            let _ = writeln!(sql, "  count(*) FILTER (WHERE {condition}) AS \"{}\"{comma}", risk.slug);
        }
        let _ = writeln!(sql, "FROM source_flags");
        let _ = writeln!(sql, "GROUP BY period_start, {group}");
        let _ = write!(sql, "ORDER BY period_start, {group}");
        sql
    }

    /// The coverage SQL: per period, the sensors that sent rows and the
    /// distinct destination addresses (the dark addresses observed; as
    /// stored, so after any privacy transform at the sensor). Over every
    /// packet of the days, whatever the exclusions.
    pub fn coverage_sql(&self) -> String {
        format!(
            "-- Coverage: sensors and distinct dark (destination) addresses seen per {kind}, all packets.\n\
             SELECT\n  {start} AS period_start,\n  count(DISTINCT sensor) AS sensors,\n  \
             count(DISTINCT dst_ip) AS dark_addresses\n\
             FROM packets\nWHERE {days}\nGROUP BY period_start\nORDER BY period_start",
            kind = self.kind,
            start = self.kind.sql_start(),
            days = self.days_filter(),
        )
    }
}
