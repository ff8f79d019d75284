//! The collector over a Delta table: the table's log decides what was stored, so two collectors
//! with ledgers of their own share one table, and a batch sent to both at once is stored once.

use std::path::PathBuf;
use std::time::Duration;

use arrow::array::AsArray;
use arrow::datatypes::UInt64Type;
use nightjar_collector::{CollectorConfig, Limits, RunningCollector, start, tokens};
use nightjar_dataset::{AsOf, PacketTable, TableLocation};
use nightjar_record::wire;

use crate::http::{Post, Site, batch, config, now_us, parquet_files, read_all, site};

/// The time every batch of this test binary starts at.
fn test_start_us() -> i64 {
    static START: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *START.get_or_init(now_us)
}

fn location(site: &Site) -> TableLocation {
    TableLocation::parse(site.dataset.to_str().expect("UTF-8")).expect("a folder")
}

/// A second collector on the same dataset, with a state folder (tokens, ledger) of its own.
fn second_config(site: &Site, state: PathBuf) -> CollectorConfig {
    let mut second = config(site, Limits::default());
    second.state_dir = state;
    second
}

/// Rows of each `batch_seq` in the files of the table's newest snapshot.
async fn rows_per_batch(site: &Site) -> std::collections::BTreeMap<u64, u64> {
    let table = PacketTable::open(&location(site), &AsOf::Latest).await.expect("the table opens");
    let files: Vec<PathBuf> =
        table.files().expect("files").files_iter().map(|meta| site.dataset.join(meta.location.as_ref())).collect();
    let mut rows = std::collections::BTreeMap::new();
    for batch in read_all(&files) {
        let seqs = batch.column_by_name("batch_seq").expect("a batch_seq column").as_primitive::<UInt64Type>();
        for i in 0..seqs.len() {
            *rows.entry(seqs.value(i)).or_insert(0) += 1;
        }
    }
    rows
}

/// Posts batch `seq` of sensor `s1` with rows from `start_us`: the same `seq` and start always
/// make the same batch, so a repeat is a duplicate, not a conflict.
async fn post(collector: &RunningCollector, token: &str, seq: u64, rows: usize) -> (u16, String) {
    let body = wire::encode(&[batch("s1", seq, rows, test_start_us())], 3).expect("encoded");
    let (status, answer) = Post::new(token, "s1", seq, body).send(collector).await;
    (status, answer["status"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_collectors_share_one_table_and_store_each_batch_once() {
    let site = site();
    PacketTable::open_or_create(&location(&site)).await.expect("a table");
    let token = tokens::add_sensor(&site.state, "s1").expect("a token");
    let first = start(config(&site, Limits::default())).await.expect("the first collector starts");

    assert_eq!(post(&first, &token, 1, 300).await, (200, "stored".into()));
    assert_eq!(post(&first, &token, 1, 300).await, (200, "duplicate".into()));
    let table = PacketTable::open(&location(&site), &AsOf::Latest).await.expect("the table opens");
    assert_eq!(table.version(), 1, "one commit for the batch");
    assert_eq!(table.stored_seq("s1").await.expect("read"), Some(1));

    // Another collector, whose own ledger never saw batch 1, learns it from the table.
    let other_state = site.dataset.parent().expect("a parent").join("state-2");
    std::fs::create_dir_all(&other_state).expect("a state folder");
    std::fs::copy(site.state.join(tokens::SENSORS_FILE), other_state.join(tokens::SENSORS_FILE)).expect("tokens");
    let second = start(second_config(&site, other_state)).await.expect("the second collector starts");
    assert_eq!(post(&second, &token, 1, 300).await, (200, "duplicate".into()), "failing over keeps exactly-once");
    assert_eq!(post(&second, &token, 2, 200).await, (200, "stored".into()));
    assert_eq!(post(&first, &token, 2, 200).await, (200, "duplicate".into()));

    // The same batch sent to both at once: one stores it, the other answers duplicate.
    for seq in 3..=8u64 {
        let (a, b) = tokio::join!(post(&first, &token, seq, 100), post(&second, &token, seq, 100));
        let mut answers = [a.1.clone(), b.1.clone()];
        answers.sort();
        assert_eq!(answers, ["duplicate", "stored"], "batch {seq}: {a:?} and {b:?}");
    }

    let expected: std::collections::BTreeMap<u64, u64> =
        [(1, 300), (2, 200), (3, 100), (4, 100), (5, 100), (6, 100), (7, 100), (8, 100)].into_iter().collect();
    assert_eq!(rows_per_batch(&site).await, expected, "every batch exactly once");
    let table = PacketTable::open(&location(&site), &AsOf::Latest).await.expect("the table opens");
    assert_eq!(
        parquet_files(&site.dataset).len(),
        table.files().expect("files").len(),
        "the loser of each race removed its files"
    );
    first.shutdown(Duration::from_secs(5)).await.expect("stops");
    second.shutdown(Duration::from_secs(5)).await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_commits_the_merge_and_older_snapshots_still_read() {
    let site = site();
    PacketTable::open_or_create(&location(&site)).await.expect("a table");
    let token = tokens::add_sensor(&site.state, "s1").expect("a token");
    let mut compacting = config(&site, Limits::default());
    compacting.compact_interval_s = 2;
    compacting.compact_min_files = 4;
    let collector = start(compacting).await.expect("starts");
    for seq in 1..=6u64 {
        assert_eq!(post(&collector, &token, seq, 50).await.0, 200);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let table = PacketTable::open(&location(&site), &AsOf::Latest).await.expect("the table opens");
        if table.files().expect("files").len() == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "compaction did not commit");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let expected: std::collections::BTreeMap<u64, u64> = (1..=6).map(|seq| (seq, 50)).collect();
    assert_eq!(rows_per_batch(&site).await, expected, "every row once after the merge");
    // The snapshot before the merge still names its small files, which are still there.
    let before = PacketTable::open(&location(&site), &AsOf::Version(6)).await.expect("version 6 opens");
    let old_files: Vec<PathBuf> =
        before.files().expect("files").files_iter().map(|meta| site.dataset.join(meta.location.as_ref())).collect();
    assert_eq!(old_files.len(), 6);
    assert_eq!(read_all(&old_files).iter().map(|b| b.num_rows() as u64).sum::<u64>(), 300);
    // Stored batches stay recognised after the merge.
    assert_eq!(post(&collector, &token, 3, 50).await, (200, "duplicate".into()));
    collector.shutdown(Duration::from_secs(5)).await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_past_the_retention_leave_the_table_and_the_disk() {
    let site = site();
    PacketTable::open_or_create(&location(&site)).await.expect("a table");
    let token = tokens::add_sensor(&site.state, "s1").expect("a token");
    let mut keeping = config(&site, Limits::default());
    keeping.compact_interval_s = 2;
    keeping.retention_days = Some(2);
    keeping.vacuum_grace_s = 0;
    let collector = start(keeping).await.expect("starts");
    let five_days_ago = now_us() - 5 * 86_400_000_000;
    let old = wire::encode(&[batch("s1", 1, 40, five_days_ago)], 3).expect("encoded");
    assert_eq!(Post::new(&token, "s1", 1, old).send(&collector).await.0, 200);
    assert_eq!(post(&collector, &token, 2, 30).await, (200, "stored".into()));

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        // The snapshot's files are read only once the vacuum is done: until then (a grace of 0)
        // it may delete the old day's file between the snapshot and the read.
        let on_disk = parquet_files(&site.dataset).len();
        if on_disk == 1 {
            let rows = rows_per_batch(&site).await;
            if rows.len() == 1 {
                assert_eq!(rows.get(&2), Some(&30), "today's batch stays");
                break;
            }
        }
        assert!(std::time::Instant::now() < deadline, "the old day was not expired and vacuumed ({on_disk} files)");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The expired batch stays stored as far as exactly-once goes.
    let table = PacketTable::open(&location(&site), &AsOf::Latest).await.expect("opens");
    assert_eq!(table.stored_seq("s1").await.expect("read"), Some(2));
    collector.shutdown(Duration::from_secs(5)).await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uploads_share_commits_and_every_batch_lands_once() {
    let site = site();
    PacketTable::open_or_create(&location(&site)).await.expect("a table");
    let sensors: Vec<(String, String)> = (0..16)
        .map(|i| {
            let name = format!("g{i}");
            let token = tokens::add_sensor(&site.state, &name).expect("a token");
            (name, token)
        })
        .collect();
    let collector = std::sync::Arc::new(start(config(&site, Limits::default())).await.expect("starts"));
    let mut uploads = Vec::new();
    for (name, token) in sensors.clone() {
        let collector = std::sync::Arc::clone(&collector);
        uploads.push(tokio::spawn(async move {
            for seq in 1..=3u64 {
                let body = wire::encode(&[batch(&name, seq, 20, test_start_us())], 3).expect("encoded");
                let (status, answer) = Post::new(&token, &name, seq, body).send(&collector).await;
                assert_eq!((status, answer["status"].as_str()), (200, Some("stored")), "{name} {seq}: {answer}");
            }
        }));
    }
    for upload in uploads {
        upload.await.expect("the uploads finished");
    }
    let table = PacketTable::open(&location(&site), &AsOf::Latest).await.expect("opens");
    let batches = sensors.len() as u64 * 3;
    println!("{batches} batches in {} commits", table.version());
    assert!(table.version() <= batches, "at most one commit per batch");
    for (name, _) in &sensors {
        assert_eq!(table.stored_seq(name).await.expect("read"), Some(3), "{name}");
    }
    let files: Vec<PathBuf> =
        table.files().expect("files").files_iter().map(|meta| site.dataset.join(meta.location.as_ref())).collect();
    assert_eq!(read_all(&files).iter().map(|b| b.num_rows()).sum::<usize>(), 16 * 3 * 20, "every row once");
    assert_eq!(parquet_files(&site.dataset).len(), files.len(), "no file outside the table");
}
