//! Third-party text that reads as an address is redacted before the privacy check.
//!
//! The privacy check refuses a site with anything that reads as an IP address, because such
//! text could only have come from the packets. AS names come from the ASN database instead, and
//! some organisations are *named* after a prefix (an AS called `203.0.113.0/23`): one packet from
//! such an AS would block every publish. Those names are replaced by `AS<number>` and counted,
//! and the site says how many; addresses anywhere else still fail the publish.

use std::collections::BTreeSet;

use super::privacy::find_address;
use crate::report::IndicatorReport;

/// Replaces every AS name in `reports` that contains address-like text with `AS<number>`.
/// Returns the AS numbers whose names were redacted, in order.
pub fn redact_address_like_as_names(reports: &mut [IndicatorReport]) -> BTreeSet<u64> {
    let mut redacted = BTreeSet::new();
    for row in reports.iter_mut().flat_map(|report| report.rows.iter_mut()) {
        let Some(name) = &row.as_name else { continue };
        if find_address(name).is_some() {
            // `area` holds the AS number as text in ASN tables.
            if let Ok(number) = row.area.parse::<u64>() {
                redacted.insert(number);
            }
            row.as_name = Some(format!("AS{}", row.area));
        }
    }
    redacted
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::redact_address_like_as_names;
    use crate::period::PeriodKind;
    use crate::report::{IndicatorReport, IndicatorRow};
    use crate::sql::{Exclusions, Grouping};

    fn row(asn: &str, name: &str) -> IndicatorRow {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).expect("a valid date");
        IndicatorRow {
            period: "2026-11".into(),
            first_day: day,
            last_day: day,
            partial: false,
            area: asn.into(),
            as_name: Some(name.into()),
            risk: "any".into(),
            sources: 5,
            score: 100.0,
            rank: 1,
            rate_per_million: None,
            excess: None,
        }
    }

    #[test]
    fn only_address_like_names_are_replaced_and_each_as_is_counted_once() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).expect("a valid date");
        let report = |rows| IndicatorReport {
            period_kind: PeriodKind::Month,
            from: day,
            to: day,
            by: Grouping::Asn,
            exclusions: Exclusions::default(),
            coverage: Vec::new(),
            rows,
            suppression_k: None,
            suppressed_rows: 0,
            last_day_incomplete: false,
            counted_from: crate::CountSource::Packets,
        };
        let mut reports = vec![
            report(vec![row("64500", "203.31.164.0/23"), row("64501", "Example Transit 2.0")]),
            report(vec![row("64500", "203.31.164.0/23"), row("64502", "net 2001:db8::/32 ltd")]),
        ];
        let redacted = redact_address_like_as_names(&mut reports);
        assert_eq!(redacted.into_iter().collect::<Vec<_>>(), vec![64500, 64502]);
        let names: Vec<&str> = reports.iter().flat_map(|r| &r.rows).filter_map(|r| r.as_name.as_deref()).collect();
        assert_eq!(names, vec!["AS64500", "Example Transit 2.0", "AS64500", "AS64502"]);
    }
}
