//! Geo functions over the configured databases: `geo_country(addr)`, `geo_asn(addr)`, `geo_as_name(addr)`.
//!
//! The `country`, `asn` and `as_name` columns hold what was attached at ingest; these functions
//! answer from the databases the query layer was opened with, for any address (a destination, a
//! victim quoted in an ICMP error, an address typed by hand).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder, UInt32Builder};
use arrow::datatypes::DataType;
use datafusion::common::exec_datafusion_err;
use datafusion::error::Result;
use nightjar_geo::GeoDb;
use nightjar_packet::Addr16;

use super::args::{ArgKind, FunctionSpec, addresses};
use super::udf::SqlFunction;

/// What a geo function answers.
#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum GeoField {
    Country,
    Asn,
    AsName,
}

/// What the database holds for one address: a text (country code or AS name) and an AS number.
type GeoAnswer = Option<(Option<String>, Option<u32>)>;

/// One geo function bound to its database.
#[derive(Debug)]
pub(crate) struct GeoFunction {
    spec: FunctionSpec,
    field: GeoField,
    db: Arc<GeoDb>,
}

impl PartialEq for GeoFunction {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec && Arc::ptr_eq(&self.db, &other.db)
    }
}

impl Eq for GeoFunction {}

impl Hash for GeoFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.spec.hash(state);
        self.db.origin().hash(state);
    }
}

impl GeoFunction {
    /// `geo_country(addr)` over a country database.
    pub(crate) fn country(db: Arc<GeoDb>) -> GeoFunction {
        GeoFunction { spec: FunctionSpec::new("geo_country", &[ArgKind::Address], 1), field: GeoField::Country, db }
    }
    /// `geo_asn(addr)` over an ASN database.
    pub(crate) fn asn(db: Arc<GeoDb>) -> GeoFunction {
        GeoFunction { spec: FunctionSpec::new("geo_asn", &[ArgKind::Address], 1), field: GeoField::Asn, db }
    }
    /// `geo_as_name(addr)` over an ASN database.
    pub(crate) fn as_name(db: Arc<GeoDb>) -> GeoFunction {
        GeoFunction { spec: FunctionSpec::new("geo_as_name", &[ArgKind::Address], 1), field: GeoField::AsName, db }
    }

    fn lookup_error(&self, error: nightjar_geo::GeoError) -> datafusion::error::DataFusionError {
        exec_datafusion_err!("{}(): {}", self.spec.name, nightjar_ops::error_chain(&error))
    }
}

impl SqlFunction for GeoFunction {
    fn spec(&self) -> &FunctionSpec {
        &self.spec
    }
    fn result_type(&self) -> DataType {
        match self.field {
            GeoField::Country | GeoField::AsName => DataType::Utf8,
            GeoField::Asn => DataType::UInt32,
        }
    }
    fn compute(&self, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
        let addrs = addresses(self.spec.name, &args[0])?;
        // Sources repeat within a batch: look each distinct address up once.
        let mut seen: HashMap<Addr16, GeoAnswer> = HashMap::new();
        let mut answers = Vec::with_capacity(addrs.len());
        for addr in &addrs {
            let Some(addr) = addr else {
                answers.push(None);
                continue;
            };
            if let Some(answer) = seen.get(addr) {
                answers.push(answer.clone());
                continue;
            }
            let answer = match self.field {
                GeoField::Country => self
                    .db
                    .lookup_country(addr)
                    .map_err(|error| self.lookup_error(error))?
                    .map(|code| (Some(code.as_str().to_owned()), None)),
                GeoField::Asn | GeoField::AsName => self
                    .db
                    .lookup_asn(addr)
                    .map_err(|error| self.lookup_error(error))?
                    .map(|asn| (asn.name, Some(asn.number))),
            };
            seen.insert(*addr, answer.clone());
            answers.push(answer);
        }
        Ok(match self.field {
            GeoField::Asn => {
                let mut out = UInt32Builder::with_capacity(answers.len());
                for answer in answers {
                    out.append_option(answer.and_then(|(_, number)| number));
                }
                Arc::new(out.finish())
            }
            GeoField::Country | GeoField::AsName => {
                let mut out = StringBuilder::with_capacity(answers.len(), answers.len() * 4);
                for answer in answers {
                    out.append_option(answer.and_then(|(text, _)| text));
                }
                Arc::new(out.finish())
            }
        })
    }
}
