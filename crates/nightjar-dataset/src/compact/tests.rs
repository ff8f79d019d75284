use std::sync::RwLock;

use arrow::array::{Array, AsArray, FixedSizeBinaryArray};
use arrow::datatypes::TimestampMicrosecondType;
use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::{PacketBatchBuilder, RecordOptions, col};

use super::*;
use crate::writer::PartitionedWriter;

/// 2026-11-22T00:00:00Z in microseconds.
const NOV_22: i64 = 1_795_305_600_000_000;

/// A batch of `rows` UDP probes from a source that varies with `seed`.
fn batch(seed: u8, rows: usize) -> arrow::record_batch::RecordBatch {
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for i in 0..rows {
        let source = [198, 51, 100, seed.wrapping_mul(37).wrapping_add(i as u8)];
        let mut frame = vec![0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0];
        frame.extend_from_slice(&source);
        frame.extend_from_slice(&[192, 0, 2, 10, 0x9c, 0x40, 0, 53, 0, 8, 0, 0]);
        let packet = decode(LinkType::Raw, &frame).unwrap();
        builder.append(NOV_22 + i64::from(seed) * 1000 + i as i64, &packet, &classify(&packet), None);
    }
    builder.finish("s", u64::from(seed))
}

fn write_small_files(root: &Path, count: u8) {
    for seed in 0..count {
        let mut writer = PartitionedWriter::new(root, &format!("c-s+{seed}"), WriterOptions::default()).unwrap();
        writer.write(&batch(seed, 50)).unwrap();
        writer.commit().unwrap();
    }
}

fn read_partition(dir: &Path) -> Vec<(Vec<u8>, i64)> {
    let mut rows = Vec::new();
    for (name, _) in list_files(dir).unwrap() {
        let file = File::open(dir.join(name)).unwrap();
        for b in ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap() {
            let b = b.unwrap();
            let src =
                b.column_by_name(col::SRC_IP).unwrap().as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap().clone();
            let time = b.column_by_name(col::TIME).unwrap().as_primitive::<TimestampMicrosecondType>().clone();
            rows.extend((0..b.num_rows()).map(|i| (src.value(i).to_vec(), time.value(i))));
        }
    }
    rows
}

#[test]
fn small_files_merge_into_one_sorted_file_with_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    write_small_files(dir.path(), 10);
    let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let partition = partition_dir(dir.path(), day);
    let mut before = read_partition(&partition);
    assert_eq!(list_files(&partition).unwrap().len(), 10);

    let options = CompactOptions { min_files: 4, ..CompactOptions::default() };
    let lock = RwLock::new(());
    let report = compact_day(dir.path(), day, &options, &lock).unwrap().expect("ten small files are compacted");
    assert_eq!((report.merged_files, report.rows, report.new_files), (10, 500, 1));

    let after = read_partition(&partition);
    assert_eq!(list_files(&partition).unwrap().len(), 1);
    assert!(after.windows(2).all(|w| w[0] <= w[1]), "the merged file is sorted by source and time");
    before.sort();
    assert_eq!(after, before, "every row exactly once");
    assert!(!dir.path().join(COMPACT_DIR).read_dir().unwrap().any(|_| true), "work folder removed");
    assert_eq!(partitions(dir.path()).unwrap(), vec![day]);

    // Too few small files now: nothing to do.
    assert_eq!(compact_day(dir.path(), day, &options, &lock).unwrap(), None);
}

#[test]
fn large_files_stay_and_leftovers_are_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    write_small_files(dir.path(), 5);
    let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let partition = partition_dir(dir.path(), day);
    let mut big = PartitionedWriter::new(dir.path(), "big", WriterOptions::default()).unwrap();
    big.write(&batch(200, 250)).unwrap();
    let big_file = big.commit().unwrap().remove(0);
    let big_bytes = big_file.bytes;

    let options = CompactOptions { min_files: 2, small_file_bytes: big_bytes, ..CompactOptions::default() };
    let report = compact_day(dir.path(), day, &options, &RwLock::new(())).unwrap().unwrap();
    assert_eq!(report.merged_files, 5);
    assert!(big_file.path.exists(), "files at or above the small-file size are kept as they are");
    assert_eq!(read_partition(&partition).len(), 5 * 50 + 250);

    // An interrupted compaction's folder is removed by the cleaner.
    fs::create_dir_all(dir.path().join(COMPACT_DIR).join("2026-11-22-1/day=2026-11-22")).unwrap();
    assert_eq!(crate::clean_in_progress(dir.path()).unwrap(), 1);
}
