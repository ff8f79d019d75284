//! The indicators from the `source_days` rollup (`schemas/rollups-v1.md`), and the names and
//! per-packet conditions of its risk flags.
//!
//! A `source_days` row is one source on one day under one attribution (country, ASN, AS name,
//! research label), with two flags per risk: whether one of its packets that is not likely
//! spoofed showed the risk (`risk_<slug>`), and whether one of its likely-spoofed packets did
//! (`risk_<slug>_spoofed`). A risk's count over a period is then the number of distinct
//! `src_ip` among the period's rows with the flag set — exactly the count over the packets, for
//! both exclusion switches:
//! - research sources excluded: the research label is part of the row's key, so the rows with
//!   `research IS NULL` hold exactly the packets with `research IS NULL`;
//! - likely-spoofed packets excluded: the rows that have a packet not likely spoofed
//!   (`packets > spoofed_packets`), with the flags of those packets (`risk_<slug>`); included:
//!   every row, a flag set when either flag is (`risk_<slug> OR risk_<slug>_spoofed`).
//!
//! The flag conditions come from [`crate::predicate::PREDICATES`], expanded here per packet
//! (`other-scan` is a scan packet no named scan risk flags; `any` is a packet any posed risk
//! flags), so the rollup writer and the packet SQL share one definition of every risk.

use std::fmt::Write as _;

use serde::Serialize;

use crate::predicate::{Predicate, predicate};
use crate::sql::{Grouping, IndicatorQuery};
use crate::taxonomy::{Risk, column_name};

/// The rollup table the indicators read.
pub const SOURCE_DAYS_TABLE: &str = "source_days";

/// Where an indicator report's counts come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountSource {
    /// The `packets` table ([`IndicatorQuery::sql`]).
    #[default]
    Packets,
    /// The `source_days` rollup ([`IndicatorQuery::rollup_sql`]): used when every day of the
    /// range has current rollups; the same counts, from far fewer rows.
    Rollups,
}

impl CountSource {
    /// In words, for output headers.
    pub fn describe(self) -> &'static str {
        match self {
            CountSource::Packets => "counted from the packets",
            CountSource::Rollups => "counted from the source_days rollup (every day's rollup is current)",
        }
    }
}

/// The `source_days` column of `slug`'s flag: `risk_<slug>` for packets not likely spoofed,
/// `risk_<slug>_spoofed` for likely-spoofed ones (`-` becomes `_`).
pub fn rollup_flag_column(slug: &str, spoofed: bool) -> String {
    let suffix = if spoofed { "_spoofed" } else { "" };
    format!("risk_{}{suffix}", column_name(slug))
}

/// The SQL condition (over the `packets` columns, never null) under which one packet shows the
/// risk `slug`; `None` for a slug without a predicate.
pub fn packet_condition(slug: &str) -> Option<String> {
    match predicate(slug)? {
        Predicate::Packet(condition) => Some(format!("coalesce({condition}, false)")),
        Predicate::ScanNotIn(others) => {
            let others: Option<Vec<String>> = others.iter().map(|other| packet_condition(other)).collect();
            Some(format!("coalesce(class = 'scan' AND NOT ({}), false)", others?.join(" OR ")))
        }
        Predicate::AnyOf(parts) => {
            let parts: Option<Vec<String>> = parts.iter().map(|part| packet_condition(part)).collect();
            Some(format!("({})", parts?.join(" OR ")))
        }
    }
}

impl IndicatorQuery {
    /// The indicator SQL over `source_days`: the same columns and rows as [`IndicatorQuery::sql`]
    /// over `packets`, for periods of whole days whose rollups are current.
    pub fn rollup_sql(&self) -> String {
        let group = self.by.name();
        let mut sql = String::new();
        let _ = writeln!(
            sql,
            "-- Nightjar risk indicators (schemas/risks.csv) from the source_days rollup: distinct source addresses per {group} and {},",
            self.kind
        );
        let _ = writeln!(sql, "-- {} to {}; {}.", self.from, self.to, self.exclusions.describe());
        let _ = writeln!(sql, "-- one row per source and period: which risks it showed on any of the period's days");
        let _ = writeln!(sql, "WITH source_flags AS (\n  SELECT\n    {} AS period_start,", self.kind.sql_start());
        match self.by {
            Grouping::Country => {
                let _ = writeln!(sql, "    country,");
            }
            Grouping::Asn => {
                let _ = writeln!(sql, "    asn,\n    max(as_name) AS as_name,");
            }
        }
        let _ = write!(sql, "    src_ip");
        for risk in &self.risks {
            let mut flag = rollup_flag_column(&risk.slug, false);
            if !self.exclusions.spoofed {
                flag = format!("{flag} OR {}", rollup_flag_column(&risk.slug, true));
            }
            let _ = write!(sql, ",\n    bool_or({flag}) AS {}", flag_alias(risk));
        }
        let _ = writeln!(sql, "\n  FROM {SOURCE_DAYS_TABLE}");
        let _ = writeln!(sql, "  WHERE day BETWEEN DATE '{}' AND DATE '{}'", self.from, self.to);
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
                "    AND packets > spoofed_packets  -- likely-spoofed packets left out (--include-spoofed keeps them)"
            );
        }
        let _ = writeln!(sql, "  GROUP BY period_start, {group}, src_ip\n)");
        let _ = writeln!(sql, "SELECT\n  period_start,");
        match self.by {
            Grouping::Country => {
                let _ = writeln!(sql, "  country,");
            }
            Grouping::Asn => {
                let _ = writeln!(sql, "  asn,\n  max(as_name) AS as_name,");
            }
        }
        for (i, risk) in self.risks.iter().enumerate() {
            let comma = if i + 1 == self.risks.len() { "" } else { "," };
            let _ = writeln!(sql, "  count(*) FILTER (WHERE {}) AS \"{}\"{comma}", flag_alias(risk), risk.slug);
        }
        let _ = writeln!(sql, "FROM source_flags");
        let _ = writeln!(sql, "GROUP BY period_start, {group}");
        let _ = write!(sql, "ORDER BY period_start, {group}");
        sql
    }
}

impl IndicatorQuery {
    /// The coverage SQL over `source_days`: per period, the sensors that stored a packet (from
    /// each row's list of sensors). Distinct dark addresses are not in the rollups: they come
    /// from the packets still held.
    pub fn rollup_coverage_sql(&self) -> String {
        format!(
            "-- Coverage from the source_days rollup: sensors that stored packets per {kind}.\n\
             SELECT\n  period_start,\n  count(DISTINCT sensor) AS sensors\n\
             FROM (SELECT {start} AS period_start, unnest(sensors) AS sensor FROM {SOURCE_DAYS_TABLE}\n\
             WHERE day BETWEEN DATE '{from}' AND DATE '{to}')\nGROUP BY period_start\nORDER BY period_start",
            kind = self.kind,
            start = self.kind.sql_start(),
            from = self.from,
            to = self.to,
        )
    }
}

fn flag_alias(risk: &Risk) -> String {
    format!("is_{}", risk.column())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Taxonomy;

    #[test]
    fn every_risk_has_a_packet_condition_built_from_its_predicate() {
        let taxonomy = Taxonomy::embedded();
        for risk in taxonomy.risks() {
            let condition = packet_condition(&risk.slug).expect("every risk has a predicate");
            if let Some(Predicate::Packet(rule)) = predicate(&risk.slug) {
                assert_eq!(condition, format!("coalesce({rule}, false)"));
            }
        }
        let other = packet_condition("other-scan").expect("other-scan");
        assert!(other.starts_with(
            "coalesce(class = 'scan' AND NOT (coalesce(class = 'scan' AND protocol = 6 AND tool = 'mirai'"
        ));
        let any = packet_condition("any").expect("any");
        assert!(any.contains("dst_port = 3389") && !any.contains("backscatter"), "{any}");
        assert_eq!(rollup_flag_column("amplifier-probe", true), "risk_amplifier_probe_spoofed");
    }
}
