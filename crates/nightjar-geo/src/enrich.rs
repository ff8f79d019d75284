//! Enrichment of packet record batches: source country, ASN and AS name,
//! as the databases answer at the time of observation.

use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, FixedSizeBinaryArray, StringArray, UInt32Array};
use arrow::record_batch::RecordBatch;
use nightjar_packet::Addr16;
use nightjar_record::col;

use crate::answers::{AddressMap, AnswerCache, Attribution};
use crate::db::GeoDb;
use crate::error::GeoError;

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

/// How many answers a generation of the enricher's cache holds: it keeps
/// the answers for the most recently seen sources in two generations, so at
/// most twice this many, about 100 bytes each.
pub const ANSWER_CACHE_CAPACITY: usize = 1 << 18;

/// Fills the `country`, `asn` and `as_name` columns of packet record batches
/// from a country database and, optionally, an ASN database. Each distinct
/// source address of a batch is looked up once, and answers are kept across
/// batches for the most recent sources; an enricher over other databases
/// (after a reload) starts with no answers.
#[derive(Debug)]
pub struct Enricher {
    country: Arc<GeoDb>,
    asn: Option<Arc<GeoDb>>,
    answers: Mutex<AnswerCache>,
}

impl Enricher {
    /// An enricher over a country database and an optional ASN database.
    pub fn new(country: Arc<GeoDb>, asn: Option<Arc<GeoDb>>) -> Self {
        Self::with_answer_capacity(country, asn, ANSWER_CACHE_CAPACITY)
    }

    /// An enricher whose cache generations hold `capacity` answers.
    pub(crate) fn with_answer_capacity(country: Arc<GeoDb>, asn: Option<Arc<GeoDb>>, capacity: usize) -> Self {
        Enricher { country, asn, answers: Mutex::new(AnswerCache::new(capacity)) }
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

        // Rows point at their source's place among the batch's distinct sources.
        let mut seen: AddressMap<usize> = AddressMap::default();
        let mut distinct: Vec<Addr16> = Vec::new();
        let mut row_source: Vec<Option<usize>> = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            if sources.is_null(row) {
                row_source.push(None);
                continue;
            }
            let addr: Addr16 = sources.value(row).try_into().expect("value_length was checked to be 16");
            let index = *seen.entry(addr).or_insert_with(|| {
                distinct.push(addr);
                distinct.len() - 1
            });
            row_source.push(Some(index));
        }
        let answers = self.answers_for(&distinct)?;

        let of_row = |row: &Option<usize>| row.map(|index| &*answers[index]);
        let countries: StringArray =
            row_source.iter().map(|row| of_row(row).and_then(|a| a.country.as_ref()).map(|c| c.as_str())).collect();
        let asns: UInt32Array =
            row_source.iter().map(|row| of_row(row).and_then(|a| a.asn.as_ref()).map(|a| a.number)).collect();
        let names: StringArray = row_source
            .iter()
            .map(|row| of_row(row).and_then(|a| a.asn.as_ref()).and_then(|a| a.name.as_deref()))
            .collect();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns[country_index] = Arc::new(countries);
        columns[asn_index] = Arc::new(asns);
        columns[name_index] = Arc::new(names);
        Ok(RecordBatch::try_new(schema, columns)?)
    }

    /// The answer for each address: kept ones from the cache (one lock for
    /// the batch), the rest looked up without holding it, then kept.
    fn answers_for(&self, addresses: &[Addr16]) -> Result<Vec<Arc<Attribution>>, GeoError> {
        let lock = || self.answers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let kept: Vec<Option<Arc<Attribution>>> = {
            let mut cache = lock();
            addresses.iter().map(|addr| cache.get(addr)).collect()
        };
        let mut fresh = Vec::new();
        let mut answers = Vec::with_capacity(addresses.len());
        for (addr, kept) in addresses.iter().zip(kept) {
            let answer = match kept {
                Some(answer) => answer,
                None => {
                    let answer = Arc::new(self.attribute(addr)?);
                    fresh.push((*addr, Arc::clone(&answer)));
                    answer
                }
            };
            answers.push(answer);
        }
        let mut cache = lock();
        for (addr, answer) in fresh {
            cache.insert(addr, answer);
        }
        Ok(answers)
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
