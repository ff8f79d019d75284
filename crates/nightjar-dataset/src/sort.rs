//! The row order of dataset files: country, then source, then time.

use std::collections::HashMap;

use arrow::array::{Array, FixedSizeBinaryArray, StringArray, TimestampMicrosecondArray, UInt32Array};
use arrow::compute::take;
use arrow::record_batch::RecordBatch;
use nightjar_record::col;

use crate::error::DatasetError;

/// The columns rows are ordered by, in order.
pub(crate) const SORT_KEY: [&str; 3] = [col::COUNTRY, col::SRC_IP, col::TIME];

/// One row's place in the order. Field order is comparison order; `None`
/// sorts first; `row` last makes the unstable sort stable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RowKey {
    country: u32,
    source: Option<u128>,
    time: Option<i64>,
    row: u32,
}

/// Rows ordered by country, source and time: the risk indicators count
/// distinct sources per country, so runs of one country make its pages
/// prunable by statistics, and runs of one source compress its repeated
/// fields (ports, TTL, options) to almost nothing. Rows without a country
/// come first; rows alike in all three keys keep their order.
pub(crate) fn sort_for_queries(batch: &RecordBatch) -> Result<RecordBatch, DatasetError> {
    fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, DatasetError> {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| DatasetError::Schema(format!("no `{name}` column of the packet record type")))
    }
    let countries = column::<StringArray>(batch, col::COUNTRY)?;
    let sources = column::<FixedSizeBinaryArray>(batch, col::SRC_IP)?;
    let times = column::<TimestampMicrosecondArray>(batch, col::TIME)?;
    let count = u32::try_from(batch.num_rows())
        .map_err(|_| DatasetError::Schema(format!("{} rows are too many to sort at once", batch.num_rows())))?;

    let ranks = country_ranks(countries);
    // Plain integer keys compare inline: no per-comparison call into a
    // dynamic comparator or memcmp.
    let mut keys: Vec<RowKey> = (0..count)
        .map(|row| {
            let i = row as usize;
            let source = sources.is_valid(i).then(|| address_key(sources.value(i)));
            RowKey { country: ranks[i], source, time: times.is_valid(i).then(|| times.value(i)), row }
        })
        .collect();
    keys.sort_unstable();
    let order = UInt32Array::from_iter_values(keys.into_iter().map(|k| k.row));
    let columns = batch.columns().iter().map(|c| take(c, &order, None)).collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// Each row's country as its rank among the batch's distinct countries in
/// byte order, 0 for no country.
fn country_ranks(countries: &StringArray) -> Vec<u32> {
    let mut distinct: HashMap<&str, u32> = HashMap::new();
    for value in countries.iter().flatten() {
        distinct.entry(value).or_insert(0);
    }
    let mut names: Vec<&str> = distinct.keys().copied().collect();
    names.sort_unstable();
    for (rank, name) in names.into_iter().enumerate() {
        distinct.insert(name, rank as u32 + 1);
    }
    countries.iter().map(|value| value.map_or(0, |v| distinct[v])).collect()
}

/// A 16-byte address as an integer that orders like its bytes.
fn address_key(bytes: &[u8]) -> u128 {
    let mut key = [0u8; 16];
    let n = bytes.len().min(16);
    key[..n].copy_from_slice(&bytes[..n]);
    u128::from_be_bytes(key)
}
