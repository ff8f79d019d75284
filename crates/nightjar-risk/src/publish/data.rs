//! The open data of the site: CSV tables per period length, the taxonomy, the risk ports'
//! history, a summary, and the Frictionless `datapackage.json` describing them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::SiteFile;
use super::detail::{Details, PortDay};
use super::ports::protocol_name;
use crate::error::RiskError;
use crate::output::{Column, Field, column, coverage_columns, field, fields, indicator_columns, to_csv};
use crate::report::{IndicatorReport, IndicatorRow};
use crate::sql::Grouping;
use crate::taxonomy::RISKS_CSV;

/// A published file and what it holds, for the downloads page.
#[derive(Clone, Debug)]
pub struct Download {
    /// Path from the site's folder: `data/countries-month.csv`.
    pub path: String,
    /// What it holds.
    pub description: String,
}

/// The Frictionless resource of the table `stem`, whose columns are `fields`.
fn resource(stem: &str, title: &str, fields: &[Field]) -> Value {
    let schema = json!({
        "fields": fields.iter().map(|f| json!({"name": f.name, "type": f.kind, "description": f.description})).collect::<Vec<_>>()
    });
    json!({"name": stem, "title": title, "path": format!("{stem}.csv"), "profile": "tabular-data-resource",
        "format": "csv", "mediatype": "text/csv", "encoding": "utf-8", "schema": schema})
}

/// One table as CSV, with its Frictionless resource.
fn table_file<R>(stem: &str, title: &str, columns: &[Column<R>], rows: &[R]) -> Result<(SiteFile, Value), RiskError> {
    let csv = to_csv(columns, rows)?;
    Ok((SiteFile::new(format!("data/{stem}.csv"), csv), resource(stem, title, &fields(columns))))
}

/// One day of one risk port: a row of the `ports-day` table.
struct PortDayRow {
    day: NaiveDate,
    partial: bool,
    protocol: u8,
    port: u16,
    counts: PortDay,
}

/// The daily history of every risk port, as rows of the `ports-day` table.
fn port_rows(details: &Details, daily: &IndicatorReport) -> Vec<PortDayRow> {
    let mut rows = Vec::new();
    for (&(protocol, port), days) in &details.port_days {
        for (&day, &counts) in days {
            let partial = daily.coverage.iter().any(|c| c.first_day == day && c.partial);
            rows.push(PortDayRow { day, partial, protocol, port, counts });
        }
    }
    rows
}

const PORT_COLUMNS: [Column<PortDayRow>; 6] = [
    column("day", "date", "UTC day.", |row| json!(row.day.to_string())),
    column("partial", "boolean", "true when the day was still incomplete (data still arriving).", |row| {
        json!(row.partial)
    }),
    column("protocol", "string", "TCP or UDP.", |row| json!(protocol_name(row.protocol))),
    column("port", "integer", "Destination port named by a risk of risks.csv.", |row| json!(row.port)),
    column("sources", "integer", "Distinct source addresses that scanned the port that day.", |row| {
        json!(row.counts.sources)
    }),
    column("packets", "integer", "Scan packets they sent to it.", |row| json!(row.counts.packets)),
];

/// The columns of `asn-names.csv`, for rows of an AS number and its name.
fn asn_name_columns<'a>() -> [Column<(u64, &'a str)>; 2] {
    [
        column("asn", "integer", "Autonomous system number.", |&(asn, _)| json!(asn)),
        column(
            "as_name",
            "string",
            "Organisation name of the AS in the ASN database (AS<number> when that name reads as an IP address).",
            |&(_, name)| json!(name),
        ),
    ]
}

/// The columns of `risks.csv`, published as the taxonomy file itself.
const RISK_FIELDS: [Field; 6] = [
    field("id", "integer", "Stable numeric id."),
    field("slug", "string", "Stable name used in files and pages."),
    field("title", "string", "Short title."),
    field("taxonomy", "string", "Infected, Scanning, Attacked or Combined."),
    field("rule", "string", "When a source counts, in words."),
    field("unit", "string", "What is counted."),
];

/// Every file of `data/`, `datapackage.json` last.
pub fn data_files(
    countries: &[IndicatorReport],
    asns: &[IndicatorReport],
    details: &Details,
    summary: &Value,
) -> Result<(Vec<SiteFile>, Vec<Download>), RiskError> {
    let mut files = Vec::new();
    let mut resources = Vec::new();

    let risk_resource = resource("risks", "Risk taxonomy: what each risk counts", &RISK_FIELDS);
    // The CSV published is the taxonomy file itself, byte for byte.
    files.push(SiteFile::new("data/risks.csv", RISKS_CSV.to_string()));
    resources.push(risk_resource);

    for report in countries.iter().chain(asns) {
        let stem = match report.by {
            Grouping::Country => format!("countries-{}", report.period_kind),
            Grouping::Asn => format!("asns-{}", report.period_kind),
        };
        let title = match report.by {
            Grouping::Country => format!(
                "Distinct risky sources per country and {}, with score, rank, rate per million addresses and excess",
                report.period_kind
            ),
            Grouping::Asn => format!(
                "Distinct risky sources per autonomous system and {}, with score and rank (rows with fewer than k sources suppressed)",
                report.period_kind
            ),
        };
        // AS names are published once, in asn-names.csv, not on every row.
        let columns: Vec<Column<IndicatorRow>> =
            indicator_columns(report.by).into_iter().filter(|c| c.field.name != "as_name").collect();
        let (file, resource) = table_file(&stem, &title, &columns, &report.rows)?;
        files.push(file);
        resources.push(resource);
    }
    let names: BTreeMap<u64, &str> = asns
        .iter()
        .flat_map(|report| &report.rows)
        .filter_map(|row| Some((row.area.parse::<u64>().ok()?, row.as_name.as_deref()?)))
        .collect();
    let name_rows: Vec<(u64, &str)> = names.into_iter().collect();
    let (file, resource) = table_file(
        "asn-names",
        "The name of every autonomous system in the asns-* tables",
        &asn_name_columns(),
        &name_rows,
    )?;
    files.push(file);
    resources.push(resource);
    for report in countries {
        let stem = format!("coverage-{}", report.period_kind);
        let title =
            format!("Coverage per {}: sensors and dark addresses observed, partial periods marked", report.period_kind);
        let (file, resource) = table_file(&stem, &title, &coverage_columns(), &report.coverage)?;
        files.push(file);
        resources.push(resource);
    }
    if let Some(daily) = countries.first() {
        let title = "Distinct sources per day that scanned each port named by the risk taxonomy, and their packets";
        let (file, resource) = table_file("ports-day", title, &PORT_COLUMNS, &port_rows(details, daily))?;
        files.push(file);
        resources.push(resource);
    }
    let summary_text = serde_json::to_string_pretty(summary).map_err(|e| RiskError::encode("summary.json", e))?;
    files.push(SiteFile::new("data/summary.json", summary_text + "\n"));
    resources.push(json!({"name": "summary", "path": "summary.json", "profile": "data-resource", "format": "json",
        "mediatype": "application/json", "encoding": "utf-8",
        "title": "What was counted: days, exclusions, k-suppression and how many ASN rows it removed per period length, databases, the front page's period."}));

    let package = json!({
        "profile": "data-package",
        "name": "nightjar-risk-indicators",
        "title": "Nightjar per-country and per-ASN risk indicators from darknet traffic",
        "description": "Distinct source addresses per country (and per autonomous system) and period that sent a darknet traffic showing each risk of risks.csv, with score (100 × ln(count)/ln(max)), competition rank, rate per million IPv4 addresses (only for countries of at least 1,000,000 addresses) and excess (standard score of the residual of ln(count) on ln(addresses)). Each row gives the days its period counts and whether the period is partial. ASN rows with fewer than k sources are suppressed (see summary.json); AS names are in asn-names.csv. No IP address is published.",
        "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/", "title": "Creative Commons Attribution 4.0 (the ASN data it is derived from requires attribution)"}],
        "sources": [
            {"title": "Nightjar darknet sensors"},
            {"title": "IPtoASN country data via ip-location-db (PDDL 1.0)"},
            {"title": "IP to ASN data by RouteViews and DB-IP, licensed under CC BY 4.0; RIR data by the NRO, licensed under CC BY 4.0", "path": "https://db-ip.com"}
        ],
        "resources": resources,
    });
    let mut package = package;
    if let Some(source) = summary.get("source").filter(|source| !source.is_null()) {
        // The dataset version behind every number here (Frictionless allows custom properties).
        package["nightjar:source"] = source.clone();
    }
    let package_text = serde_json::to_string_pretty(&package).map_err(|e| RiskError::encode("datapackage.json", e))?;
    files.push(SiteFile::new("data/datapackage.json", package_text + "\n"));
    let mut downloads: Vec<Download> = resources
        .iter()
        .map(|r| Download {
            path: format!("data/{}", r["path"].as_str().unwrap_or_default()),
            description: r["title"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    downloads.push(Download {
        path: "data/datapackage.json".into(),
        description:
            "The Frictionless Data Package: every file above, its columns, types and meaning, licence and sources."
                .into(),
    });
    Ok((files, downloads))
}
