//! `nightjar publish`: the static statistics site and its open data.
//!
//! ```text
//! OUT/index.html            map and ranking of the headline risk and latest complete period, count/score/rate/excess switch
//! OUT/risks.html            the taxonomy; OUT/risk-<slug>.html: map, top countries, top ASNs
//! OUT/countries.html        every country; OUT/country-<CC>.html: its risks, top ASNs and ports, daily series
//! OUT/ports.html            the risk ports; OUT/port-<tcp|udp>-<N>.html: its daily history, top countries
//! OUT/methods.html          how the numbers are made; OUT/downloads.html: the open data, licence, citation
//! OUT/assets/map.js         the world's shapes, the code that draws a page's map and its metric switch
//! OUT/assets/site.css       the one stylesheet
//! OUT/data/                 CSV per table and period length, risks, coverage, port history, summary, datapackage.json
//! ```
//!
//! Pages are minijinja templates (`templates/`, auto-escaped), with their charts inline; the only
//! files a page loads are the stylesheet and (pages with a map) the shared map script, from the
//! site itself: the site opens from disk and requests nothing elsewhere. A period that covers fewer days than it has
//! is labelled with its days and marked partial; the front page shows the latest complete period
//! of its length when there is one. AS names from the ASN database that read as an address are
//! shown as `AS<number>` (counted in `data/summary.json` and on the risk pages). Before anything
//! is written, every file is checked for text that reads as an IP address; one found fails the
//! publish.

mod chart;
mod countries;
mod data;
mod detail;
mod map;
mod pages;
mod ports;
mod privacy;
mod redact;
mod render;

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use serde_json::{Value, json};

use crate::error::RiskError;
use crate::period::{PeriodKind, describe_period};
use crate::report::{AddressSpace, Coverage, IndicatorReport};
use crate::rollup_sql::CountSource;
use crate::sql::{Exclusions, Grouping, IndicatorQuery};
use crate::taxonomy::{Risk, Taxonomy};

pub use countries::{is_country, known_name};
pub use privacy::find_address;
pub use redact::redact_address_like_as_names;

/// What to publish.
#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// First day (UTC) of the data published.
    pub from: NaiveDate,
    /// Last day (UTC) of the data published.
    pub to: NaiveDate,
    /// The period length of the index map and tables (its latest complete period with data is
    /// shown; the latest partial one when none is complete).
    pub headline_period: PeriodKind,
    /// The risk of the index map.
    pub headline_risk: String,
    /// ASN rows with fewer sources than this are suppressed.
    pub k: u64,
    /// What is left out of the counts.
    pub exclusions: Exclusions,
    /// The table version the numbers were computed from, when the dataset is a Delta table.
    pub source: Option<SourceVersion>,
    /// Whether the counts come from the packets or from the `source_days` rollup (only when
    /// every day's rollup is current: the counts are the same).
    pub counted_from: CountSource,
}

/// Which version of the dataset's table a site was computed from, so every number can be
/// recomputed (`nightjar publish --as-of VERSION`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceVersion {
    /// The table version.
    pub version: u64,
    /// When it was committed (RFC 3339, UTC).
    pub committed_at: Option<String>,
}

impl SourceVersion {
    /// The facts as JSON, for `summary.json` and `datapackage.json`.
    pub fn to_json(&self) -> Value {
        json!({"table_version": self.version, "committed_at": self.committed_at})
    }
}

/// What [`publish`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishSummary {
    /// Files written (pages and data).
    pub files: usize,
    /// Countries with a page.
    pub countries: usize,
    /// The headline period's label, with its days when partial.
    pub headline: String,
    /// Whether the headline period is partial (no complete period of its length has data).
    pub headline_partial: bool,
    /// ASN rows suppressed over every published ASN table.
    pub suppressed_asn_rows: u64,
    /// ASes whose name from the ASN database read as an address, shown as `AS<number>` instead.
    pub redacted_as_names: usize,
}

/// How many steps [`publish_with_progress`] reports: two tables per period length, the country
/// and port details, the pages, the privacy check and the writing of the files.
pub const PUBLISH_STEPS: u64 = 2 * PeriodKind::ALL.len() as u64 + 4;

/// One file of the site, by its path relative to the output folder.
#[derive(Clone, Debug)]
pub(crate) struct SiteFile {
    path: String,
    content: String,
}

impl SiteFile {
    pub(crate) fn new(path: impl Into<String>, content: String) -> SiteFile {
        SiteFile { path: path.into(), content }
    }
}

/// Everything the pages are drawn from.
pub(crate) struct Site<'a> {
    renderer: &'a render::Renderer,
    taxonomy: &'a Taxonomy,
    headline_risk: &'a Risk,
    /// The front page's period.
    headline: Coverage,
    headline_countries: &'a IndicatorReport,
    headline_asns: &'a IndicatorReport,
    daily_countries: &'a IndicatorReport,
    k: u64,
    suppressed_total: u64,
    /// (period label, risk slug) → ASN rows suppressed, for the headline period length.
    suppressed: HashMap<(String, String), u64>,
    /// ASes whose name was redacted because it read as an address.
    redacted_as_names: usize,
    /// Each country's top ASes and ports, each risk port's history.
    details: &'a detail::Details,
    /// The ports of the taxonomy, each with a page.
    ports: Vec<ports::RiskPort>,
    /// The table version the site was computed from.
    source: Option<&'a SourceVersion>,
}

/// Compute every table on `ctx` (a `packets` table registered) and write the site into `out_dir`.
pub async fn publish(
    ctx: &SessionContext,
    out_dir: &Path,
    options: &PublishOptions,
    taxonomy: &Taxonomy,
    space: &AddressSpace,
) -> Result<PublishSummary, RiskError> {
    publish_with_progress(ctx, out_dir, options, taxonomy, space, &mut |_| {}).await
}

/// [`publish`], calling `on_step` with what it is about to do before each of its
/// [`PUBLISH_STEPS`] steps (for a progress bar).
pub async fn publish_with_progress(
    ctx: &SessionContext,
    out_dir: &Path,
    options: &PublishOptions,
    taxonomy: &Taxonomy,
    space: &AddressSpace,
    on_step: &mut (dyn FnMut(&str) + Send),
) -> Result<PublishSummary, RiskError> {
    let headline_risk = taxonomy.get(&options.headline_risk)?;
    let mut countries = Vec::new();
    let mut asns = Vec::new();
    let mut suppressed = HashMap::new();
    for kind in PeriodKind::ALL {
        let query = |by| IndicatorQuery {
            kind,
            from: options.from,
            to: options.to,
            by,
            risks: taxonomy.risks().to_vec(),
            exclusions: options.exclusions,
        };
        on_step(&format!("countries per {kind}"));
        countries.push(
            IndicatorReport::compute_from(ctx, &query(Grouping::Country), taxonomy, space, options.counted_from)
                .await?,
        );
        on_step(&format!("autonomous systems per {kind}"));
        let mut asn =
            IndicatorReport::compute_from(ctx, &query(Grouping::Asn), taxonomy, space, options.counted_from).await?;
        if kind == options.headline_period {
            for row in asn.rows.iter().filter(|r| r.sources < options.k) {
                *suppressed.entry((row.period.clone(), row.risk.clone())).or_insert(0u64) += 1;
            }
        }
        asn.suppress(options.k);
        asns.push(asn);
    }
    let mut redacted = redact_address_like_as_names(&mut asns);
    let position = |kind: PeriodKind| PeriodKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
    let headline_countries = &countries[position(options.headline_period)];
    let headline_asns = &asns[position(options.headline_period)];
    let Some(headline) = headline_countries.latest_complete_period().cloned() else {
        return Err(RiskError::EmptyRange { from: options.from, to: options.to });
    };
    let headline_label = describe_period(&headline.period, headline.first_day, headline.last_day, headline.partial);
    on_step("country and port details");
    let risk_ports = ports::risk_ports();
    let details = detail::Details::compute(
        ctx,
        (headline.first_day, headline.last_day),
        (options.from, options.to),
        options.exclusions,
        &risk_ports,
        options.k,
    )
    .await?;
    redacted.extend(details.redacted_asns.iter().copied());
    let suppressed_total: u64 = asns.iter().map(|a| a.suppressed_rows).sum();
    let summary = json!({
        "from": options.from.to_string(),
        "to": options.to.to_string(),
        "research_scanners_excluded": options.exclusions.research,
        "likely_spoofed_excluded": options.exclusions.spoofed,
        "asn_suppression_k": options.k,
        "asn_rows_suppressed": asns.iter().map(|a| (a.period_kind.name(), a.suppressed_rows)).collect::<HashMap<_, _>>(),
        "asn_rows_suppressed_total": suppressed_total,
        "as_names_redacted": redacted.len(),
        "as_names_redacted_note": "AS names from the ASN database that read as an IP address are shown as AS<number>.",
        "as_names_redacted_asns": redacted.iter().collect::<Vec<_>>(),
        "country_database": format!("iptoasn-country {}", nightjar_geo::EMBEDDED_COUNTRY_DB_VERSION),
        "headline": {"period": headline.period, "first_day": headline.first_day.to_string(),
                     "last_day": headline.last_day.to_string(), "partial": headline.partial, "risk": headline_risk.slug},
        "min_addresses_for_rate": crate::report::MIN_ADDRESSES_FOR_RATE,
        "source": options.source.as_ref().map(SourceVersion::to_json),
    });
    let renderer = render::Renderer::new(options.source.as_ref())?;
    let site = Site {
        renderer: &renderer,
        taxonomy,
        headline_risk,
        headline: headline.clone(),
        headline_countries,
        headline_asns,
        daily_countries: &countries[0],
        k: options.k,
        suppressed_total,
        suppressed,
        redacted_as_names: redacted.len(),
        details: &details,
        ports: risk_ports,
        source: options.source.as_ref(),
    };
    on_step("pages");
    let mut files = site.pages()?;
    files.push(SiteFile::new("assets/map.js", map::map_asset()));
    files.push(SiteFile::new("assets/site.css", include_str!("site.css").to_string()));
    let country_pages = files.iter().filter(|f| f.path.starts_with("country-")).count();
    let (data_files, downloads) = data::data_files(&countries, &asns, &details, &summary)?;
    files.push(site.downloads_page(&downloads, &data_files)?);
    files.extend(data_files);
    on_step("privacy check");
    for file in &files {
        if let Some(found) = find_address(&file.content) {
            return Err(RiskError::Privacy { file: file.path.clone(), found: found.to_string() });
        }
    }
    on_step("writing files");
    for file in &files {
        let path = out_dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| RiskError::write(parent, e))?;
        }
        std::fs::write(&path, &file.content).map_err(|e| RiskError::write(&path, e))?;
    }
    Ok(PublishSummary {
        files: files.len(),
        countries: country_pages,
        headline: headline_label,
        headline_partial: headline.partial,
        suppressed_asn_rows: suppressed_total,
        redacted_as_names: redacted.len(),
    })
}
