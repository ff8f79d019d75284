//! Enrichment of packet record batches: source country, ASN and AS name,
//! as the databases answer at the time of observation.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, FixedSizeBinaryArray, StringArray, UInt32Array};
use arrow::record_batch::RecordBatch;
use nightjar_packet::Addr16;
use nightjar_record::col;

use crate::country::CountryCode;
use crate::db::GeoDb;
use crate::error::GeoError;
use crate::record::Asn;

/// Why a batch could not be enriched.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// The batch lacks a column the enricher reads or writes.
    #[error("the batch has no `{0}` column of the packet record schema")]
    MissingColumn(&'static str),
    /// Replacing the columns failed (cannot happen for packet record batches).
    #[error("rebuilding the enriched batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A database record could not be read.
    #[error(transparent)]
    Geo(#[from] GeoError),
}

/// Fills the `country`, `asn` and `as_name` columns of packet record batches
/// from a country database and, optionally, an ASN database. Each distinct
/// source address of a batch is looked up once.
#[derive(Debug)]
pub struct Enricher {
    country: Arc<GeoDb>,
    asn: Option<Arc<GeoDb>>,
}

/// What one source address resolved to.
struct Attribution {
    country: Option<CountryCode>,
    asn: Option<Asn>,
}

impl Enricher {
    /// An enricher over a country database and an optional ASN database.
    pub fn new(country: Arc<GeoDb>, asn: Option<Arc<GeoDb>>) -> Self {
        Enricher { country, asn }
    }

    /// The country database in use.
    pub fn country_db(&self) -> &GeoDb {
        &self.country
    }

    /// The ASN database in use, if any.
    pub fn asn_db(&self) -> Option<&GeoDb> {
        self.asn.as_deref()
    }

    /// The batch with its enrichment columns filled (replacing what they held).
    pub fn enrich(&self, batch: &RecordBatch) -> Result<RecordBatch, EnrichError> {
        let schema = batch.schema();
        let index = |name: &'static str| schema.index_of(name).map_err(|_| EnrichError::MissingColumn(name));
        let (src_index, country_index, asn_index, name_index) =
            (index(col::SRC_IP)?, index(col::COUNTRY)?, index(col::ASN)?, index(col::AS_NAME)?);
        let sources = batch
            .column(src_index)
            .as_any()
            .downcast_ref::<FixedSizeBinaryArray>()
            .filter(|a| a.value_length() == 16)
            .ok_or(EnrichError::MissingColumn(col::SRC_IP))?;

        // Each distinct source is looked up once; rows then point at its answer.
        let mut seen: HashMap<Addr16, usize> = HashMap::new();
        let mut distinct: Vec<Attribution> = Vec::new();
        let mut row_attribution: Vec<Option<usize>> = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            if sources.is_null(row) {
                row_attribution.push(None);
                continue;
            }
            let addr: Addr16 = sources.value(row).try_into().expect("value_length was checked to be 16");
            let index = match seen.get(&addr) {
                Some(&index) => index,
                None => {
                    distinct.push(self.attribute(&addr)?);
                    seen.insert(addr, distinct.len() - 1);
                    distinct.len() - 1
                }
            };
            row_attribution.push(Some(index));
        }
        let of_row = |row: &Option<usize>| row.map(|index| &distinct[index]);
        let countries: StringArray = row_attribution
            .iter()
            .map(|row| of_row(row).and_then(|a| a.country.as_ref()).map(|c| c.as_str()))
            .collect();
        let asns: UInt32Array =
            row_attribution.iter().map(|row| of_row(row).and_then(|a| a.asn.as_ref()).map(|a| a.number)).collect();
        let names: StringArray = row_attribution
            .iter()
            .map(|row| of_row(row).and_then(|a| a.asn.as_ref()).and_then(|a| a.name.as_deref()))
            .collect();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns[country_index] = Arc::new(countries);
        columns[asn_index] = Arc::new(asns);
        columns[name_index] = Arc::new(names);
        Ok(RecordBatch::try_new(schema, columns)?)
    }

    fn attribute(&self, addr: &Addr16) -> Result<Attribution, GeoError> {
        let country = self.country.lookup_country(addr)?;
        let asn = match &self.asn {
            Some(db) => db.lookup_asn(addr)?,
            None => None,
        };
        Ok(Attribution { country, asn })
    }
}
