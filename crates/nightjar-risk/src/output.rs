//! Indicator tables as text, CSV and JSON, with one list of columns that
//! also describes them in the published `datapackage.json`.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use crate::error::RiskError;
use crate::period::describe_period;
use crate::report::{Coverage, IndicatorReport, IndicatorRow, MIN_ADDRESSES_FOR_RATE};
use crate::sql::Grouping;

/// One column of a published table: its name, Frictionless type and meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Column name.
    pub name: &'static str,
    /// Frictionless Table Schema type (`string`, `integer`, `number`, `date`).
    pub kind: &'static str,
    /// What it holds.
    pub description: &'static str,
}

/// A field of a published table.
pub(crate) const fn field(name: &'static str, kind: &'static str, description: &'static str) -> Field {
    Field { name, kind, description }
}

/// The columns that say which period a row is of and which days it covers.
fn period_fields() -> Vec<Field> {
    vec![
        field("period", "string", "Period label: 2026-11-29 (day), 2026-W48 (ISO week), 2026-11, 2026-Q4, 2026."),
        field("first_day", "date", "First UTC day counted in the period."),
        field("last_day", "date", "Last UTC day counted in the period."),
        field(
            "partial",
            "boolean",
            "true when fewer days were counted than the calendar period has (the data starts or ends inside it, or its last day was still incomplete); its numbers are not comparable with a whole period's.",
        ),
    ]
}

/// The columns of an indicator table per country or per ASN.
pub fn indicator_fields(by: Grouping) -> Vec<Field> {
    let mut fields = period_fields();
    match by {
        Grouping::Country => {
            fields.push(field("country", "string", "ISO 3166-1 alpha-2 country of the sources, attached at ingest."))
        }
        Grouping::Asn => {
            fields.push(field("asn", "integer", "Autonomous system number of the sources, attached at ingest."));
            fields.push(field("as_name", "string", "Organisation name of the autonomous system."));
        }
    }
    fields.extend([
        field("risk", "string", "Risk slug (see risks.csv)."),
        field("sources", "integer", "Distinct source addresses showing the risk over the whole period."),
        field(
            "score",
            "number",
            "100 × ln(sources) / ln(largest sources of the risk and period); 100 for the largest.",
        ),
        field("rank", "integer", "Competition rank by sources within the risk and period (1 = most; ties share)."),
    ]);
    if by == Grouping::Country {
        fields.extend([
            field("rate_per_million", "number", "Sources per million IPv4 addresses the geo database assigns to the country; empty for a country of fewer than 1,000,000 addresses, which is left out of per-million rankings."),
            field("excess", "number", "Standard score of the residual of ln(sources) fitted on ln(IPv4 addresses) over the countries of the risk and period; empty with fewer than 3 countries."),
        ]);
    }
    fields
}

/// The columns of the coverage table.
pub fn coverage_fields() -> Vec<Field> {
    let mut fields = period_fields();
    fields.extend([
        field("sensors", "integer", "Sensors that stored at least one packet in the period."),
        field(
            "dark_addresses",
            "integer",
            "Distinct destination (dark) addresses observed, as stored: sensors that truncate or offset destinations for privacy make this an undercount.",
        ),
    ]);
    fields
}

/// `value` rounded to `digits` decimals (published numbers carry no more precision than they
/// have), as JSON.
fn number(value: f64, digits: i32) -> Value {
    let scale = 10f64.powi(digits);
    serde_json::Number::from_f64((value * scale).round() / scale).map(Value::Number).unwrap_or(Value::Null)
}

/// The period columns of a row.
fn period_values(period: &str, first_day: NaiveDate, last_day: NaiveDate, partial: bool) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("period".into(), json!(period));
    map.insert("first_day".into(), json!(first_day.to_string()));
    map.insert("last_day".into(), json!(last_day.to_string()));
    map.insert("partial".into(), json!(partial));
    map
}

/// One row as JSON values, keyed by the table's fields.
pub fn row_values(row: &IndicatorRow, by: Grouping) -> Map<String, Value> {
    let mut map = period_values(&row.period, row.first_day, row.last_day, row.partial);
    match by {
        Grouping::Country => {
            map.insert("country".into(), json!(row.area));
        }
        Grouping::Asn => {
            map.insert("asn".into(), row.area.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(row.area)));
            map.insert("as_name".into(), json!(row.as_name));
        }
    }
    map.insert("risk".into(), json!(row.risk));
    map.insert("sources".into(), json!(row.sources));
    map.insert("score".into(), number(row.score, 2));
    map.insert("rank".into(), json!(row.rank));
    if by == Grouping::Country {
        map.insert("rate_per_million".into(), row.rate_per_million.map(|v| number(v, 4)).unwrap_or(Value::Null));
        map.insert("excess".into(), row.excess.map(|v| number(v, 3)).unwrap_or(Value::Null));
    }
    map
}

fn coverage_values(coverage: &Coverage) -> Map<String, Value> {
    let mut map = period_values(&coverage.period, coverage.first_day, coverage.last_day, coverage.partial);
    map.insert("sensors".into(), json!(coverage.sensors));
    map.insert("dark_addresses".into(), json!(coverage.dark_addresses));
    map
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// Rows as CSV with a header line, in the order of `fields`.
pub fn to_csv(fields: &[Field], rows: &[Map<String, Value>]) -> Result<String, RiskError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(fields.iter().map(|f| f.name)).map_err(|e| RiskError::encode("CSV", e))?;
    for row in rows {
        writer.write_record(fields.iter().map(|f| cell(row.get(f.name)))).map_err(|e| RiskError::encode("CSV", e))?;
    }
    let bytes = writer.into_inner().map_err(|e| RiskError::encode("CSV", e))?;
    String::from_utf8(bytes).map_err(|e| RiskError::encode("CSV", e))
}

impl IndicatorReport {
    /// The rows as JSON objects.
    pub fn row_values(&self) -> Vec<Map<String, Value>> {
        self.rows.iter().map(|row| row_values(row, self.by)).collect()
    }

    /// The coverage rows as JSON objects.
    pub fn coverage_values(&self) -> Vec<Map<String, Value>> {
        self.coverage.iter().map(coverage_values).collect()
    }

    /// The rows as CSV (header line first).
    pub fn to_csv(&self) -> Result<String, RiskError> {
        to_csv(&indicator_fields(self.by), &self.row_values())
    }

    /// The whole report as one JSON document: what was counted, coverage, rows.
    pub fn to_json(&self) -> Value {
        json!({
            "period": self.period_kind,
            "from": self.from.to_string(),
            "to": self.to.to_string(),
            "by": self.by,
            "research_scanners_excluded": self.exclusions.research,
            "likely_spoofed_excluded": self.exclusions.spoofed,
            "suppression_k": self.suppression_k,
            "suppressed_rows": self.suppressed_rows,
            "last_day_incomplete": self.last_day_incomplete,
            "min_addresses_for_rate": MIN_ADDRESSES_FOR_RATE,
            "coverage": self.coverage_values(),
            "rows": self.row_values(),
        })
    }

    /// A text table for a terminal, headed by what was counted and the coverage.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "# distinct sources per {} and {}, {} to {}; {}\n",
            self.by.name(),
            self.period_kind,
            self.from,
            self.to,
            self.exclusions.describe()
        );
        for c in &self.coverage {
            out.push_str(&format!(
                "# coverage {}: {} {}, {} dark {} observed\n",
                describe_period(&c.period, c.first_day, c.last_day, c.partial),
                c.sensors,
                if c.sensors == 1 { "sensor" } else { "sensors" },
                c.dark_addresses,
                if c.dark_addresses == 1 { "address" } else { "addresses" }
            ));
        }
        if self.last_day_incomplete {
            out.push_str(&format!(
                "# {} is incomplete (its last packet came more than an hour before its end): its periods are partial\n",
                self.to
            ));
        }
        if let Some(k) = self.suppression_k {
            out.push_str(&format!("# {} rows with fewer than {k} sources suppressed\n", self.suppressed_rows));
        }
        let fields = indicator_fields(self.by);
        let rows: Vec<Vec<String>> = self
            .row_values()
            .iter()
            .map(|row| {
                fields
                    .iter()
                    .map(|f| match row.get(f.name) {
                        Some(Value::Number(n)) if f.kind == "number" => {
                            n.as_f64().map(|x| format!("{x:.2}")).unwrap_or_default()
                        }
                        value => cell(value),
                    })
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| rows.iter().map(|r| r[i].chars().count()).chain([f.name.len()]).max().unwrap_or(0))
            .collect();
        let line = |cells: Vec<String>| -> String {
            let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        out.push_str(&line(fields.iter().map(|f| f.name.to_string()).collect()));
        for row in rows {
            out.push_str(&line(row));
        }
        out
    }
}
