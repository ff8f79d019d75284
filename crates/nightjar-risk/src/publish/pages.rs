//! The HTML pages: index (map and ranking), risks, countries, one page per
//! risk and per country.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use super::chart::line_chart;
use super::html::{escape, page};
use super::map::{METRICS, MapValues, choropleth, country_names};
use super::{Site, SiteFile};
use crate::report::IndicatorRow;
use crate::taxonomy::Risk;

/// Rows shown in a risk page's top lists.
const TOP: usize = 20;

fn country_page(code: &str) -> String {
    format!("country-{code}.html")
}

fn risk_page(slug: &str) -> String {
    format!("risk-{slug}.html")
}

fn opt(value: Option<f64>, digits: usize) -> String {
    value.map(|v| format!("{v:.digits$}")).unwrap_or_default()
}

impl Site<'_> {
    fn name_of(&self, names: &BTreeMap<String, String>, code: &str) -> String {
        names.get(code).cloned().unwrap_or_else(|| code.to_string())
    }

    /// The headline period's country rows of one risk, by rank.
    fn country_rows(&self, slug: &str) -> Vec<&IndicatorRow> {
        self.headline_countries.rows.iter().filter(|r| r.period == self.headline && r.risk == slug).collect()
    }

    fn coverage_line(&self) -> String {
        let coverage = self.headline_countries.coverage.iter().find(|c| c.period == self.headline);
        match coverage {
            Some(c) => format!(
                "<p class=\"note\">Period {} ({} to {}). Sensors: {}. Distinct dark addresses observed: {} \
                 (as stored: sensors that truncate destinations for privacy count fewer). Counting: {}.</p>",
                escape(&c.period),
                c.first_day,
                c.last_day,
                c.sensors,
                c.dark_addresses,
                escape(&self.headline_countries.exclusions.describe())
            ),
            None => String::new(),
        }
    }

    fn suppression_line(&self, slug: Option<&str>) -> String {
        let total = self.suppressed_total;
        let here = slug.map(|s| self.suppressed.get(&(self.headline.clone(), s.to_string())).copied().unwrap_or(0));
        let mut line = format!(
            "<p class=\"note\" data-suppressed=\"{total}\">ASN tables: rows with fewer than {k} sources are suppressed \
             — {total} rows in all published ASN tables",
            k = self.k
        );
        if let (Some(here), Some(slug)) = (here, slug) {
            let _ = write!(line, ", {here} of them for {} in {}", escape(slug), escape(&self.headline));
        }
        line.push_str(".</p>");
        line
    }

    fn map_section(&self, risk: &Risk, names: &BTreeMap<String, String>) -> String {
        let rows = self.country_rows(&risk.slug);
        let values: BTreeMap<String, MapValues> = rows
            .iter()
            .map(|r| {
                let values =
                    MapValues { count: r.sources as f64, score: r.score, rate: r.rate_per_million, excess: r.excess };
                (r.area.clone(), values)
            })
            .collect();
        let title = format!("{} — {}, by country", risk.title, self.headline);
        let mut html = String::from("<div class=\"switch\" role=\"radiogroup\" aria-label=\"Metric\">Show: ");
        for (i, (metric, label)) in METRICS.iter().enumerate() {
            let checked = if i == 0 { " checked" } else { "" };
            let _ = write!(
                html,
                "<label><input type=\"radio\" name=\"metric\" value=\"{metric}\"{checked}> {label}</label>"
            );
        }
        html.push_str("</div>\n");
        html.push_str(&choropleth(&values, &title, country_page));
        html.push_str("<p class=\"note\">Countries too small for the 1:110m map are in the table only.</p>\n");
        html.push_str(&self.ranking_table(&rows, names, None));
        html
    }

    fn ranking_table(&self, rows: &[&IndicatorRow], names: &BTreeMap<String, String>, limit: Option<usize>) -> String {
        let mut html = String::from(
            "<table class=\"ranking\" data-sortable><thead><tr><th class=\"n\">Rank</th><th>Country</th>\
             <th class=\"n\">Sources</th><th class=\"n\">Score</th><th class=\"n\">Per million addresses</th>\
             <th class=\"n\">Excess</th></tr></thead><tbody>\n",
        );
        for row in rows.iter().take(limit.unwrap_or(usize::MAX)) {
            let _ = writeln!(
                html,
                "<tr data-count=\"{c}\" data-score=\"{s}\" data-rate=\"{r}\" data-excess=\"{e}\"><td class=\"n\">{rank}</td>\
                 <td><a href=\"{href}\">{name}</a> ({code})</td><td class=\"n\">{c}</td><td class=\"n\">{s:.1}</td>\
                 <td class=\"n\">{rate}</td><td class=\"n\">{excess}</td></tr>",
                c = row.sources,
                s = row.score,
                r = row.rate_per_million.map(|v| v.to_string()).unwrap_or_default(),
                e = row.excess.map(|v| v.to_string()).unwrap_or_default(),
                rank = row.rank,
                href = escape(&country_page(&row.area)),
                name = escape(&self.name_of(names, &row.area)),
                code = escape(&row.area),
                rate = opt(row.rate_per_million, 3),
                excess = opt(row.excess, 2),
            );
        }
        html.push_str("</tbody></table>\n");
        html
    }

    fn index(&self, names: &BTreeMap<String, String>) -> SiteFile {
        let risk = self.headline_risk;
        let mut body = format!(
            "<h1>{} by country, {}</h1>\n<p>{}: a source counts when it sent the darknet {}. Unit: {}.</p>\n",
            escape(&risk.title),
            escape(&self.headline),
            escape(&risk.title),
            escape(&risk.rule),
            escape(&risk.unit)
        );
        body.push_str(&self.coverage_line());
        body.push_str(&self.map_section(risk, names));
        body.push_str("<h2>Other risks</h2><ul>");
        for other in self.taxonomy.risks() {
            let _ =
                write!(body, "<li><a href=\"{}\">{}</a></li>", escape(&risk_page(&other.slug)), escape(&other.title));
        }
        body.push_str("</ul>\n");
        body.push_str(&self.suppression_line(None));
        SiteFile::new("index.html", page(&format!("Nightjar risk statistics — {}", self.headline), &body))
    }

    fn risk_pages(&self, names: &BTreeMap<String, String>) -> Vec<SiteFile> {
        let mut files = Vec::new();
        let mut list = String::from(
            "<h1>Risks</h1><table><thead><tr><th>Id</th><th>Risk</th><th>Taxonomy</th><th>Rule</th></tr></thead><tbody>",
        );
        for risk in self.taxonomy.risks() {
            let _ = write!(
                list,
                "<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
                risk.id,
                escape(&risk_page(&risk.slug)),
                escape(&risk.title),
                escape(&risk.taxonomy),
                escape(&risk.rule)
            );
            let mut body = format!(
                "<h1>{} ({}), {}</h1>\n<p>{} — a source counts when it sent the darknet {}.</p>\n",
                escape(&risk.title),
                escape(&risk.slug),
                escape(&self.headline),
                escape(&risk.taxonomy),
                escape(&risk.rule)
            );
            body.push_str(&self.coverage_line());
            body.push_str(&self.map_section(risk, names));
            body.push_str("<h2>Top autonomous systems</h2>\n");
            let asns: Vec<&IndicatorRow> =
                self.headline_asns.rows.iter().filter(|r| r.period == self.headline && r.risk == risk.slug).collect();
            body.push_str("<table><thead><tr><th class=\"n\">Rank</th><th>AS</th><th>Name</th><th class=\"n\">Sources</th><th class=\"n\">Score</th></tr></thead><tbody>\n");
            for row in asns.iter().take(TOP) {
                let _ = writeln!(
                    body,
                    "<tr><td class=\"n\">{}</td><td>AS{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td></tr>",
                    row.rank,
                    escape(&row.area),
                    escape(row.as_name.as_deref().unwrap_or("")),
                    row.sources,
                    row.score
                );
            }
            body.push_str("</tbody></table>\n");
            if self.redacted_as_names > 0 {
                let _ = writeln!(
                    body,
                    "<p class=\"note\">{} AS {} from the ASN database read as an IP address and {} shown as the AS number.</p>",
                    self.redacted_as_names,
                    if self.redacted_as_names == 1 { "name" } else { "names" },
                    if self.redacted_as_names == 1 { "is" } else { "are" },
                );
            }
            body.push_str(&self.suppression_line(Some(&risk.slug)));
            files.push(SiteFile::new(risk_page(&risk.slug), page(&format!("{} — Nightjar", risk.title), &body)));
        }
        list.push_str("</tbody></table>");
        files.push(SiteFile::new("risks.html", page("Risks — Nightjar", &list)));
        files
    }

    fn country_pages(&self, names: &BTreeMap<String, String>) -> Vec<SiteFile> {
        let codes: BTreeSet<&str> =
            self.headline_countries.rows.iter().chain(&self.daily_countries.rows).map(|r| r.area.as_str()).collect();
        // Daily series: (country, risk) → day label → sources.
        let mut daily: HashMap<(&str, &str), HashMap<&str, u64>> = HashMap::new();
        for row in &self.daily_countries.rows {
            daily.entry((row.area.as_str(), row.risk.as_str())).or_default().insert(row.period.as_str(), row.sources);
        }
        let days: Vec<&str> = self.daily_countries.coverage.iter().map(|c| c.period.as_str()).collect();
        let mut files = Vec::new();
        let mut list = String::from("<h1>Countries</h1><ul>");
        for code in &codes {
            let name = self.name_of(names, code);
            let _ = write!(
                list,
                "<li><a href=\"{}\">{}</a> ({})</li>",
                escape(&country_page(code)),
                escape(&name),
                escape(code)
            );
            let mut body = format!("<h1>{} ({})</h1>\n", escape(&name), escape(code));
            body.push_str(&self.coverage_line());
            let _ = writeln!(
                body,
                "<h2>{}</h2><table><thead><tr><th>Risk</th><th class=\"n\">Sources</th><th class=\"n\">Score</th>\
                 <th class=\"n\">Rank</th><th class=\"n\">Per million addresses</th><th class=\"n\">Excess</th></tr></thead><tbody>",
                escape(&self.headline)
            );
            for risk in self.taxonomy.risks() {
                let row = self
                    .headline_countries
                    .rows
                    .iter()
                    .find(|r| r.period == self.headline && r.risk == risk.slug && r.area == *code);
                let _ = writeln!(
                    body,
                    "<tr><td><a href=\"{}\">{}</a></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    escape(&risk_page(&risk.slug)),
                    escape(&risk.title),
                    row.map_or(0, |r| r.sources),
                    row.map(|r| format!("{:.1}", r.score)).unwrap_or_else(|| "0.0".into()),
                    row.map(|r| r.rank.to_string()).unwrap_or_default(),
                    opt(row.and_then(|r| r.rate_per_million), 3),
                    opt(row.and_then(|r| r.excess), 2),
                );
            }
            body.push_str("</tbody></table>\n<h2>Sources per day</h2>\n<div class=\"charts\">\n");
            for risk in self.taxonomy.risks() {
                let series = daily.get(&(*code, risk.slug.as_str()));
                let points: Vec<(String, u64)> =
                    days.iter().map(|d| (d.to_string(), series.and_then(|s| s.get(d)).copied().unwrap_or(0))).collect();
                body.push_str(&line_chart(&risk.title, &points));
                body.push('\n');
            }
            body.push_str("</div>\n");
            files.push(SiteFile::new(country_page(code), page(&format!("{name} — Nightjar"), &body)));
        }
        list.push_str("</ul>");
        files.push(SiteFile::new("countries.html", page("Countries — Nightjar", &list)));
        files
    }

    /// Every HTML page of the site.
    pub fn pages(&self) -> Vec<SiteFile> {
        let names = country_names();
        let mut files = vec![self.index(&names)];
        files.extend(self.risk_pages(&names));
        files.extend(self.country_pages(&names));
        files
    }
}
