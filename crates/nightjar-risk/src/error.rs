//! The risk crate's error type.

use std::path::PathBuf;

/// What can go wrong computing or publishing indicators.
#[derive(Debug, thiserror::Error)]
pub enum RiskError {
    /// `schemas/risks.csv` (or a taxonomy given by the caller) cannot be read.
    #[error("the risk taxonomy is invalid: {0}")]
    Taxonomy(String),
    /// A risk slug that the taxonomy does not list.
    #[error("unknown risk `{slug}`; known risks: {known}")]
    UnknownRisk {
        /// The slug asked for.
        slug: String,
        /// The taxonomy's slugs, comma-separated.
        known: String,
    },
    /// `--from` is after `--to`.
    #[error("the period starts ({from}) after it ends ({to}); swap --from and --to")]
    EmptyRange {
        /// First day asked for.
        from: chrono::NaiveDate,
        /// Last day asked for.
        to: chrono::NaiveDate,
    },
    /// A period name other than day, week, month, quarter or year.
    #[error("unknown period `{0}`: use day, week, month, quarter or year")]
    UnknownPeriod(String),
    /// The indicator SQL failed (or its result had an unexpected shape).
    #[error("indicator query failed")]
    Query(#[from] datafusion::error::DataFusionError),
    /// A query answered columns of types the indicator code does not expect.
    #[error("indicator query answered an unexpected column `{column}`: {why}")]
    Shape {
        /// The column.
        column: String,
        /// What was wrong with it.
        why: String,
    },
    /// Summing the country address space from the geo database failed.
    #[error("cannot sum address space per country")]
    Geo(#[from] nightjar_geo::GeoError),
    /// Writing a published file failed.
    #[error("cannot write {path}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Encoding a CSV or JSON output failed.
    #[error("cannot encode {what}: {why}")]
    Encode {
        /// Which output.
        what: String,
        /// The encoder's message.
        why: String,
    },
    /// A published file would contain an IP address; nothing is written.
    #[error("refusing to publish {file}: it would contain the address-like text `{found}`")]
    Privacy {
        /// The file name inside the site.
        file: String,
        /// The text that looks like an address.
        found: String,
    },
}

impl RiskError {
    pub(crate) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> RiskError {
        RiskError::Write { path: path.into(), source }
    }

    pub(crate) fn encode(what: impl Into<String>, why: impl std::fmt::Display) -> RiskError {
        RiskError::Encode { what: what.into(), why: why.to_string() }
    }
}
