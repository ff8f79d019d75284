//! `nightjar lookup ADDRESS`: everything the dataset knows about one source address — the days
//! it was seen, its packets, the ports it aimed at, the tools and classes of its traffic, its
//! country and AS — through the query engine, as a table or JSON.

use std::io::Write as _;
use std::net::IpAddr;

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use nightjar_query::QueryEngine;
use serde_json::{Map, Value, json};

use crate::dataset::DatasetArgs;
use crate::summary::plural;

/// Ports listed per source, busiest first.
const TOP_PORTS: usize = 20;

/// Arguments of `nightjar lookup`.
#[derive(clap::Args, Debug)]
pub struct LookupArgs {
    /// The source address (IPv4 or IPv6) to look up.
    #[arg(value_name = "ADDRESS")]
    address: IpAddr,
    #[command(flatten)]
    dataset: DatasetArgs,
    /// Output format: `table`, `json` (one indented document) or `jsonl` (the same document on one line).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Output formats of `lookup`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for a terminal.
    Table,
    /// One indented JSON document.
    Json,
    /// The JSON document on one line.
    Jsonl,
}

/// Run `nightjar lookup`.
pub fn run(args: LookupArgs) -> Result<()> {
    let runtime = nightjar_ops::runtime("nj-lookup", None).context("starting tokio")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: LookupArgs) -> Result<()> {
    let engine = args.dataset.open().await?;
    let report = lookup(&engine, args.address).await?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Table => write!(out, "{}", to_text(&report))?,
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Jsonl => writeln!(out, "{}", serde_json::to_string(&report)?)?,
    }
    out.flush()?;
    Ok(())
}

/// Everything about `address` as one JSON document: `address`, `packets` (0 when the dataset
/// never saw it), `first_seen`, `last_seen`, `sensors`, `destinations`, `classes`, `tools`,
/// `spoofed_packets`, `research`, `country`, `asn`, `as_name`, `days` and `ports`.
pub async fn lookup(engine: &QueryEngine, address: IpAddr) -> Result<Value> {
    // The address is parsed by Rust and printed back canonically: no text of the user's reaches
    // the SQL.
    let source = format!("src_ip = ip_from_text('{address}')");
    let summary = rows(
        engine,
        &format!(
            "SELECT count(*) AS packets,
                    min(time) AS first_seen,
                    max(time) AS last_seen,
                    count(DISTINCT sensor) AS sensors,
                    count(DISTINCT dst_ip) AS destinations,
                    array_sort(array_agg(DISTINCT class)) AS classes,
                    array_sort(array_agg(DISTINCT tool) FILTER (WHERE tool IS NOT NULL)) AS tools,
                    count(*) FILTER (WHERE spoof IS NOT NULL) AS spoofed_packets,
                    max(research) AS research,
                    max(country) AS country,
                    max(asn) AS asn,
                    max(as_name) AS as_name
             FROM packets WHERE {source}"
        ),
    )
    .await?;
    let days = rows(
        engine,
        &format!(
            "SELECT CAST(day AS VARCHAR) AS day, count(*) AS packets, count(DISTINCT dst_port) AS ports
             FROM packets WHERE {source} GROUP BY day ORDER BY day"
        ),
    )
    .await?;
    let ports = rows(
        engine,
        &format!(
            "SELECT CASE protocol WHEN 6 THEN 'tcp' WHEN 17 THEN 'udp' ELSE CAST(protocol AS VARCHAR) END AS protocol,
                    dst_port AS port, port_service(dst_port, protocol) AS service, count(*) AS packets
             FROM packets WHERE {source} AND dst_port IS NOT NULL
             GROUP BY protocol, dst_port ORDER BY packets DESC, dst_port LIMIT {TOP_PORTS}"
        ),
    )
    .await?;
    let mut report = Map::new();
    report.insert("address".into(), json!(address.to_string()));
    if let Some(first) = summary.into_iter().next() {
        report.extend(first);
    }
    report.insert("days".into(), Value::Array(days.into_iter().map(Value::Object).collect()));
    report.insert("ports".into(), Value::Array(ports.into_iter().map(Value::Object).collect()));
    Ok(Value::Object(report))
}

/// The rows of one query as JSON objects.
async fn rows(engine: &QueryEngine, sql: &str) -> Result<Vec<Map<String, Value>>> {
    let batches: Vec<RecordBatch> = engine.query(sql).await?;
    let mut writer = arrow::json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow::json::writer::JsonArray>(Vec::new());
    for batch in &batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&bytes).context("reading the query's JSON")
}

/// The report for people.
fn to_text(report: &Value) -> String {
    let text = |key: &str| match &report[key] {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".to_string(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    let packets = report["packets"].as_u64().unwrap_or(0);
    let address = text("address");
    if packets == 0 {
        return format!("{address}: not in the dataset (no packet from it)\n");
    }
    let days = report["days"].as_array().map_or(0, Vec::len) as u64;
    let mut out = String::new();
    let mut line = |label: &str, value: String| out.push_str(&format!("{label:<16} {value}\n"));
    line("address", address);
    line("packets", packets.to_string());
    line("days seen", format!("{days} {}", plural(days, "day", "days")));
    line("first seen", text("first_seen"));
    line("last seen", text("last_seen"));
    line("country", text("country"));
    let asn = match &report["asn"] {
        Value::Number(n) => format!("AS{n} {}", text("as_name")),
        _ => "-".to_string(),
    };
    line("AS", asn);
    line("classes", text("classes"));
    line("tools", text("tools"));
    line("research", text("research"));
    line("spoofed packets", text("spoofed_packets"));
    line("sensors", text("sensors"));
    line("destinations", text("destinations"));
    out.push_str("\nday          packets  ports\n");
    for day in report["days"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{:<10} {:>9} {:>6}\n",
            day["day"].as_str().unwrap_or("-"),
            day["packets"].as_u64().unwrap_or(0),
            day["ports"].as_u64().unwrap_or(0)
        ));
    }
    out.push_str(&format!("\nports (busiest {TOP_PORTS})\nprotocol  port  service          packets\n"));
    for port in report["ports"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{:<8} {:>5}  {:<14} {:>9}\n",
            port["protocol"].as_str().unwrap_or("-"),
            port["port"].as_u64().unwrap_or(0),
            port["service"].as_str().unwrap_or("-"),
            port["packets"].as_u64().unwrap_or(0)
        ));
    }
    out
}
