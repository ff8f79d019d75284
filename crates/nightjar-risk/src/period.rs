//! Periods: the day, ISO week, month, quarter or year a count is distinct over.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Serialize;

use crate::error::RiskError;

/// How long one period lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    /// One UTC day.
    Day,
    /// An ISO week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// A calendar quarter.
    Quarter,
    /// A calendar year.
    Year,
}

impl PeriodKind {
    /// Every kind, shortest first.
    pub const ALL: [PeriodKind; 5] =
        [PeriodKind::Day, PeriodKind::Week, PeriodKind::Month, PeriodKind::Quarter, PeriodKind::Year];

    /// The name used on the command line and in files: `day`, `week`, …
    pub fn name(self) -> &'static str {
        match self {
            PeriodKind::Day => "day",
            PeriodKind::Week => "week",
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
        }
    }

    /// The first day of the period holding `day`.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        let first_of_month = |month: u32| NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day);
        match self {
            PeriodKind::Day => day,
            PeriodKind::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
            PeriodKind::Month => first_of_month(day.month()),
            PeriodKind::Quarter => first_of_month((day.month0() / 3) * 3 + 1),
            PeriodKind::Year => first_of_month(1),
        }
    }

    /// The first day of the next period after the one starting at `start`.
    fn next_start(self, start: NaiveDate) -> Option<NaiveDate> {
        match self {
            PeriodKind::Day => start.checked_add_days(Days::new(1)),
            PeriodKind::Week => start.checked_add_days(Days::new(7)),
            PeriodKind::Month => start.checked_add_months(Months::new(1)),
            PeriodKind::Quarter => start.checked_add_months(Months::new(3)),
            PeriodKind::Year => start.checked_add_months(Months::new(12)),
        }
    }

    /// The label of the period starting at `start`: `2026-11-29`, `2026-W48`, `2026-11`, `2026-Q4`, `2026`.
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            PeriodKind::Day => start.format("%Y-%m-%d").to_string(),
            PeriodKind::Week => {
                let week = start.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }
            PeriodKind::Month => start.format("%Y-%m").to_string(),
            PeriodKind::Quarter => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
            PeriodKind::Year => start.format("%Y").to_string(),
        }
    }

    /// The SQL expression (over the `day` partition column) for the first day of a row's period.
    pub fn sql_start(self) -> String {
        match self {
            PeriodKind::Day => "day".to_string(),
            kind => format!("CAST(date_trunc('{}', day) AS DATE)", kind.name()),
        }
    }

    /// The periods that overlap `from..=to`, in order, each clipped to the range.
    pub fn periods(self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Period>, RiskError> {
        if from > to {
            return Err(RiskError::EmptyRange { from, to });
        }
        let mut out = Vec::new();
        let mut start = self.start_of(from);
        while start <= to {
            let next = self.next_start(start);
            let last = next.and_then(|n| n.pred_opt()).unwrap_or(NaiveDate::MAX);
            let (first_day, last_day) = (start.max(from), last.min(to));
            let partial = first_day > start || last_day < last;
            out.push(Period { kind: self, start, first_day, last_day, partial });
            match next {
                Some(next) => start = next,
                None => break,
            }
        }
        Ok(out)
    }
}

impl fmt::Display for PeriodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PeriodKind {
    type Err = RiskError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PeriodKind::ALL.into_iter().find(|k| k.name() == text).ok_or_else(|| RiskError::UnknownPeriod(text.into()))
    }
}

/// One period of a report: its calendar period, clipped to the requested days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    /// Its length.
    pub kind: PeriodKind,
    /// First day of the calendar period (what the SQL groups by).
    pub start: NaiveDate,
    /// First day counted (the later of `start` and the report's first day).
    pub first_day: NaiveDate,
    /// Last day counted (the earlier of the calendar period's end and the report's last day).
    pub last_day: NaiveDate,
    /// Whether the days counted are fewer than the calendar period's (the range cuts it, or its
    /// last day is still incomplete): its numbers are not comparable with a whole period's.
    pub partial: bool,
}

impl Period {
    /// `2026-11`, `2026-W48`, …
    pub fn label(&self) -> String {
        self.kind.label(self.start)
    }

    /// The label with the days it covers when partial: `2026-11 (partial: 2026-11-21 to 2026-11-27)`.
    pub fn describe(&self) -> String {
        describe_period(&self.label(), self.first_day, self.last_day, self.partial)
    }
}

/// A period's label, followed by the days it really covers when it is partial.
pub fn describe_period(label: &str, first_day: NaiveDate, last_day: NaiveDate, partial: bool) -> String {
    match (partial, first_day == last_day) {
        (false, _) => label.to_string(),
        (true, true) => format!("{label} (partial: {first_day} only)"),
        (true, false) => format!("{label} (partial: {first_day} to {last_day})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().expect("a test date")
    }

    #[test]
    fn periods_are_clipped_to_the_range_and_labelled() {
        let weeks = PeriodKind::Week.periods(d("2026-11-25"), d("2026-12-02")).unwrap();
        assert_eq!(weeks.len(), 2);
        assert_eq!(
            (weeks[0].start, weeks[0].first_day, weeks[0].last_day),
            (d("2026-11-23"), d("2026-11-25"), d("2026-11-29"))
        );
        assert_eq!(weeks[0].label(), "2026-W48");
        assert_eq!((weeks[1].first_day, weeks[1].last_day), (d("2026-11-30"), d("2026-12-02")));
        let quarters = PeriodKind::Quarter.periods(d("2026-02-10"), d("2026-11-29")).unwrap();
        let labels: Vec<String> = quarters.iter().map(Period::label).collect();
        assert_eq!(labels, ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]);
        assert_eq!(quarters[1].start, d("2026-04-01"));
        assert_eq!(PeriodKind::Year.periods(d("2026-01-01"), d("2026-12-31")).unwrap()[0].label(), "2026");
        assert_eq!(PeriodKind::Month.label(d("2026-11-01")), "2026-11");
        assert!(PeriodKind::Day.periods(d("2026-11-02"), d("2026-11-01")).is_err());
    }

    #[test]
    fn periods_cut_by_the_range_are_partial_and_say_which_days_they_cover() {
        let months = PeriodKind::Month.periods(d("2026-10-01"), d("2026-11-27")).unwrap();
        assert_eq!(months.iter().map(|p| p.partial).collect::<Vec<_>>(), [false, true]);
        assert_eq!(months[0].describe(), "2026-10");
        assert_eq!(months[1].describe(), "2026-11 (partial: 2026-11-01 to 2026-11-27)");
        let weeks = PeriodKind::Week.periods(d("2026-11-25"), d("2026-12-06")).unwrap();
        assert_eq!(weeks.iter().map(|p| p.partial).collect::<Vec<_>>(), [true, false]);
        let day = PeriodKind::Day.periods(d("2026-11-25"), d("2026-11-25")).unwrap();
        assert!(!day[0].partial);
        assert_eq!(
            describe_period("2026-W48", d("2026-11-29"), d("2026-11-29"), true),
            "2026-W48 (partial: 2026-11-29 only)"
        );
    }

    #[test]
    fn period_names_parse() {
        for kind in PeriodKind::ALL {
            assert_eq!(kind.name().parse::<PeriodKind>().unwrap(), kind);
        }
        assert!("fortnight".parse::<PeriodKind>().is_err());
    }
}
