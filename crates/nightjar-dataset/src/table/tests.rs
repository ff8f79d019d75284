use std::net::Ipv4Addr;

use arrow::record_batch::RecordBatch;
use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::{PacketBatchBuilder, RecordOptions};

use chrono::NaiveDate;

use super::*;
use crate::{PartitionedWriter, WriterOptions};

/// 2026-11-22T00:00:00Z in microseconds.
const NOV_22: i64 = 1_795_305_600_000_000;
const DAY_US: i64 = 86_400_000_000;

/// A UDP probe from a TEST-NET scanner to a dark address, as a raw IPv4 frame.
fn probe_frame() -> Vec<u8> {
    let (scanner, dark) = (Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(192, 0, 2, 10));
    let mut frame = vec![0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0];
    frame.extend(scanner.octets());
    frame.extend(dark.octets());
    frame.extend([0x9c, 0x40, 0, 53, 0, 8, 0, 0]);
    frame
}

fn batch(sensor: &str, seq: u64, times: &[i64]) -> RecordBatch {
    let frame = probe_frame();
    let packet = decode(LinkType::Raw, &frame).expect("valid UDP frame");
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for t in times {
        builder.append(*t, &packet, &classify(&packet), None);
    }
    builder.finish(sensor, seq)
}

/// Writes `batch` into the table's folder and returns the files to commit.
fn write(table: &PacketTable, writer_id: &str, batch: &RecordBatch) -> Vec<NewFile> {
    let root = table.location().local_dir.clone().expect("a local table");
    let mut writer = PartitionedWriter::new(&root, writer_id, WriterOptions::default()).expect("writer");
    writer.write(batch).expect("written");
    let committed = writer.commit().expect("published");
    committed.iter().map(|file| NewFile::from_committed(&root, file).expect("inside the table")).collect()
}

fn note(sensor: &str, seq: u64) -> CommitNote {
    CommitNote { batches: vec![(sensor.to_owned(), seq)], info: serde_json::Map::new(), imports: Vec::new() }
}

fn location(dir: &tempfile::TempDir) -> TableLocation {
    TableLocation::parse(dir.path().to_str().expect("UTF-8")).expect("a folder")
}

#[tokio::test]
async fn commits_make_files_visible_and_record_each_sensors_batches() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut table = PacketTable::open_or_create(&location(&dir)).await.expect("created");
    assert_eq!(table.version(), 0);
    assert!(table.files().expect("files").is_empty());
    assert_eq!(table.stored_seq("tokyo-1").await.expect("read"), None);

    let files = write(&table, "c-tokyo-1+5", &batch("tokyo-1", 5, &[NOV_22 - 1, NOV_22 + 1]));
    assert_eq!(files.len(), 2, "a batch across midnight is two files");
    // Written but not committed: not in the snapshot.
    assert!(table.files().expect("files").is_empty());
    let version = table.append(&files, note("tokyo-1", 5)).await.expect("committed");
    assert_eq!(version, 1);
    let listed = table.files().expect("files");
    let mut paths: Vec<String> = listed.files_iter().map(|meta| meta.location.to_string()).collect();
    paths.sort();
    assert_eq!(paths, ["day=2026-11-21/part-c-tokyo-1+5-0.parquet", "day=2026-11-22/part-c-tokyo-1+5-1.parquet"]);
    assert_eq!(table.stored_seq("tokyo-1").await.expect("read"), Some(5));
    assert_eq!(table.stored_seq("osaka-2").await.expect("read"), None);

    // Another handle opened later sees the same; one opened at version 0 sees nothing.
    let reopened = PacketTable::open(&location(&dir), &AsOf::Latest).await.expect("opened");
    assert_eq!(reopened.files().expect("files").len(), 2);
    assert_eq!(reopened.stored_seq("tokyo-1").await.expect("read"), Some(5));
    let before = PacketTable::open(&location(&dir), &AsOf::Version(0)).await.expect("opened at 0");
    assert!(before.files().expect("files").is_empty());
    assert_eq!(before.stored_seq("tokyo-1").await.expect("read"), None);
}

#[tokio::test]
async fn two_writers_storing_the_same_sensor_at_once_conflict_and_appends_of_others_do_not() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut first = PacketTable::open_or_create(&location(&dir)).await.expect("created");
    let mut second = PacketTable::open(&location(&dir), &AsOf::Latest).await.expect("opened");

    let first_files = write(&first, "c-a-tokyo-1+1", &batch("tokyo-1", 1, &[NOV_22]));
    let second_files = write(&second, "c-b-tokyo-1+1", &batch("tokyo-1", 1, &[NOV_22]));
    first.append(&first_files, note("tokyo-1", 1)).await.expect("the first commit lands");
    let error = second.append(&second_files, note("tokyo-1", 1)).await.expect_err("the same sensor conflicts");
    assert!(matches!(error, DatasetError::Conflict { .. }), "{error}");
    // Reading again tells the loser the batch is stored.
    second.refresh().await.expect("refreshed");
    assert_eq!(second.stored_seq("tokyo-1").await.expect("read"), Some(1));

    // A stale writer appending another sensor's batch is retried by the log, not refused.
    let mut stale = PacketTable::open(&location(&dir), &AsOf::Version(0)).await.expect("opened at 0");
    let osaka = write(&stale, "c-osaka-2+9", &batch("osaka-2", 9, &[NOV_22 + 2 * DAY_US]));
    let version = stale.append(&osaka, note("osaka-2", 9)).await.expect("a blind append lands");
    assert_eq!(version, 2);
    let latest = PacketTable::open(&location(&dir), &AsOf::Latest).await.expect("opened");
    assert_eq!(latest.files().expect("files").len(), 2);
    assert_eq!(latest.stored_seq("tokyo-1").await.expect("read"), Some(1));
    assert_eq!(latest.stored_seq("osaka-2").await.expect("read"), Some(9));
}

#[tokio::test]
async fn a_folder_that_is_not_a_packet_table_is_refused_with_the_reason() {
    let empty = tempfile::tempdir().expect("a temporary folder");
    let error = PacketTable::open(&location(&empty), &AsOf::Latest).await.err().expect("refused").to_string();
    assert!(error.contains("is not a Nightjar table (it has no `_delta_log` folder)"), "{error}");

    let version_1 = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir_all(version_1.path().join("day=2026-11-22")).expect("a day folder");
    let error = PacketTable::open_or_create(&location(&version_1)).await.err().expect("refused").to_string();
    assert!(error.contains("layout version 1: turn it into a table with `nightjar convert`"), "{error}");
    assert!(!version_1.path().join(LOG_DIR).exists(), "no log was created over the old dataset");

    let foreign = tempfile::tempdir().expect("a temporary folder");
    let (log_store, _) = log_store(&location(&foreign)).expect("a store");
    let columns = [deltalake_core::kernel::StructField::new(
        "id",
        deltalake_core::kernel::DataType::Primitive(deltalake_core::kernel::PrimitiveType::Long),
        false,
    )];
    CreateBuilder::new().with_log_store(log_store).with_columns(columns).await.expect("a foreign table");
    let error = PacketTable::open(&location(&foreign), &AsOf::Latest).await.err().expect("refused").to_string();
    assert!(error.contains("is a Delta table of another schema"), "{error}");
}

#[test]
fn as_of_reads_versions_and_times() {
    assert_eq!("7".parse::<AsOf>(), Ok(AsOf::Version(7)));
    let time = "2026-11-30T12:00:00Z".parse::<AsOf>().expect("a time");
    assert_eq!(time, AsOf::Time(DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z").expect("t").to_utc()));
    assert!("-1".parse::<AsOf>().is_err());
    assert!("yesterday".parse::<AsOf>().expect_err("refused").contains("neither a table version"));
}

#[tokio::test]
async fn retention_removes_old_days_by_a_commit_and_vacuum_deletes_their_files_after_the_grace() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut table = PacketTable::open_or_create(&location(&dir)).await.expect("created");
    // Three days: 2026-11-21, 2026-11-22 and 2026-11-24.
    let files = write(&table, "c-s+1", &batch("s", 1, &[NOV_22 - 1, NOV_22 + 1, NOV_22 + 2 * DAY_US]));
    assert_eq!(files.len(), 3);
    table.append(&files, note("s", 1)).await.expect("committed");
    // A file a writer left without committing it.
    let orphan = dir.path().join("day=2026-11-24/part-orphan-0.parquet");
    std::fs::copy(dir.path().join(&files[2].path), &orphan).expect("a copy");

    let cutoff = NaiveDate::from_ymd_opt(2026, 11, 23).expect("a date");
    let expired = table.expire_before(cutoff).await.expect("expired");
    assert_eq!(expired.days, ["2026-11-21", "2026-11-22"]);
    assert_eq!((expired.files, expired.version), (2, Some(2)));
    let left: Vec<String> = table.files().expect("files").files_iter().map(|m| m.location.to_string()).collect();
    assert_eq!(left, [files[2].path.clone()]);
    assert_eq!(table.expire_before(cutoff).await.expect("nothing more"), Expired::default());

    // Within the grace period nothing is deleted: a query on version 1 still has its files.
    assert_eq!(table.vacuum(chrono::Duration::hours(1)).await.expect("vacuumed"), 0);
    let old = PacketTable::open(&location(&dir), &AsOf::Version(1)).await.expect("version 1");
    for meta in old.files().expect("files").files_iter() {
        assert!(dir.path().join(meta.location.as_ref()).exists(), "{} is still there", meta.location);
    }
    // Past it, the removed days' files and the uncommitted file go; the live file stays.
    let deleted = table.vacuum(chrono::Duration::zero()).await.expect("vacuumed");
    assert_eq!(deleted, 3, "two expired files and the orphan");
    assert!(!dir.path().join(&files[0].path).exists() && !dir.path().join(&files[1].path).exists());
    assert!(!orphan.exists());
    assert!(dir.path().join(&files[2].path).exists());
    let latest = PacketTable::open(&location(&dir), &AsOf::Latest).await.expect("opens");
    assert_eq!(latest.files().expect("files").len(), 1);
}

#[tokio::test]
async fn checkpoints_are_written_as_the_log_grows() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut table = PacketTable::open_or_create(&location(&dir)).await.expect("created");
    for seq in 1..=100u64 {
        table.append(&[], note("s", seq)).await.expect("committed");
    }
    // delta-rs writes one after each 100th version (0 to 99).
    let checkpoint = dir.path().join(LOG_DIR).join("00000000000000000099.checkpoint.parquet");
    assert!(checkpoint.exists(), "a checkpoint every 100 versions keeps opening the table fast");
    let reopened = PacketTable::open(&location(&dir), &AsOf::Latest).await.expect("opens from the checkpoint");
    assert_eq!(reopened.version(), 100);
    assert_eq!(reopened.stored_seq("s").await.expect("read"), Some(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_writers_at_once_all_land_and_one_sensor_batch_lands_once() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    PacketTable::open_or_create(&location(&dir)).await.expect("created");
    // Eight writers, each opened before any commits, each appending its own sensor's batch and
    // then all racing for the same batch of sensor `shared`.
    let mut writers = Vec::new();
    for w in 0..8u64 {
        let dir_path = dir.path().to_path_buf();
        writers.push(tokio::spawn(async move {
            let location = TableLocation::parse(dir_path.to_str().expect("UTF-8")).expect("a folder");
            let mut table = PacketTable::open(&location, &AsOf::Latest).await.expect("opened");
            let own = write(&table, &format!("c-w{w}+1"), &batch(&format!("w{w}"), 1, &[NOV_22 + w as i64]));
            let shared = write(&table, &format!("c-shared+7-{w}"), &batch("shared", 7, &[NOV_22]));
            table.append(&own, note(&format!("w{w}"), 1)).await.expect("a different sensor's batch always lands");
            match table.append(&shared, note("shared", 7)).await {
                Ok(_) => true,
                Err(DatasetError::Conflict { .. }) => {
                    table.refresh().await.expect("refreshed");
                    assert_eq!(table.stored_seq("shared").await.expect("read"), Some(7));
                    false
                }
                Err(other) => panic!("writer {w}: {other}"),
            }
        }));
    }
    let mut landed = 0;
    for writer in writers {
        landed += usize::from(writer.await.expect("the writer finished"));
    }
    assert_eq!(landed, 1, "exactly one writer stored the shared batch");
    let table = PacketTable::open(&location(&dir), &AsOf::Latest).await.expect("opens");
    assert_eq!(table.files().expect("files").len(), 9, "eight own batches and the shared one once");
    for w in 0..8 {
        assert_eq!(table.stored_seq(&format!("w{w}")).await.expect("read"), Some(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_compactions_of_one_day_at_once_never_both_land() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut writer = PacketTable::open_or_create(&location(&dir)).await.expect("created");
    let day = NaiveDate::from_ymd_opt(2026, 11, 22).expect("a date");
    let options = crate::CompactOptions { min_files: 2, ..Default::default() };
    let mut seq = 0;
    for round in 0..6 {
        for _ in 0..4 {
            seq += 1;
            let files = write(&writer, &format!("c-tokyo-1+{seq}"), &batch("tokyo-1", seq, &[NOV_22 + seq as i64]));
            writer.append(&files, note("tokyo-1", seq)).await.expect("committed");
        }
        let mut first = PacketTable::open(&location(&dir), &AsOf::Latest).await.expect("opened");
        let mut second = PacketTable::open(&location(&dir), &AsOf::Latest).await.expect("opened");
        let (a, b) = tokio::join!(first.compact_day(day, &options), second.compact_day(day, &options));
        let landed = [a.expect("no error"), b.expect("no error")].iter().filter(|r| r.is_some()).count();
        assert!(landed >= 1, "round {round}: one of them compacts");

        let latest = PacketTable::open(&location(&dir), &AsOf::Latest).await.expect("opened");
        let mut rows = 0;
        for meta in latest.files().expect("files").files_iter() {
            let bytes = latest.read_file(&meta.location).await.expect("readable");
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
                .and_then(|b| b.build())
                .expect("a Parquet file");
            rows += reader.map(|b| b.expect("a batch").num_rows()).sum::<usize>();
        }
        assert_eq!(rows, seq as usize, "round {round}: every row once, whichever compaction won");
        writer.refresh().await.expect("refreshed");
    }
}
