//! Indicator tables as text, CSV and JSON. Each table is one list of [`Column`]s: the
//! same list names and describes the columns in the published `datapackage.json` and fills
//! them from the rows.

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

/// One column of a table of `R` rows: what it is, and the value a row gives it.
pub struct Column<R> {
    /// Name, type and meaning.
    pub field: Field,
    /// The row's value in this column (`null` for an empty cell).
    pub value: fn(&R) -> Value,
}

/// A column of a table of `R` rows.
pub(crate) const fn column<R>(
    name: &'static str,
    kind: &'static str,
    description: &'static str,
    value: fn(&R) -> Value,
) -> Column<R> {
    Column { field: field(name, kind, description), value }
}

/// The fields of `columns`, in order.
pub(crate) fn fields<R>(columns: &[Column<R>]) -> Vec<Field> {
    columns.iter().map(|column| column.field).collect()
}

/// One row as JSON values, keyed by the columns' names.
pub(crate) fn values<R>(columns: &[Column<R>], row: &R) -> Map<String, Value> {
    columns.iter().map(|column| (column.field.name.to_string(), (column.value)(row))).collect()
}

/// Which period a row is of and which days it counts (a row of an indicator or coverage table).
trait PeriodRow {
    /// The period's label, first and last day counted, and whether it is partial.
    fn period(&self) -> (&str, NaiveDate, NaiveDate, bool);
}

impl PeriodRow for IndicatorRow {
    fn period(&self) -> (&str, NaiveDate, NaiveDate, bool) {
        (&self.period, self.first_day, self.last_day, self.partial)
    }
}

impl PeriodRow for Coverage {
    fn period(&self) -> (&str, NaiveDate, NaiveDate, bool) {
        (&self.period, self.first_day, self.last_day, self.partial)
    }
}

/// The columns that say which period a row is of and which days it covers.
fn period_columns<R: PeriodRow>() -> Vec<Column<R>> {
    vec![
        column(
            "period",
            "string",
            "Period label: 2026-11-29 (day), 2026-W48 (ISO week), 2026-11, 2026-Q4, 2026.",
            |row: &R| json!(row.period().0),
        ),
        column("first_day", "date", "First UTC day counted in the period.", |row: &R| {
            json!(row.period().1.to_string())
        }),
        column("last_day", "date", "Last UTC day counted in the period.", |row: &R| json!(row.period().2.to_string())),
        column(
            "partial",
            "boolean",
            "true when fewer days were counted than the calendar period has (the data starts or ends inside it, or its last day was still incomplete); its numbers are not comparable with a whole period's.",
            |row: &R| json!(row.period().3),
        ),
    ]
}

/// The columns of an indicator table per country or per ASN.
pub(crate) fn indicator_columns(by: Grouping) -> Vec<Column<IndicatorRow>> {
    let mut columns: Vec<Column<IndicatorRow>> = period_columns();
    match by {
        Grouping::Country => columns.push(column(
            "country",
            "string",
            "ISO 3166-1 alpha-2 country of the sources, attached at ingest.",
            |row| json!(row.area),
        )),
        Grouping::Asn => {
            columns.push(column(
                "asn",
                "integer",
                "Autonomous system number of the sources, attached at ingest.",
                |row| row.area.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(row.area)),
            ));
            columns.push(column("as_name", "string", "Organisation name of the autonomous system.", |row| {
                json!(row.as_name)
            }));
        }
    }
    let shared: [Column<IndicatorRow>; 4] = [
        column("risk", "string", "Risk slug (see risks.csv).", |row| json!(row.risk)),
        column("sources", "integer", "Distinct source addresses showing the risk over the whole period.", |row| {
            json!(row.sources)
        }),
        column(
            "score",
            "number",
            "100 × ln(sources) / ln(largest sources of the risk and period); 100 for the largest.",
            |row| number(row.score, 2),
        ),
        column(
            "rank",
            "integer",
            "Competition rank by sources within the risk and period (1 = most; ties share).",
            |row| json!(row.rank),
        ),
    ];
    columns.extend(shared);
    if by == Grouping::Country {
        let rates: [Column<IndicatorRow>; 2] = [
            column(
                "rate_per_million",
                "number",
                "Sources per million IPv4 addresses the geo database assigns to the country; empty for a country of fewer than 1,000,000 addresses, which is left out of per-million rankings.",
                |row| row.rate_per_million.map_or(Value::Null, |rate| number(rate, 4)),
            ),
            column(
                "excess",
                "number",
                "Standard score of the residual of ln(sources) fitted on ln(IPv4 addresses) over the countries of the risk and period; empty with fewer than 3 countries.",
                |row| row.excess.map_or(Value::Null, |excess| number(excess, 3)),
            ),
        ];
        columns.extend(rates);
    }
    columns
}

/// The columns of the coverage table.
pub(crate) fn coverage_columns() -> Vec<Column<Coverage>> {
    let mut columns: Vec<Column<Coverage>> = period_columns();
    columns.push(column("sensors", "integer", "Sensors that stored at least one packet in the period.", |row| {
        json!(row.sensors)
    }));
    columns.push(column(
        "dark_addresses",
        "integer",
        "Distinct destination (dark) addresses observed, as stored: sensors that truncate or offset destinations for privacy make this an undercount.",
        |row| json!(row.dark_addresses),
    ));
    columns
}

/// The columns of an indicator table per country or per ASN.
pub fn indicator_fields(by: Grouping) -> Vec<Field> {
    fields(&indicator_columns(by))
}

/// The columns of the coverage table.
pub fn coverage_fields() -> Vec<Field> {
    fields(&coverage_columns())
}

/// `value` rounded to `digits` decimals (published numbers carry no more precision than they
/// have), as JSON.
fn number(value: f64, digits: i32) -> Value {
    let scale = 10f64.powi(digits);
    serde_json::Number::from_f64((value * scale).round() / scale).map(Value::Number).unwrap_or(Value::Null)
}

/// One row as JSON values, keyed by the table's fields.
pub fn row_values(row: &IndicatorRow, by: Grouping) -> Map<String, Value> {
    values(&indicator_columns(by), row)
}

/// A value as a CSV or text cell: empty for `null`, strings without quotes.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Rows as CSV with a header line, in the order of `columns`.
pub fn to_csv<R>(columns: &[Column<R>], rows: &[R]) -> Result<String, RiskError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(columns.iter().map(|c| c.field.name)).map_err(|e| RiskError::encode("CSV", e))?;
    for row in rows {
        writer.write_record(columns.iter().map(|c| cell(&(c.value)(row)))).map_err(|e| RiskError::encode("CSV", e))?;
    }
    let bytes = writer.into_inner().map_err(|e| RiskError::encode("CSV", e))?;
    String::from_utf8(bytes).map_err(|e| RiskError::encode("CSV", e))
}

impl IndicatorReport {
    /// The rows as JSON objects.
    pub fn row_values(&self) -> Vec<Map<String, Value>> {
        let columns = indicator_columns(self.by);
        self.rows.iter().map(|row| values(&columns, row)).collect()
    }

    /// The coverage rows as JSON objects.
    pub fn coverage_values(&self) -> Vec<Map<String, Value>> {
        let columns = coverage_columns();
        self.coverage.iter().map(|row| values(&columns, row)).collect()
    }

    /// The rows as CSV (header line first).
    pub fn to_csv(&self) -> Result<String, RiskError> {
        to_csv(&indicator_columns(self.by), &self.rows)
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
            "counted_from": self.counted_from,
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
        out.push_str(&format!("# {}\n", self.counted_from.describe()));
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
        let columns = indicator_columns(self.by);
        let fields = fields(&columns);
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| {
                columns
                    .iter()
                    .map(|column| match (column.value)(row) {
                        Value::Number(n) if column.field.kind == "number" => {
                            n.as_f64().map(|x| format!("{x:.2}")).unwrap_or_default()
                        }
                        value => cell(&value),
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
