//! The open data of the site: CSV and JSON tables per period length, the
//! taxonomy, a summary, and the Frictionless `datapackage.json` describing them.

use serde_json::{Map, Value, json};

use super::SiteFile;
use crate::error::RiskError;
use crate::output::{Field, coverage_fields, indicator_fields, to_csv};
use crate::report::IndicatorReport;
use crate::sql::Grouping;
use crate::taxonomy::{RISKS_CSV, Taxonomy};

fn table_files(
    stem: &str,
    title: &str,
    fields: &[Field],
    rows: &[Map<String, Value>],
) -> Result<(Vec<SiteFile>, Vec<Value>), RiskError> {
    let csv = to_csv(fields, rows)?;
    let json = serde_json::to_string_pretty(rows).map_err(|e| RiskError::encode(format!("{stem}.json"), e))?;
    let schema = json!({
        "fields": fields.iter().map(|f| json!({"name": f.name, "type": f.kind, "description": f.description})).collect::<Vec<_>>()
    });
    let resources = vec![
        json!({"name": format!("{stem}-csv"), "title": title, "path": format!("{stem}.csv"), "profile": "tabular-data-resource",
               "format": "csv", "mediatype": "text/csv", "encoding": "utf-8", "schema": schema}),
        json!({"name": format!("{stem}-json"), "title": format!("{title} (JSON: an array of objects with the CSV's columns)"),
               "path": format!("{stem}.json"), "profile": "data-resource", "format": "json", "mediatype": "application/json",
               "encoding": "utf-8", "schema": schema}),
    ];
    let files =
        vec![SiteFile::new(format!("data/{stem}.csv"), csv), SiteFile::new(format!("data/{stem}.json"), json + "\n")];
    Ok((files, resources))
}

/// Every file of `data/`, `datapackage.json` last.
pub fn data_files(
    taxonomy: &Taxonomy,
    countries: &[IndicatorReport],
    asns: &[IndicatorReport],
    summary: &Value,
) -> Result<Vec<SiteFile>, RiskError> {
    let mut files = Vec::new();
    let mut resources = Vec::new();

    let risk_fields = [
        Field { name: "id", kind: "integer", description: "Stable numeric id." },
        Field { name: "slug", kind: "string", description: "Stable name used in files and pages." },
        Field { name: "title", kind: "string", description: "Short title." },
        Field { name: "taxonomy", kind: "string", description: "Infected, Scanning, Attacked or Combined." },
        Field { name: "rule", kind: "string", description: "When a source counts, in words." },
        Field { name: "unit", kind: "string", description: "What is counted." },
    ];
    let risk_rows: Vec<Map<String, Value>> = taxonomy
        .risks()
        .iter()
        .map(|r| match serde_json::to_value(r) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        })
        .collect();
    let (mut risk_files, risk_resources) = table_files("risks", "Risk taxonomy", &risk_fields, &risk_rows)?;
    // The CSV published is the taxonomy file itself, byte for byte.
    risk_files[0] = SiteFile::new("data/risks.csv", RISKS_CSV.to_string());
    files.extend(risk_files);
    resources.extend(risk_resources);

    for report in countries.iter().chain(asns) {
        let stem = match report.by {
            Grouping::Country => format!("countries-{}", report.period_kind),
            Grouping::Asn => format!("asns-{}", report.period_kind),
        };
        let title = format!("Distinct risky sources per {} and {}", report.by.name(), report.period_kind);
        let (f, r) = table_files(&stem, &title, &indicator_fields(report.by), &report.row_values())?;
        files.extend(f);
        resources.extend(r);
    }
    for report in countries {
        let stem = format!("coverage-{}", report.period_kind);
        let title = format!("Coverage per {}: sensors and dark addresses observed", report.period_kind);
        let (f, r) = table_files(&stem, &title, &coverage_fields(), &report.coverage_values())?;
        files.extend(f);
        resources.extend(r);
    }
    let summary_text = serde_json::to_string_pretty(summary).map_err(|e| RiskError::encode("summary.json", e))?;
    files.push(SiteFile::new("data/summary.json", summary_text + "\n"));
    resources.push(json!({"name": "summary", "path": "summary.json", "profile": "data-resource", "format": "json",
        "mediatype": "application/json", "encoding": "utf-8",
        "description": "What was counted: days, exclusions, k-suppression and how many ASN rows it removed per period length, databases."}));

    let package = json!({
        "profile": "data-package",
        "name": "nightjar-risk-indicators",
        "title": "Nightjar per-country and per-ASN risk indicators from darknet traffic",
        "description": "Distinct source addresses per country (and per autonomous system) and period that sent a darknet traffic showing each risk of risks.csv, with score (100 × ln(count)/ln(max)), competition rank, rate per million IPv4 addresses and excess (standard score of the residual of ln(count) on ln(addresses)). ASN rows with fewer than k sources are suppressed (see summary.json). No IP address is published.",
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
    Ok(files)
}
