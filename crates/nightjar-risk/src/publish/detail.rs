//! What the country and port pages add to the indicator tables: each country's top autonomous
//! systems and targeted ports in the front page's period, and each risk port's daily history.
//!
//! Every count is of distinct sources that scanned the darknet (`class = 'scan'`: the sources
//! of the "any" risk), with the same exclusions as the indicators. Rows with fewer than k
//! sources are left out, as in the published ASN tables.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use datafusion::prelude::SessionContext;

use super::ports::RiskPort;
use super::privacy::find_address;
use crate::error::RiskError;
use crate::report::{dates, integers, texts};
use crate::sql::Exclusions;

/// Rows each country's and port's top lists hold.
const TOP: usize = 10;

/// An autonomous system's sources in one country.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsnCount {
    /// The AS number.
    pub asn: u64,
    /// Its name (`AS<number>` when the database's name reads as an address).
    pub name: String,
    /// Distinct sources.
    pub sources: u64,
}

/// A port's sources: in one country, or in one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortCount {
    /// IANA protocol number.
    pub protocol: u8,
    /// Destination port.
    pub port: u16,
    /// Distinct sources.
    pub sources: u64,
}

/// One day of a port's history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortDay {
    /// Distinct sources that scanned the port that day.
    pub sources: u64,
    /// Packets they sent it.
    pub packets: u64,
}

/// The country and port details of a site.
#[derive(Debug, Default)]
pub struct Details {
    /// Country → its top ASes (at least k sources), most sources first.
    pub country_asns: BTreeMap<String, Vec<AsnCount>>,
    /// Country → how many of its ASes had fewer than k sources.
    pub country_asns_suppressed: BTreeMap<String, u64>,
    /// Country → its top targeted ports (at least k sources), most sources first.
    pub country_ports: BTreeMap<String, Vec<PortCount>>,
    /// (protocol, port) → day → sources and packets.
    pub port_days: BTreeMap<(u8, u16), BTreeMap<NaiveDate, PortDay>>,
    /// (protocol, port) → distinct sources in the front page's period.
    pub port_sources: BTreeMap<(u8, u16), u64>,
    /// (protocol, port) → its top countries in the front page's period.
    pub port_countries: BTreeMap<(u8, u16), Vec<(String, u64)>>,
    /// ASes whose name read as an address.
    pub redacted_asns: BTreeSet<u64>,
}

fn date(day: NaiveDate) -> String {
    format!("DATE '{}'", day.format("%Y-%m-%d"))
}

/// The filter of scanning packets of `first..=last`, minus what the exclusions leave out.
fn scans(first: NaiveDate, last: NaiveDate, exclusions: Exclusions) -> String {
    let mut filter = format!("day BETWEEN {} AND {} AND class = 'scan'", date(first), date(last));
    if exclusions.research {
        filter.push_str(" AND research IS NULL");
    }
    if exclusions.spoofed {
        filter.push_str(" AND spoof IS NULL");
    }
    filter
}

/// `(protocol = 6 AND dst_port IN (…)) OR (protocol = 17 AND dst_port IN (…))`.
fn port_filter(ports: &[RiskPort]) -> String {
    let mut by_protocol: BTreeMap<u8, Vec<String>> = BTreeMap::new();
    for port in ports {
        by_protocol.entry(port.protocol).or_default().push(port.port.to_string());
    }
    let mut filter = String::from("(");
    for (i, (protocol, list)) in by_protocol.iter().enumerate() {
        let or = if i == 0 { "" } else { " OR " };
        let _ = write!(filter, "{or}(protocol = {protocol} AND dst_port IN ({}))", list.join(", "));
    }
    filter.push(')');
    if by_protocol.is_empty() { "false".into() } else { filter }
}

async fn run(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, RiskError> {
    Ok(ctx.sql(sql).await?.collect().await?)
}

/// Every text cell of `column`, empty for nulls.
fn text_column(batch: &RecordBatch, column: &str) -> Result<Vec<String>, RiskError> {
    Ok(texts(batch, column)?.into_iter().map(Option::unwrap_or_default).collect())
}

impl Details {
    /// Count the details: tops over `headline` (first and last day), port histories over `from..=to`.
    pub async fn compute(
        ctx: &SessionContext,
        headline: (NaiveDate, NaiveDate),
        range: (NaiveDate, NaiveDate),
        exclusions: Exclusions,
        ports: &[RiskPort],
        k: u64,
    ) -> Result<Details, RiskError> {
        let mut details = Details::default();
        let in_headline = scans(headline.0, headline.1, exclusions);
        details.read_country_asns(ctx, &in_headline, k).await?;
        details.read_country_ports(ctx, &in_headline, k).await?;
        let ports_in = port_filter(ports);
        let history = format!(
            "SELECT day AS period_start, protocol, dst_port, count(DISTINCT src_ip) AS sources, count(*) AS packets \
             FROM packets WHERE {} AND {ports_in} GROUP BY day, protocol, dst_port",
            scans(range.0, range.1, exclusions)
        );
        for batch in run(ctx, &history).await? {
            let (days, protocols, ports) =
                (dates(&batch)?, integers(&batch, "protocol")?, integers(&batch, "dst_port")?);
            let (sources, packets) = (integers(&batch, "sources")?, integers(&batch, "packets")?);
            for i in 0..batch.num_rows() {
                let Some(day) = days[i] else { continue };
                let key = (protocols[i] as u8, ports[i] as u16);
                details
                    .port_days
                    .entry(key)
                    .or_default()
                    .insert(day, PortDay { sources: sources[i], packets: packets[i] });
            }
        }
        let totals = format!(
            "SELECT protocol, dst_port, count(DISTINCT src_ip) AS sources FROM packets \
             WHERE {in_headline} AND {ports_in} GROUP BY protocol, dst_port"
        );
        for batch in run(ctx, &totals).await? {
            let (protocols, ports, sources) =
                (integers(&batch, "protocol")?, integers(&batch, "dst_port")?, integers(&batch, "sources")?);
            for i in 0..batch.num_rows() {
                details.port_sources.insert((protocols[i] as u8, ports[i] as u16), sources[i]);
            }
        }
        let countries = format!(
            "WITH counts AS (SELECT protocol, dst_port, country, count(DISTINCT src_ip) AS sources FROM packets \
             WHERE {in_headline} AND {ports_in} AND country IS NOT NULL GROUP BY protocol, dst_port, country), \
             ranked AS (SELECT *, row_number() OVER (PARTITION BY protocol, dst_port ORDER BY sources DESC, country) AS position FROM counts) \
             SELECT protocol, dst_port, country, sources FROM ranked WHERE position <= {TOP} ORDER BY protocol, dst_port, position"
        );
        for batch in run(ctx, &countries).await? {
            let (protocols, ports) = (integers(&batch, "protocol")?, integers(&batch, "dst_port")?);
            let (codes, sources) = (text_column(&batch, "country")?, integers(&batch, "sources")?);
            for i in 0..batch.num_rows() {
                let key = (protocols[i] as u8, ports[i] as u16);
                details.port_countries.entry(key).or_default().push((codes[i].clone(), sources[i]));
            }
        }
        Ok(details)
    }

    async fn read_country_asns(&mut self, ctx: &SessionContext, in_headline: &str, k: u64) -> Result<(), RiskError> {
        let sql = format!(
            "SELECT country, asn, max(as_name) AS as_name, count(DISTINCT src_ip) AS sources FROM packets \
             WHERE {in_headline} AND country IS NOT NULL AND asn IS NOT NULL GROUP BY country, asn"
        );
        let mut all: BTreeMap<String, Vec<AsnCount>> = BTreeMap::new();
        for batch in run(ctx, &sql).await? {
            let (codes, asns) = (text_column(&batch, "country")?, integers(&batch, "asn")?);
            let (names, sources) = (texts(&batch, "as_name")?, integers(&batch, "sources")?);
            for i in 0..batch.num_rows() {
                let asn = asns[i];
                let name = match names[i].clone() {
                    Some(name) if find_address(&name).is_some() => {
                        self.redacted_asns.insert(asn);
                        format!("AS{asn}")
                    }
                    name => name.unwrap_or_default(),
                };
                all.entry(codes[i].clone()).or_default().push(AsnCount { asn, name, sources: sources[i] });
            }
        }
        for (country, mut rows) in all {
            let before = rows.len();
            rows.retain(|row| row.sources >= k);
            self.country_asns_suppressed.insert(country.clone(), (before - rows.len()) as u64);
            rows.sort_by(|a, b| b.sources.cmp(&a.sources).then(a.asn.cmp(&b.asn)));
            rows.truncate(TOP);
            self.country_asns.insert(country, rows);
        }
        Ok(())
    }

    async fn read_country_ports(&mut self, ctx: &SessionContext, in_headline: &str, k: u64) -> Result<(), RiskError> {
        let sql = format!(
            "WITH counts AS (SELECT country, protocol, dst_port, count(DISTINCT src_ip) AS sources FROM packets \
             WHERE {in_headline} AND country IS NOT NULL AND dst_port IS NOT NULL GROUP BY country, protocol, dst_port), \
             ranked AS (SELECT *, row_number() OVER (PARTITION BY country ORDER BY sources DESC, protocol, dst_port) AS position \
             FROM counts WHERE sources >= {k}) \
             SELECT country, protocol, dst_port, sources FROM ranked WHERE position <= {TOP} ORDER BY country, position"
        );
        for batch in run(ctx, &sql).await? {
            let (codes, protocols) = (text_column(&batch, "country")?, integers(&batch, "protocol")?);
            let (ports, sources) = (integers(&batch, "dst_port")?, integers(&batch, "sources")?);
            for i in 0..batch.num_rows() {
                let row = PortCount { protocol: protocols[i] as u8, port: ports[i] as u16, sources: sources[i] };
                self.country_ports.entry(codes[i].clone()).or_default().push(row);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_filter_groups_ports_by_protocol() {
        let port = |protocol, port| RiskPort { protocol, port, risks: vec![] };
        assert_eq!(
            port_filter(&[port(6, 22), port(6, 2222), port(17, 53)]),
            "((protocol = 6 AND dst_port IN (22, 2222)) OR (protocol = 17 AND dst_port IN (53)))"
        );
        assert_eq!(port_filter(&[]), "false");
        let d = |t: &str| t.parse::<NaiveDate>().expect("a date");
        let filter = scans(d("2026-11-01"), d("2026-11-30"), Exclusions { research: true, spoofed: false });
        assert_eq!(
            filter,
            "day BETWEEN DATE '2026-11-01' AND DATE '2026-11-30' AND class = 'scan' AND research IS NULL"
        );
    }
}
