//! Queries over a Delta table read one snapshot from start to end: a compaction that commits
//! while a query runs changes nothing for it, and the next query sees the compacted table and
//! every append made meanwhile.

use std::net::Ipv4Addr;

use arrow::array::AsArray;
use arrow::datatypes::UInt64Type;
use nightjar_dataset::{
    AsOf, CommitNote, CompactOptions, NewFile, PacketTable, PartitionedWriter, TableLocation, WriterOptions,
};
use nightjar_packet::{LinkType, classify, decode};
use nightjar_query::{QueryConfig, QueryEngine};
use nightjar_record::{PacketBatchBuilder, RecordOptions};
use nightjar_test_kit::frames::Ipv4Probe;

/// 2026-11-22T00:00:00Z in microseconds.
const NOV_22: i64 = 1_795_305_600_000_000;
const ROWS_PER_BATCH: usize = 500;

/// Commits batch `seq` of sensor `s`: ROWS_PER_BATCH UDP probes of 28 bytes each.
async fn append_batch(table: &mut PacketTable, root: &std::path::Path, seq: u64) {
    let frame = Ipv4Probe::new(Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(192, 0, 2, 10)).udp(40000, 53, &[]);
    let packet = decode(LinkType::Raw, &frame).expect("a UDP probe");
    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for i in 0..ROWS_PER_BATCH {
        builder.append(NOV_22 + i as i64, &packet, &classify(&packet), None);
    }
    let mut writer = PartitionedWriter::new(root, &format!("c-s+{seq}"), WriterOptions::default()).expect("a writer");
    writer.write(&builder.finish("s", seq)).expect("written");
    let files: Vec<NewFile> = writer
        .commit()
        .expect("published")
        .iter()
        .map(|file| NewFile::from_committed(root, file).expect("inside the table"))
        .collect();
    let note = CommitNote { batches: vec![("s".into(), seq)], info: serde_json::Map::new(), imports: Vec::new() };
    table.append(&files, note).await.expect("committed");
}

/// `SELECT sum(ip_len), count(DISTINCT batch_seq)`: every file's rows must be read.
const TOTALS: &str = "SELECT CAST(sum(ip_len) AS BIGINT UNSIGNED) AS bytes, CAST(count(DISTINCT batch_seq) AS BIGINT UNSIGNED) AS batches FROM packets";

fn totals(batches: &[arrow::record_batch::RecordBatch]) -> (u64, u64) {
    let row = &batches.iter().find(|b| b.num_rows() > 0).expect("one row");
    let value = |i: usize| row.column(i).as_primitive::<UInt64Type>().value(0);
    (value(0), value(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_running_across_a_compaction_reads_its_own_snapshot() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let location = TableLocation::parse(dir.path().to_str().expect("UTF-8")).expect("a folder");
    let mut table = PacketTable::open_or_create(&location).await.expect("a table");
    for seq in 1..=20 {
        append_batch(&mut table, dir.path(), seq).await;
    }
    let engine = QueryEngine::open(QueryConfig::new(dir.path().to_string_lossy())).await.expect("opens");
    assert_eq!(engine.snapshot().map(|s| s.version), Some(20));

    let statement = engine.parse(TOTALS).expect("parses").pop_front().expect("one statement");
    let mut running = engine.stream(statement).await.expect("planned over the 20 small files");

    // Meanwhile: the 20 files are merged into one by a commit, and a batch is appended.
    let mut compactor = PacketTable::open(&location, &AsOf::Latest).await.expect("opens");
    let options = CompactOptions { min_files: 2, ..CompactOptions::default() };
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("a day");
    let report = compactor.compact_day(day, &options).await.expect("compacted").expect("merged");
    assert_eq!((report.merged_files, report.new_files), (20, 1));
    append_batch(&mut compactor, dir.path(), 21).await;

    let mut batches = Vec::new();
    while let Some(batch) = futures::StreamExt::next(&mut running).await {
        batches.push(batch.expect("the running query finishes on its snapshot's files"));
    }
    let ip_len = 28u64;
    assert_eq!(totals(&batches), (20 * ROWS_PER_BATCH as u64 * ip_len, 20), "the snapshot it started on");

    let after = engine.query(TOTALS).await.expect("the next query runs");
    assert_eq!(totals(&after), (21 * ROWS_PER_BATCH as u64 * ip_len, 21), "compacted rows once, the append too");
    let files = PacketTable::open(&location, &AsOf::Latest).await.expect("opens").files().expect("files");
    assert_eq!(files.len(), 2, "the merged file and the appended one");
    // The engine read the batch_seq column once per row: no row twice after the merge.
    let per_batch = engine
        .query("SELECT batch_seq, CAST(count(*) AS BIGINT UNSIGNED) FROM packets GROUP BY batch_seq ORDER BY batch_seq")
        .await
        .expect("runs");
    let counts: Vec<u64> =
        per_batch.iter().flat_map(|b| b.column(1).as_primitive::<UInt64Type>().values().to_vec()).collect();
    assert_eq!(counts, vec![ROWS_PER_BATCH as u64; 21]);
}
