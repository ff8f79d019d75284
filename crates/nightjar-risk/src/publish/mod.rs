//! `nightjar publish`: the static statistics site and its open data.
//!
//! ```text
//! OUT/index.html            map and ranking of the headline risk and period, count/score/rate/excess switch
//! OUT/risks.html            the taxonomy; OUT/risk-<slug>.html: map, top countries, top ASNs
//! OUT/countries.html        every country; OUT/country-<CC>.html: its risks and daily series
//! OUT/data/                 CSV + JSON per table and period length, risks, coverage, summary, datapackage.json
//! ```
//!
//! Everything is inline (CSS, script, SVG map and charts): the site opens
//! from disk and requests nothing. AS names from the ASN database that read as
//! an address are shown as `AS<number>` (counted in `data/summary.json` and on
//! the risk pages). Before anything is written, every file is checked for text
//! that reads as an IP address; one found fails the publish.

mod chart;
mod data;
mod html;
mod map;
mod pages;
mod privacy;
mod redact;

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use serde_json::{Value, json};

use crate::error::RiskError;
use crate::period::PeriodKind;
use crate::report::{AddressSpace, IndicatorReport};
use crate::sql::{Exclusions, Grouping, IndicatorQuery};
use crate::taxonomy::{Risk, Taxonomy};

pub use privacy::find_address;
pub use redact::redact_address_like_as_names;

/// What to publish.
#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// First day (UTC) of the data published.
    pub from: NaiveDate,
    /// Last day (UTC) of the data published.
    pub to: NaiveDate,
    /// The period length of the index map and tables (its latest period with data is shown).
    pub headline_period: PeriodKind,
    /// The risk of the index map.
    pub headline_risk: String,
    /// ASN rows with fewer sources than this are suppressed.
    pub k: u64,
    /// What is left out of the counts.
    pub exclusions: Exclusions,
    /// The table version the numbers were computed from, when the dataset is a Delta table.
    pub source: Option<SourceVersion>,
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

    /// One sentence for the pages' footer.
    fn footer_line(&self) -> String {
        let when = self.committed_at.as_deref().map(|t| format!(", committed {t}")).unwrap_or_default();
        format!(
            "<p>Computed from version {} of the dataset's table{when}; \
             <code>nightjar publish --as-of {}</code> recomputes every number.</p>",
            self.version, self.version
        )
    }
}

/// What [`publish`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishSummary {
    /// Files written (pages and data).
    pub files: usize,
    /// Countries with a page.
    pub countries: usize,
    /// The headline period's label.
    pub headline: String,
    /// ASN rows suppressed over every published ASN table.
    pub suppressed_asn_rows: u64,
    /// ASes whose name from the ASN database read as an address, shown as `AS<number>` instead.
    pub redacted_as_names: usize,
}

/// How many steps [`publish_with_progress`] reports: two tables per period length, the pages,
/// the privacy check and the writing of the files.
pub const PUBLISH_STEPS: u64 = 2 * PeriodKind::ALL.len() as u64 + 3;

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
    taxonomy: &'a Taxonomy,
    headline_risk: &'a Risk,
    headline: String,
    headline_countries: &'a IndicatorReport,
    headline_asns: &'a IndicatorReport,
    daily_countries: &'a IndicatorReport,
    k: u64,
    suppressed_total: u64,
    /// (period label, risk slug) → ASN rows suppressed, for the headline period length.
    suppressed: HashMap<(String, String), u64>,
    /// ASes whose name was redacted because it read as an address.
    redacted_as_names: usize,
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
        countries.push(IndicatorReport::compute(ctx, &query(Grouping::Country), taxonomy, space).await?);
        on_step(&format!("autonomous systems per {kind}"));
        let mut asn = IndicatorReport::compute(ctx, &query(Grouping::Asn), taxonomy, space).await?;
        if kind == options.headline_period {
            for row in asn.rows.iter().filter(|r| r.sources < options.k) {
                *suppressed.entry((row.period.clone(), row.risk.clone())).or_insert(0u64) += 1;
            }
        }
        asn.suppress(options.k);
        asns.push(asn);
    }
    let redacted = redact_address_like_as_names(&mut asns);
    let position = |kind: PeriodKind| PeriodKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
    let headline_countries = &countries[position(options.headline_period)];
    let headline_asns = &asns[position(options.headline_period)];
    // The latest period with any packet; the last period when none has.
    let headline = headline_countries
        .coverage
        .iter()
        .rev()
        .find(|c| c.sensors > 0)
        .or(headline_countries.coverage.last())
        .map(|c| c.period.clone())
        .unwrap_or_default();
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
        "headline": {"period": headline, "risk": headline_risk.slug},
        "source": options.source.as_ref().map(SourceVersion::to_json),
    });
    let site = Site {
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
    };
    on_step("pages");
    let mut files = site.pages();
    if let Some(source) = &options.source {
        let line = source.footer_line();
        for file in files.iter_mut().filter(|f| f.path.ends_with(".html")) {
            file.content = file.content.replacen("</footer>", &format!("{line}</footer>"), 1);
        }
    }
    let country_pages = files.iter().filter(|f| f.path.starts_with("country-")).count();
    files.extend(data::data_files(taxonomy, &countries, &asns, &summary)?);
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
        headline,
        suppressed_asn_rows: suppressed_total,
        redacted_as_names: redacted.len(),
    })
}
