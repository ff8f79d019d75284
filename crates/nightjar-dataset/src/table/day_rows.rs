//! How many packets the table holds per day, from the log alone.
//!
//! Each `add` of a Nightjar commit carries the file's row count (`numRecords` in its statistics),
//! so the count per day is a sum over the snapshot's files without opening one. A file added by a
//! writer that left the statistics out is counted from its Parquet footer.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use parquet::file::reader::{FileReader as _, SerializedFileReader};

use super::{PacketTable, delta_error};
use crate::error::DatasetError;
use crate::layout::DAY_PARTITION_KEY;

impl PacketTable {
    /// The number of packets of every day the snapshot holds files of, in day order.
    pub async fn rows_by_day(&self) -> Result<BTreeMap<NaiveDate, u64>, DatasetError> {
        let state =
            self.table.snapshot().map_err(|source| delta_error("reading the snapshot of", &self.location, source))?;
        let mut rows = BTreeMap::new();
        let mut unstated = Vec::new();
        for file in state.log_data().iter() {
            let day = file.partition_values_map().get(DAY_PARTITION_KEY).cloned().flatten().unwrap_or_default();
            let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else { continue };
            match file.num_records() {
                Some(count) => *rows.entry(day).or_insert(0) += count as u64,
                None => unstated.push((day, file.object_store_path())),
            }
        }
        for (day, path) in unstated {
            let bytes = self.read_file(&path).await?;
            let reader = SerializedFileReader::new(bytes)
                .map_err(|source| DatasetError::Parquet { path: path.as_ref().into(), source })?;
            let count = u64::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0);
            *rows.entry(day).or_insert(0) += count;
        }
        Ok(rows)
    }
}
