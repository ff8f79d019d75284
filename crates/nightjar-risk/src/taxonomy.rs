//! The risk taxonomy: `schemas/risks.csv`, compiled in and parsed once.

use serde::{Deserialize, Serialize};

use crate::error::RiskError;

/// The taxonomy file as shipped in `schemas/risks.csv`.
pub const RISKS_CSV: &str = include_str!("../../../schemas/risks.csv");

/// One risk of the taxonomy (one row of `schemas/risks.csv`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    /// Stable numeric id (1–11, 100 for the combined risk).
    pub id: u32,
    /// Stable name used on the command line, in files and in URLs (`mirai`, `amplifier-probe`).
    pub slug: String,
    /// Short title for people ("Mirai-infected devices").
    pub title: String,
    /// Infected, Scanning, Attacked or Combined.
    pub taxonomy: String,
    /// When a source counts, in words (what `crate::predicate` turns into SQL).
    pub rule: String,
    /// What is counted: distinct source addresses.
    pub unit: String,
}

impl Risk {
    /// The slug as a SQL column name: `amplifier-probe` → `amplifier_probe`.
    pub fn column(&self) -> String {
        column_name(&self.slug)
    }
}

/// The slug as a SQL column name (`-` becomes `_`).
pub(crate) fn column_name(slug: &str) -> String {
    slug.replace('-', "_")
}

/// The list of risks, in the file's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taxonomy {
    risks: Vec<Risk>,
}

impl Taxonomy {
    /// The taxonomy shipped with Nightjar (`schemas/risks.csv`).
    pub fn embedded() -> Taxonomy {
        Taxonomy::from_csv(RISKS_CSV).expect("schemas/risks.csv parses (checked by this crate's tests)")
    }

    /// Parse a taxonomy in the `risks.csv` format; slugs must be unique and non-empty.
    pub fn from_csv(text: &str) -> Result<Taxonomy, RiskError> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut risks: Vec<Risk> = Vec::new();
        for (line, row) in reader.deserialize().enumerate() {
            let risk: Risk = row.map_err(|e| RiskError::Taxonomy(format!("row {}: {e}", line + 2)))?;
            if risk.slug.is_empty() || !risk.slug.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
                return Err(RiskError::Taxonomy(format!("slug `{}` is not lower-case letters and `-`", risk.slug)));
            }
            if risks.iter().any(|r| r.slug == risk.slug || r.id == risk.id) {
                return Err(RiskError::Taxonomy(format!("risk `{}` (id {}) is listed twice", risk.slug, risk.id)));
            }
            risks.push(risk);
        }
        if risks.is_empty() {
            return Err(RiskError::Taxonomy("no risks listed".into()));
        }
        Ok(Taxonomy { risks })
    }

    /// Every risk, in the file's order.
    pub fn risks(&self) -> &[Risk] {
        &self.risks
    }

    /// The risk called `slug`.
    pub fn get(&self, slug: &str) -> Result<&Risk, RiskError> {
        self.risks.iter().find(|r| r.slug == slug).ok_or_else(|| RiskError::UnknownRisk {
            slug: slug.to_string(),
            known: self.risks.iter().map(|r| r.slug.as_str()).collect::<Vec<_>>().join(", "),
        })
    }
}
