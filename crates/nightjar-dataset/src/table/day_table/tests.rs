use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use arrow::array::{Int64Array, StringArray};
use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::{PacketBatchBuilder, RecordOptions};

use super::*;
use crate::table::{CommitNote, PacketTable};
use crate::{PartitionedWriter, WriterOptions};

/// 2026-11-22T00:00:00Z in microseconds.
const NOV_22: i64 = 1_795_305_600_000_000;

fn nov(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, day).expect("a date")
}

/// Packets of one UDP probe frame at `times`, as sensor `tokyo-1`'s batch `seq`.
fn packets(seq: u64, times: &[i64]) -> RecordBatch {
    let (scanner, dark) = (Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(192, 0, 2, 10));
    let mut frame = vec![0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0];
    frame.extend(scanner.octets());
    frame.extend(dark.octets());
    frame.extend([0x9c, 0x40, 0, 53, 0, 8, 0, 0]);
    let packet = decode(LinkType::Raw, &frame).expect("valid UDP frame");
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for t in times {
        builder.append(*t, &packet, &classify(&packet), None);
    }
    builder.finish("tokyo-1", seq)
}

async fn append(table: &mut PacketTable, seq: u64, times: &[i64]) {
    let root = table.location().local_dir.clone().expect("a local table");
    let mut writer = PartitionedWriter::new(&root, &format!("w{seq}"), WriterOptions::default()).expect("writer");
    writer.write(&packets(seq, times)).expect("written");
    let files: Vec<NewFile> = writer
        .commit()
        .expect("published")
        .iter()
        .map(|file| NewFile::from_committed(&root, file).expect("inside the table"))
        .collect();
    let note = CommitNote { batches: vec![("tokyo-1".into(), seq)], ..CommitNote::default() };
    table.append(&files, note).await.expect("committed");
}

fn rows(names: &[&str], counts: &[i64]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("packets", DataType::Int64, false),
    ]));
    RecordBatch::try_new(
        schema,
        vec![Arc::new(StringArray::from(names.to_vec())), Arc::new(Int64Array::from(counts.to_vec()))],
    )
    .expect("a batch")
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            found.extend(parquet_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "parquet") {
            found.push(path);
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn a_day_is_replaced_whole_in_one_commit_and_an_empty_day_leaves_no_file() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let dataset = TableLocation::parse(dir.path().to_str().expect("UTF-8")).expect("a folder");
    let location = derived_location(&dataset, "source_days").expect("a location");
    assert!(location.url.as_str().ends_with("/_rollups/source_days/"), "{}", location.url);
    assert!(DayTable::open(&location).await.expect("opened").is_none(), "nothing written yet");
    let first = rows(&["a", "b"], &[3, 4]);
    let mut table = DayTable::open_or_create(&location, "source_days", "test", &first.schema()).await.expect("created");
    let v1 = table.replace_day(nov(22), &first, serde_json::Map::new()).await.expect("written");
    table.replace_day(nov(23), &rows(&["c"], &[1]), serde_json::Map::new()).await.expect("written");
    let v3 = table.replace_day(nov(22), &rows(&["a"], &[9]), serde_json::Map::new()).await.expect("rewritten");
    assert!(v3 > v1);
    let files = table.files().expect("files");
    let paths: Vec<String> = files.files_iter().map(|meta| meta.location.to_string()).collect();
    assert_eq!(paths.len(), 2, "one file per day: {paths:?}");
    assert_eq!(paths.iter().filter(|p| p.starts_with("day=2026-11-22/")).count(), 1);
    // The declared columns: the batch's, without the partition column.
    let declared = table.declared_columns().expect("declared");
    let names: Vec<&str> = declared.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["name", "packets"]);
    // A day rewritten to no rows loses its file; a day without rows and files commits nothing.
    table.replace_day(nov(23), &rows(&[], &[]), serde_json::Map::new()).await.expect("emptied");
    let version = table.version();
    assert_eq!(table.replace_day(nov(24), &rows(&[], &[]), serde_json::Map::new()).await.expect("no-op"), None);
    assert_eq!(table.version(), version);
    assert_eq!(table.files().expect("files").len(), 1);
    // Another reader opens the same snapshot.
    let reopened = DayTable::open(&location).await.expect("opened").expect("a table");
    assert_eq!(reopened.version(), version);
}

#[tokio::test]
async fn the_packet_tables_vacuum_never_deletes_rollup_files() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let dataset = TableLocation::parse(dir.path().to_str().expect("UTF-8")).expect("a folder");
    let mut packets_table = PacketTable::open_or_create(&dataset).await.expect("created");
    append(&mut packets_table, 1, &[NOV_22 + 1_000, NOV_22 + 2_000]).await;
    let location = derived_location(&dataset, "source_days").expect("a location");
    let first = rows(&["a"], &[2]);
    let mut rollup =
        DayTable::open_or_create(&location, "source_days", "test", &first.schema()).await.expect("created");
    rollup.replace_day(nov(22), &first, serde_json::Map::new()).await.expect("written");
    // The rewrite leaves the first file removed from the rollup table but on disk: a file the
    // packet table's vacuum would delete if it took `_rollups/` for its own.
    rollup.replace_day(nov(22), &rows(&["a"], &[3]), serde_json::Map::new()).await.expect("rewritten");
    let rollups_dir = dir.path().join(ROLLUPS_DIR);
    let before = parquet_files(&rollups_dir);
    assert_eq!(before.len(), 2, "{before:?}");
    // Retention of every packet day, then a vacuum with no grace period: it deletes the packet
    // files, and only them.
    packets_table.expire_before(nov(30)).await.expect("expired");
    let deleted = packets_table.vacuum(chrono::Duration::zero()).await.expect("vacuumed");
    assert!(deleted >= 1, "the expired packet file is deleted");
    assert!(parquet_files(&dir.path().join("day=2026-11-22")).is_empty());
    assert_eq!(parquet_files(&rollups_dir), before, "the rollup files are all left");
    assert!(rollups_dir.join("source_days").join(crate::table::LOG_DIR).is_dir());
    let reopened = DayTable::open(&location).await.expect("opened").expect("still a table");
    assert_eq!(reopened.files().expect("files").len(), 1);
}

#[tokio::test]
async fn packets_per_day_come_from_the_log() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let dataset = TableLocation::parse(dir.path().to_str().expect("UTF-8")).expect("a folder");
    let mut table = PacketTable::open_or_create(&dataset).await.expect("created");
    const DAY_US: i64 = 86_400_000_000;
    append(&mut table, 1, &[NOV_22, NOV_22 + 1, NOV_22 + DAY_US]).await;
    append(&mut table, 2, &[NOV_22 + 5]).await;
    let counts = table.rows_by_day().await.expect("counted");
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), [(nov(22), 3), (nov(23), 1)]);
}
