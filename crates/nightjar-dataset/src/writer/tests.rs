use std::fs;

use arrow::array::{Array, TimestampMicrosecondArray};
use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::{PacketBatchBuilder, RecordOptions, SCHEMA_VERSION_KEY, col};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::*;
use crate::layout::clean_in_progress;

/// 2026-11-22T00:00:00Z in microseconds.
const NOV_22: i64 = 1_795_305_600_000_000;
const DAY_US: i64 = 86_400_000_000;

fn batch(times: &[i64]) -> RecordBatch {
    // Raw IPv4 UDP probe 198.51.100.7:40000 -> 192.0.2.10:53.
    let frame: [u8; 28] =
        [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 198, 51, 100, 7, 192, 0, 2, 10, 0x9c, 0x40, 0, 53, 0, 8, 0, 0];
    let packet = decode(LinkType::Raw, &frame).expect("valid UDP frame");
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for t in times {
        builder.append(*t, &packet, &classify(&packet), None);
    }
    builder.finish("test", 7)
}

fn read_times(path: &Path) -> (Vec<i64>, Option<String>) {
    let file = File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let version = builder.schema().metadata().get(SCHEMA_VERSION_KEY).cloned();
    let mut times = Vec::new();
    for b in builder.build().unwrap() {
        let b = b.unwrap();
        let t = b.column_by_name(col::TIME).unwrap().as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
        times.extend(t.values().iter().copied());
        assert_eq!(t.timezone(), Some("UTC"));
    }
    (times, version)
}

#[test]
fn batches_spanning_midnight_land_in_two_day_folders() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = PartitionedWriter::new(dir.path(), "t", WriterOptions::default()).unwrap();
    writer.write(&batch(&[NOV_22 - 1, NOV_22, NOV_22 + 5])).unwrap();
    writer.write(&batch(&[NOV_22 + 6])).unwrap();
    assert_eq!(writer.pending_rows(), 4);
    // Nothing is visible before the commit.
    assert!(!dir.path().join("day=2026-11-22").exists());
    let committed = writer.commit().unwrap();
    assert_eq!(committed.len(), 2);
    let nov21 = dir.path().join("day=2026-11-21/part-t-0.parquet");
    let nov22 = dir.path().join("day=2026-11-22/part-t-1.parquet");
    assert_eq!(read_times(&nov21).0, vec![NOV_22 - 1]);
    let (times, version) = read_times(&nov22);
    assert_eq!(times, vec![NOV_22, NOV_22 + 5, NOV_22 + 6]);
    assert_eq!(version.as_deref(), Some("1"));
    assert_eq!(committed.iter().map(|c| c.rows).sum::<u64>(), 4);
    assert!(committed.iter().all(|c| c.bytes == fs::metadata(&c.path).unwrap().len()));
    assert_eq!(fs::read_dir(dir.path().join(IN_PROGRESS_DIR)).unwrap().count(), 0);
}

#[test]
fn files_roll_at_the_row_limit() {
    let dir = tempfile::tempdir().unwrap();
    let options = WriterOptions { max_rows_per_file: 2, ..WriterOptions::default() };
    let mut writer = PartitionedWriter::new(dir.path(), "roll", options).unwrap();
    for i in 0..5 {
        writer.write(&batch(&[NOV_22 + i])).unwrap();
    }
    let committed = writer.commit().unwrap();
    assert_eq!(committed.iter().map(|c| c.rows).collect::<Vec<_>>(), vec![2, 2, 1]);
}

#[test]
fn wrong_schema_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = PartitionedWriter::new(dir.path(), "bad", WriterOptions::default()).unwrap();
    let other = batch(&[NOV_22]).project(&[0, 1]).unwrap();
    assert!(matches!(writer.write(&other), Err(DatasetError::Schema(_))));
    assert!(writer.commit().unwrap().is_empty());
}

#[test]
fn leftovers_of_a_crashed_writer_are_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = PartitionedWriter::new(dir.path(), "crash", WriterOptions::default()).unwrap();
    writer.write(&batch(&[NOV_22, NOV_22 + DAY_US])).unwrap();
    // Dropped without commit, as a crash would leave it.
    drop(writer);
    assert_eq!(clean_in_progress(dir.path()).unwrap(), 2);
    assert!(!dir.path().join("day=2026-11-22").exists());
}

#[test]
fn prepared_files_are_durable_but_invisible_until_published() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = PartitionedWriter::new(dir.path(), "s1-9", WriterOptions::default()).unwrap();
    writer.write(&batch(&[NOV_22 - 1, NOV_22])).unwrap();
    let prepared = writer.prepare().unwrap();
    assert_eq!(prepared.len(), 2);
    assert!(prepared.iter().all(|p| p.temp_path.exists() && !p.final_path.exists()));
    assert!(!dir.path().join("day=2026-11-22").exists(), "nothing visible before publishing");
    let first = prepared[0].clone();
    let committed: Vec<CommittedFile> = prepared.into_iter().map(|p| p.publish().unwrap()).collect();
    assert_eq!(read_times(&committed[1].path).0, vec![NOV_22]);
    // Publishing again (recovery after a crash) is harmless.
    crate::writer::publish(&first.temp_path, &first.final_path).unwrap();
    assert!(first.final_path.exists());
}

/// A batch of the rows (country, last octet of the source, time, ip_id as
/// the row's identity).
fn batch_of(rows: &[(Option<&str>, u8, i64, u16)]) -> RecordBatch {
    use std::sync::Arc;

    use arrow::array::{FixedSizeBinaryArray, StringArray, UInt16Array};
    let base = batch(&rows.iter().map(|r| r.2).collect::<Vec<_>>());
    let mut columns = base.columns().to_vec();
    let schema = base.schema();
    let index = |name: &str| schema.index_of(name).unwrap();
    columns[index(col::COUNTRY)] = Arc::new(rows.iter().map(|r| r.0).collect::<StringArray>());
    let sources = rows.iter().map(|r| {
        let mut a = [0u8; 16];
        a[10..12].copy_from_slice(&[0xff, 0xff]);
        a[12..].copy_from_slice(&[198, 51, 100, r.1]);
        a
    });
    columns[index(col::SRC_IP)] = Arc::new(FixedSizeBinaryArray::try_from_iter(sources).unwrap());
    let ids = rows.iter().map(|r| r.3).collect::<UInt16Array>();
    columns[index(col::IP_ID)] = arrow::compute::cast(&ids, schema.field(index(col::IP_ID)).data_type()).unwrap();
    RecordBatch::try_new(schema.clone(), columns).unwrap()
}

/// The ip_id column (the rows' identities) of batches, in order.
fn identities<'a>(batches: impl IntoIterator<Item = &'a RecordBatch>) -> Vec<u16> {
    use arrow::array::UInt16Array;
    let mut ids = Vec::new();
    for batch in batches {
        let column =
            arrow::compute::cast(batch.column_by_name(col::IP_ID).unwrap(), &arrow::datatypes::DataType::UInt16);
        ids.extend(column.unwrap().as_any().downcast_ref::<UInt16Array>().unwrap().values().iter().copied());
    }
    ids
}

#[test]
fn rows_sort_by_country_then_source_then_time_stably() {
    let rows: [(Option<&str>, u8, i64, u16); 7] = [
        (Some("NL"), 9, NOV_22 + 30, 0),
        (None, 5, NOV_22 + 10, 1),
        (Some("JP"), 9, NOV_22 + 20, 2),
        (Some("NL"), 2, NOV_22 + 40, 3),
        (Some("JP"), 9, NOV_22 + 10, 4),
        (Some("NL"), 9, NOV_22 + 30, 5),
        (Some("JP"), 1, NOV_22 + 50, 6),
    ];
    let sorted = sort_for_queries(&batch_of(&rows)).unwrap();
    // No country first; JP before NL; by source, then time; rows 0 and 5 tie and keep their order.
    assert_eq!(identities([&sorted]), vec![1, 6, 4, 2, 3, 0, 5]);
}

#[test]
fn a_file_larger_than_the_sort_buffer_is_sorted_from_first_row_to_last() {
    // 3,000 rows in a scrambled order, sorted a 256-row buffer at a time
    // (twelve runs spilled and merged), with many ties across runs.
    let countries = [None, Some("JP"), Some("NL"), Some("US")];
    let mut state = 0x2545_f491_u64;
    let mut next = |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let rows: Vec<(Option<&str>, u8, i64, u16)> =
        (0..3_000u16).map(|id| (countries[next(4) as usize], next(20) as u8, NOV_22 + next(50) as i64, id)).collect();
    let dir = tempfile::tempdir().unwrap();
    let options = WriterOptions { row_group_rows: 256, ..WriterOptions::default() };
    let mut writer = PartitionedWriter::new(dir.path(), "t", options).unwrap();
    for chunk in rows.chunks(100) {
        writer.write(&batch_of(chunk)).unwrap();
    }
    let spill = dir.path().join(IN_PROGRESS_DIR).join("t-0.2026-11-22.runs.arrow");
    assert!(spill.exists(), "runs beyond the first sort buffer are spilled");
    let committed = writer.commit().unwrap();
    assert!(!spill.exists(), "the spill file is removed after the merge");

    let file = File::open(&committed[0].path).unwrap();
    let read: Vec<RecordBatch> =
        ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().map(|b| b.unwrap()).collect();
    let mut expected = rows.clone();
    // The order the dataset promises, computed independently: no country
    // first, then by country, source and time; ties in the order written.
    expected.sort_by_key(|r| (r.0, r.1, r.2, r.3));
    assert_eq!(identities(&read), expected.iter().map(|r| r.3).collect::<Vec<_>>());
}

#[test]
fn an_abandoned_writer_leaves_no_spill_file() {
    let dir = tempfile::tempdir().unwrap();
    let options = WriterOptions { row_group_rows: 2, ..WriterOptions::default() };
    let mut writer = PartitionedWriter::new(dir.path(), "t", options).unwrap();
    writer.write(&batch(&[NOV_22 + 3, NOV_22 + 1, NOV_22 + 2])).unwrap();
    assert!(dir.path().join(IN_PROGRESS_DIR).join("t-0.2026-11-22.runs.arrow").exists());
    drop(writer);
    let left: Vec<_> = fs::read_dir(dir.path().join(IN_PROGRESS_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|name| !name.ends_with(".runs.arrow")), "left behind: {left:?}");
}
