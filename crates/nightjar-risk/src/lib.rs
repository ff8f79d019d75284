//! Per-country and per-ASN risk indicators from darknet traffic, CyberGreen
//! style, and the static site that publishes them.
//!
//! The contract is the repository's `RISKS.md` summary in `schemas/risks.csv`
//! ([`Taxonomy`]): for each risk (Mirai-infected, Telnet scanners, …, DDoS
//! victims, any), the number of **distinct source addresses** per country (or
//! AS) and period, distinct over the whole period. From the counts:
//!
//! - **score** ([`stats::score`]): `100 × ln(count) / ln(max)`;
//! - **rank** ([`stats::ranks`]): competition ranking, 1 for the largest;
//! - **rate**: sources per million IPv4 addresses of the country, the space
//!   summed from the same geo database ([`AddressSpace`]); only for countries
//!   of at least [`MIN_ADDRESSES_FOR_RATE`] addresses;
//! - **excess** ([`stats::excess`]): Mejiro-style standard score of the
//!   residual of ln(count) fitted on ln(addresses);
//! - **coverage**: sensors and dark addresses behind each period, and whether
//!   the period is **partial** (the days counted are fewer than its calendar
//!   days, or its last day is still incomplete: [`Period::partial`]).
//!
//! Counting is SQL over the query layer's `packets` table ([`IndicatorQuery::sql`],
//! what `nightjar risk --show-sql` prints); each risk's SQL predicate lives in
//! [`predicate::PREDICATES`]. [`publish()`] writes the static site and open data.
//!
//! ```no_run
//! # async fn example(ctx: &datafusion::prelude::SessionContext) -> Result<(), nightjar_risk::RiskError> {
//! use nightjar_risk::{AddressSpace, Exclusions, Grouping, IndicatorQuery, IndicatorReport, PeriodKind, Taxonomy};
//! let taxonomy = Taxonomy::embedded();
//! let query = IndicatorQuery {
//!     kind: PeriodKind::Week,
//!     from: "2026-11-23".parse().unwrap(),
//!     to: "2026-11-29".parse().unwrap(),
//!     by: Grouping::Country,
//!     risks: vec![taxonomy.get("mirai")?.clone()],
//!     exclusions: Exclusions::default(),
//! };
//! let space = AddressSpace::from_geo(&nightjar_geo::GeoDb::embedded_country())?;
//! let report = IndicatorReport::compute(ctx, &query, &taxonomy, &space).await?;
//! print!("{}", report.to_text());
//! # Ok(()) }
//! ```

mod error;
mod output;
mod period;
pub mod predicate;
pub mod publish;
mod report;
mod rollup_sql;
mod sql;
pub mod stats;
mod taxonomy;

pub use error::RiskError;
pub use output::{Column, Field, coverage_fields, indicator_fields, row_values, to_csv};
pub use period::{Period, PeriodKind, describe_period};
pub use publish::{PUBLISH_STEPS, PublishOptions, PublishSummary, SourceVersion, publish, publish_with_progress};
pub use report::{AddressSpace, Coverage, IndicatorReport, IndicatorRow, MIN_ADDRESSES_FOR_RATE, observed_days};
pub use rollup_sql::{CountSource, SOURCE_DAYS_TABLE, packet_condition, rollup_flag_column};
pub use sql::{Exclusions, Grouping, IndicatorQuery};
pub use taxonomy::{RISKS_CSV, Risk, Taxonomy};
