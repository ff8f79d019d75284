//! Where things live in a dataset folder.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};

use crate::error::DatasetError;

/// The hive partition key of the day folders.
pub const DAY_PARTITION_KEY: &str = "day";

/// The folder holding files being written; hidden from readers by its `_`.
pub const IN_PROGRESS_DIR: &str = "_inprogress";

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The UTC day of a timestamp in microseconds since the epoch.
pub fn day_of_micros(micros: i64) -> NaiveDate {
    let days = micros.div_euclid(MICROS_PER_DAY);
    DateTime::from_timestamp(days.saturating_mul(86_400), 0).map(|t| t.date_naive()).unwrap_or(NaiveDate::MIN)
}

/// The partition folder of a day: `ROOT/day=YYYY-MM-DD`.
pub fn partition_dir(root: &Path, day: NaiveDate) -> PathBuf {
    root.join(format!("{DAY_PARTITION_KEY}={}", day.format("%Y-%m-%d")))
}

/// Whether `dir` has at least one `day=` folder.
pub fn has_partitions(dir: &Path) -> bool {
    let prefix = format!("{DAY_PARTITION_KEY}=");
    fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(|entry| entry.ok())
            .any(|entry| entry.file_name().to_string_lossy().starts_with(&prefix) && entry.path().is_dir())
    })
}

/// Remove what crashed writers left in `ROOT/_inprogress` and what an
/// interrupted compaction left in `ROOT/_compact`. Returns how many entries.
/// Call it only while no writer or compactor of this dataset is running.
pub fn clean_in_progress(root: &Path) -> Result<usize, DatasetError> {
    Ok(clean_compaction_leftovers(root)? + clean_writer_leftovers(root)?)
}

/// Remove what an interrupted compaction left in `ROOT/_compact`. Call it
/// only while no compaction of this dataset runs. Returns how many entries.
pub fn clean_compaction_leftovers(root: &Path) -> Result<usize, DatasetError> {
    let compact = root.join(crate::compact::COMPACT_DIR);
    let mut removed = 0;
    if let Ok(entries) = fs::read_dir(&compact) {
        for entry in entries {
            let path = entry.map_err(DatasetError::io("listing", &compact))?.path();
            fs::remove_dir_all(&path).map_err(DatasetError::io("removing", &path))?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn clean_writer_leftovers(root: &Path) -> Result<usize, DatasetError> {
    let dir = root.join(IN_PROGRESS_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(DatasetError::io("listing", &dir)(e)),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry.map_err(DatasetError::io("listing", &dir))?.path();
        fs::remove_file(&path).map_err(DatasetError::io("removing", &path))?;
        removed += 1;
    }
    Ok(removed)
}

/// fsync a folder so that a rename inside it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), DatasetError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(DatasetError::io("syncing folder", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_and_floor_negative_times() {
        assert_eq!(day_of_micros(0).to_string(), "1970-01-01");
        assert_eq!(day_of_micros(-1).to_string(), "1969-12-31");
        // 2026-11-22T23:59:59.999999Z
        assert_eq!(day_of_micros(1_795_391_999_999_999).to_string(), "2026-11-22");
        assert_eq!(day_of_micros(1_795_392_000_000_000).to_string(), "2026-11-23");
        assert_eq!(partition_dir(Path::new("d"), day_of_micros(0)), Path::new("d/day=1970-01-01"));
    }
}
