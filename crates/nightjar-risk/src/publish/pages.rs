//! The HTML pages, each a template filled from a context built here: the front page (map and
//! ranking), risks, countries, ports, one page per risk, country and risk port, the downloads
//! page and the methods.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{Value, json};

use super::chart::{Chart, SeriesPoint, line_chart};
use super::countries::{is_country, name_of};
use super::data::Download;
use super::map::{MapValues, NO_DATA, map_view};
use super::ports::{port_name, port_page};
use super::{Site, SiteFile};
use crate::period::describe_period;
use crate::report::{Coverage, IndicatorRow, MIN_ADDRESSES_FOR_RATE};
use crate::taxonomy::Risk;

/// Rows shown in a risk page's top lists.
const TOP: usize = 20;

fn country_page(code: &str) -> Option<String> {
    is_country(code).then(|| format!("country-{code}.html"))
}

fn risk_page(slug: &str) -> String {
    format!("risk-{slug}.html")
}

fn opt(value: Option<f64>, digits: usize) -> String {
    value.map(|v| format!("{v:.digits$}")).unwrap_or_default()
}

/// `1,048,576`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12.3 KB`.
fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / (1 << 10) as f64),
        b => format!("{b} bytes"),
    }
}

/// A period as the pages show it.
#[derive(Serialize)]
struct PeriodView {
    label: String,
    describe: String,
    first_day: String,
    last_day: String,
    partial: bool,
    incomplete_last_day: bool,
    sensors: u64,
    dark_addresses: u64,
}

/// A ranking row of the map section.
#[derive(Serialize)]
struct RankingRow {
    rank: u64,
    code: String,
    name: String,
    href: Option<String>,
    sources: u64,
    score: f64,
    score_text: String,
    rate_raw: String,
    rate: String,
    excess_raw: String,
    excess: String,
}

/// The k-suppression note.
#[derive(Serialize)]
struct Suppression {
    k: u64,
    total: u64,
    here: Option<u64>,
    slug: Option<String>,
    period: String,
}

impl Site<'_> {
    fn period_view(&self, c: &Coverage) -> PeriodView {
        PeriodView {
            label: c.period.clone(),
            describe: describe_period(&c.period, c.first_day, c.last_day, c.partial),
            first_day: c.first_day.to_string(),
            last_day: c.last_day.to_string(),
            partial: c.partial,
            incomplete_last_day: c.partial
                && c.last_day == self.headline_countries.to
                && self.headline_countries.last_day_incomplete,
            sensors: c.sensors,
            dark_addresses: c.dark_addresses,
        }
    }

    fn headline_view(&self) -> PeriodView {
        self.period_view(&self.headline)
    }

    fn counting(&self) -> String {
        self.headline_countries.exclusions.describe()
    }

    /// The headline period's country rows of one risk, by rank.
    fn country_rows(&self, slug: &str) -> Vec<&IndicatorRow> {
        self.headline_countries.rows.iter().filter(|r| r.period == self.headline.period && r.risk == slug).collect()
    }

    fn suppression(&self, slug: Option<&str>) -> Suppression {
        let here =
            slug.map(|s| self.suppressed.get(&(self.headline.period.clone(), s.to_string())).copied().unwrap_or(0));
        Suppression {
            k: self.k,
            total: self.suppressed_total,
            here,
            slug: slug.map(str::to_string),
            period: self.headline.period.clone(),
        }
    }

    fn map_section(&self, risk: &Risk) -> Value {
        let rows = self.country_rows(&risk.slug);
        let values: BTreeMap<String, MapValues> = rows
            .iter()
            .map(|r| {
                let values =
                    MapValues { count: r.sources as f64, score: r.score, rate: r.rate_per_million, excess: r.excess };
                (r.area.clone(), values)
            })
            .collect();
        let title = format!("{} — {}, by country", risk.title, self.headline.period);
        let map = map_view(&values, &title, country_page);
        let ranking: Vec<RankingRow> = rows
            .iter()
            .map(|row| RankingRow {
                rank: row.rank,
                code: row.area.clone(),
                name: name_of(&row.area),
                href: country_page(&row.area),
                sources: row.sources,
                score: (row.score * 100.0).round() / 100.0,
                score_text: format!("{:.1}", row.score),
                rate_raw: opt(row.rate_per_million, 4),
                rate: opt(row.rate_per_million, 3),
                excess_raw: opt(row.excess, 4),
                excess: opt(row.excess, 2),
            })
            .collect();
        let mut section = serde_json::to_value(&map).unwrap_or(Value::Null);
        section["rows"] = serde_json::to_value(&ranking).unwrap_or(Value::Null);
        section["min_addresses"] = json!(thousands(MIN_ADDRESSES_FOR_RATE));
        section["no_data"] = json!(NO_DATA);
        section
    }

    fn risk_links(&self) -> Vec<Value> {
        self.taxonomy
            .risks()
            .iter()
            .map(|r| {
                json!({"id": r.id, "slug": r.slug, "href": risk_page(&r.slug), "title": r.title,
                       "taxonomy": r.taxonomy, "rule": r.rule})
            })
            .collect()
    }

    fn render(&self, path: impl Into<String>, template: &str, context: Value) -> Result<SiteFile, super::RiskError> {
        Ok(SiteFile::new(path, self.renderer.page(template, &context)?))
    }

    fn index(&self) -> Result<SiteFile, super::RiskError> {
        let risk = self.headline_risk;
        let later_partial = self
            .headline_countries
            .coverage
            .iter()
            .rev()
            .find(|c| c.partial && c.sensors > 0 && c.first_day > self.headline.last_day)
            .map(|c| describe_period(&c.period, c.first_day, c.last_day, c.partial));
        let context = json!({
            "title": format!("Nightjar risk statistics — {}", self.headline.period),
            "map": true,
            "map_values": self.map_section(risk),
            "risk": risk,
            "headline": self.headline_view(),
            "counting": self.counting(),
            "later_partial": later_partial,
            "risks": self.risk_links(),
            "suppression": self.suppression(None),
        });
        self.render("index.html", "index.html", context)
    }

    fn risk_pages(&self) -> Result<Vec<SiteFile>, super::RiskError> {
        let mut files = Vec::new();
        for risk in self.taxonomy.risks() {
            let asns: Vec<Value> = self
                .headline_asns
                .rows
                .iter()
                .filter(|r| r.period == self.headline.period && r.risk == risk.slug)
                .take(TOP)
                .map(|row| {
                    json!({"rank": row.rank, "asn": row.area, "name": row.as_name.clone().unwrap_or_default(),
                           "sources": row.sources, "score": format!("{:.1}", row.score)})
                })
                .collect();
            let context = json!({
                "title": format!("{} — Nightjar", risk.title),
                "map": true,
                "map_values": self.map_section(risk),
                "risk": risk,
                "headline": self.headline_view(),
                "counting": self.counting(),
                "asns": asns,
                "redacted": self.redacted_as_names,
                "suppression": self.suppression(Some(&risk.slug)),
            });
            files.push(self.render(risk_page(&risk.slug), "risk.html", context)?);
        }
        let list = json!({"title": "Risks — Nightjar", "risks": self.risk_links()});
        files.push(self.render("risks.html", "risks.html", list)?);
        Ok(files)
    }

    /// The daily series of (country, risk) or of a port, with the partial day marked.
    fn daily_points(&self, value_of: impl Fn(&str) -> u64) -> Vec<SeriesPoint> {
        self.daily_countries
            .coverage
            .iter()
            .map(|c| SeriesPoint { label: c.period.clone(), value: value_of(&c.period), partial: c.partial })
            .collect()
    }

    fn partial_day(&self) -> Option<String> {
        self.daily_countries.coverage.iter().rev().find(|c| c.partial).map(|c| c.period.clone())
    }

    fn country_pages(&self) -> Result<Vec<SiteFile>, super::RiskError> {
        let codes: BTreeSet<&str> =
            self.headline_countries.rows.iter().chain(&self.daily_countries.rows).map(|r| r.area.as_str()).collect();
        // Daily series: (country, risk) → day label → sources.
        let mut daily: HashMap<(&str, &str), HashMap<&str, u64>> = HashMap::new();
        for row in &self.daily_countries.rows {
            daily.entry((row.area.as_str(), row.risk.as_str())).or_default().insert(row.period.as_str(), row.sources);
        }
        let risk_ports: BTreeMap<(u8, u16), &Vec<String>> =
            self.ports.iter().map(|p| ((p.protocol, p.port), &p.risks)).collect();
        let mut files = Vec::new();
        let mut countries = Vec::new();
        let mut regions = Vec::new();
        for code in codes {
            let name = name_of(code);
            let Some(href) = country_page(code) else {
                regions.push(json!({"code": code, "name": name}));
                continue;
            };
            countries.push(json!({"code": code, "name": name, "href": href}));
            let risks: Vec<Value> = self
                .taxonomy
                .risks()
                .iter()
                .map(|risk| {
                    let row = self
                        .headline_countries
                        .rows
                        .iter()
                        .find(|r| r.period == self.headline.period && r.risk == risk.slug && r.area == code);
                    json!({
                        "href": risk_page(&risk.slug),
                        "title": risk.title,
                        "sources": row.map_or(0, |r| r.sources),
                        "score": row.map(|r| format!("{:.1}", r.score)).unwrap_or_else(|| "0.0".into()),
                        "rank": row.map(|r| r.rank.to_string()).unwrap_or_default(),
                        "rate": opt(row.and_then(|r| r.rate_per_million), 3),
                        "excess": opt(row.and_then(|r| r.excess), 2),
                    })
                })
                .collect();
            let charts: Vec<Chart> = self
                .taxonomy
                .risks()
                .iter()
                .map(|risk| {
                    let series = daily.get(&(code, risk.slug.as_str()));
                    line_chart(
                        &risk.title,
                        &self.daily_points(|day| series.and_then(|s| s.get(day)).copied().unwrap_or(0)),
                    )
                })
                .collect();
            let asns: Vec<Value> = self
                .details
                .country_asns
                .get(code)
                .into_iter()
                .flatten()
                .map(|a| json!({"asn": a.asn, "name": a.name, "sources": a.sources}))
                .collect();
            let ports: Vec<Value> = self
                .details
                .country_ports
                .get(code)
                .into_iter()
                .flatten()
                .map(|p| {
                    let risks = risk_ports.get(&(p.protocol, p.port));
                    json!({
                        "name": port_name(p.protocol, p.port),
                        "href": risks.map(|_| port_page(p.protocol, p.port)),
                        "risks": risks.map(|r| r.join(", ")).unwrap_or_default(),
                        "sources": p.sources,
                    })
                })
                .collect();
            let context = json!({
                "title": format!("{name} — Nightjar"),
                "name": name,
                "code": code,
                "headline": self.headline_view(),
                "counting": self.counting(),
                "risks": risks,
                "k": self.k,
                "asns": asns,
                "asns_suppressed": self.details.country_asns_suppressed.get(code).copied().unwrap_or(0),
                "ports": ports,
                "charts": charts,
                "partial_day": self.partial_day(),
            });
            files.push(self.render(href, "country.html", context)?);
        }
        let list = json!({"title": "Countries — Nightjar", "countries": countries, "regions": regions});
        files.push(self.render("countries.html", "countries.html", list)?);
        Ok(files)
    }

    fn port_pages(&self) -> Result<Vec<SiteFile>, super::RiskError> {
        let mut files = Vec::new();
        let mut list = Vec::new();
        for port in &self.ports {
            let key = (port.protocol, port.port);
            let name = port_name(port.protocol, port.port);
            let href = port_page(port.protocol, port.port);
            let risk_links: Vec<Value> = port
                .risks
                .iter()
                .filter_map(|slug| self.taxonomy.get(slug).ok())
                .map(|r| json!({"href": risk_page(&r.slug), "title": r.title}))
                .collect();
            list.push(json!({
                "name": name, "href": href, "risks": port.risks.join(", "),
                "sources": self.details.port_sources.get(&key).copied().unwrap_or(0),
            }));
            let history = self.details.port_days.get(&key);
            let day_of = |label: &str| label.parse().ok().and_then(|day| history.and_then(|h| h.get(&day)).copied());
            let sources = self.daily_points(|day| day_of(day).map_or(0, |d| d.sources));
            let packets = self.daily_points(|day| day_of(day).map_or(0, |d| d.packets));
            let days: Vec<Value> = sources
                .iter()
                .zip(&packets)
                .rev()
                .map(|(s, p)| json!({"day": s.label, "partial": s.partial, "sources": s.value, "packets": p.value}))
                .collect();
            let countries: Vec<Value> = self
                .details
                .port_countries
                .get(&key)
                .into_iter()
                .flatten()
                .map(|(code, n)| json!({"code": code, "name": name_of(code), "href": country_page(code), "sources": n}))
                .collect();
            let context = json!({
                "title": format!("{name} — Nightjar"),
                "port": {"name": name, "risk_links": risk_links},
                "headline": self.headline_view(),
                "counting": self.counting(),
                "partial_day": self.partial_day(),
                "sources_chart": line_chart("Distinct sources per day", &sources),
                "packets_chart": line_chart("Packets per day", &packets),
                "days": days,
                "countries": countries,
            });
            files.push(self.render(href, "port.html", context)?);
        }
        let context = json!({"title": "Ports — Nightjar", "headline": self.headline_view(), "ports": list});
        files.push(self.render("ports.html", "ports.html", context)?);
        Ok(files)
    }

    /// The downloads page, listing `data` (the files of `data/` and what each holds).
    pub(super) fn downloads_page(&self, data: &[Download], files: &[SiteFile]) -> Result<SiteFile, super::RiskError> {
        let sizes: HashMap<&str, usize> = files.iter().map(|f| (f.path.as_str(), f.content.len())).collect();
        let rows: Vec<Value> = data
            .iter()
            .map(|d| {
                json!({
                    "href": d.path,
                    "name": d.path.trim_start_matches("data/"),
                    "description": d.description,
                    "size": sizes.get(d.path.as_str()).map(|n| size(*n)).unwrap_or_default(),
                })
            })
            .collect();
        let (from, to) = (self.headline_countries.from, self.headline_countries.to);
        let version = self.source.map(|s| format!(", table version {}", s.version)).unwrap_or_default();
        let citation = format!(
            "Nightjar darknet risk indicators, {from} to {to}{version}. Distinct risky source addresses per country and \
             autonomous system, computed by Nightjar from darknet traffic. Licensed under CC BY 4.0. \
             Includes IP to ASN data by RouteViews and DB-IP (CC BY 4.0)."
        );
        let context = json!({
            "title": "Open data — Nightjar",
            "from": from.to_string(),
            "to": to.to_string(),
            "files": rows,
            "citation": citation,
            "k": self.k,
        });
        self.render("downloads.html", "downloads.html", context)
    }

    fn methods_page(&self) -> Result<SiteFile, super::RiskError> {
        let context = json!({
            "title": "Methods — Nightjar",
            "counting": format!("Here: {}", self.counting()),
            "min_addresses": thousands(MIN_ADDRESSES_FOR_RATE),
            "k": self.k,
        });
        self.render("methods.html", "methods.html", context)
    }

    /// Every HTML page of the site but the downloads page (which lists the data files).
    pub fn pages(&self) -> Result<Vec<SiteFile>, super::RiskError> {
        let mut files = vec![self.index()?, self.methods_page()?];
        files.extend(self.risk_pages()?);
        files.extend(self.country_pages()?);
        files.extend(self.port_pages()?);
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_sizes_read_as_people_write_them() {
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(size(2048), "2.0 KB");
        assert_eq!(size(3 << 20), "3.0 MB");
        assert_eq!(size(12), "12 bytes");
        assert_eq!(country_page("AP"), None);
        assert_eq!(country_page("HK").as_deref(), Some("country-HK.html"));
    }

    #[test]
    fn the_published_column_description_states_the_minimum_address_space() {
        let minimum = thousands(MIN_ADDRESSES_FOR_RATE);
        let fields = crate::output::indicator_fields(crate::sql::Grouping::Country);
        let rate = fields.iter().find(|f| f.name == "rate_per_million").expect("a rate column");
        assert!(rate.description.contains(&minimum), "{}", rate.description);
    }
}
