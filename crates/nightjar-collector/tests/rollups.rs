//! The collector's upkeep rolls up completed days, rolls a day up again when a late batch for it
//! arrives, and its retention removes a day's packets only once its rollups are current: the
//! rollups of an expired day stay.

use std::collections::BTreeMap;
use std::time::Duration;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use chrono::NaiveDate;
use nightjar_collector::{Limits, tokens};
use nightjar_dataset::table::{DayTable, derived_location};
use nightjar_dataset::{AsOf, PacketTable, TableLocation};
use nightjar_record::wire;

use crate::http::{Post, batch, config, now_us, read_all, site};

const DAY_US: i64 = 86_400_000_000;

/// Packets per day in the packet table's newest snapshot (from its log).
async fn packets_per_day(location: &TableLocation) -> BTreeMap<NaiveDate, u64> {
    let table = PacketTable::open(location, &AsOf::Latest).await.expect("the table opens");
    table.rows_by_day().await.expect("counted")
}

/// Packets each day's `source_days` rows stand for, read from the rollup table's files.
async fn rolled_up_per_day(location: &TableLocation, dataset: &std::path::Path) -> BTreeMap<NaiveDate, i64> {
    let rollup = derived_location(location, "source_days").expect("a location");
    let Some(table) = DayTable::open(&rollup).await.expect("opens") else { return BTreeMap::new() };
    let root = dataset.join("_rollups/source_days");
    let mut per_day = BTreeMap::new();
    for meta in table.files().expect("files").files_iter() {
        let path = meta.location.to_string();
        let day: NaiveDate = path
            .strip_prefix("day=")
            .and_then(|rest| rest.split('/').next())
            .and_then(|day| day.parse().ok())
            .expect("a day folder");
        for batch in read_all(&[root.join(&path)]) {
            let packets = batch.column_by_name("packets").expect("packets").as_primitive::<Int64Type>();
            *per_day.entry(day).or_insert(0) += packets.values().iter().sum::<i64>();
        }
    }
    per_day
}

fn day_of(time_us: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_micros(time_us).expect("a time").date_naive()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upkeep_rolls_up_days_redoes_a_late_day_and_keeps_rollups_past_the_packet_retention() {
    let site = site();
    let location = TableLocation::parse(site.dataset.to_str().expect("UTF-8")).expect("a folder");
    PacketTable::open_or_create(&location).await.expect("a table");
    let token = tokens::add_sensor(&site.state, "s1").expect("a token");
    let mut upkeeping = config(&site, Limits::default());
    upkeeping.compact_interval_s = 1;
    upkeeping.retention_days = Some(3);
    upkeeping.vacuum_grace_s = 0;
    let collector = nightjar_collector::start(upkeeping).await.expect("starts");
    // Noon five days ago (past the retention) and noon yesterday (kept).
    let noon = |days_ago: i64| {
        let day = day_of(now_us() - days_ago * DAY_US);
        day.and_hms_opt(12, 0, 0).expect("noon").and_utc().timestamp_micros()
    };
    let (old, yesterday) = (noon(5), noon(1));
    for (seq, rows, time) in [(1u64, 40usize, old), (2, 20, yesterday)] {
        let body = wire::encode(&[batch("s1", seq, rows, time)], 3).expect("encoded");
        assert_eq!(Post::new(&token, "s1", seq, body).send(&collector).await.0, 200);
    }
    let wait_for = |what: &'static str, want: BTreeMap<NaiveDate, i64>, packets: BTreeMap<NaiveDate, u64>| {
        let (location, dataset) = (location.clone(), site.dataset.clone());
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            loop {
                let (rolled, held) = (rolled_up_per_day(&location, &dataset).await, packets_per_day(&location).await);
                if rolled == want && held == packets {
                    return;
                }
                if std::time::Instant::now() >= deadline {
                    let mut history = String::new();
                    for table in ["_delta_log", "_rollups/source_days/_delta_log"] {
                        let mut entries: Vec<_> = std::fs::read_dir(dataset.join(table))
                            .map(|dir| dir.flatten().map(|e| e.path()).collect())
                            .unwrap_or_default();
                        entries.sort();
                        for entry in entries {
                            let text = std::fs::read_to_string(&entry).unwrap_or_default();
                            for line in text.lines().filter(|l| !l.contains("\"protocol\"") && !l.contains("metaData"))
                            {
                                history.push_str(&format!("{}: {}\n", entry.display(), &line[..line.len().min(300)]));
                            }
                        }
                    }
                    panic!("{what}: rollups {rolled:?}, packets {held:?}\n{history}");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let (old_day, yesterday_day) = (day_of(old), day_of(yesterday));
    wait_for(
        "both days rolled up, the old day's packets expired",
        BTreeMap::from([(old_day, 40), (yesterday_day, 20)]),
        BTreeMap::from([(yesterday_day, 20)]),
    )
    .await;
    // A late batch for yesterday: its rollups are redone; the expired day's stay as they were.
    let body = wire::encode(&[batch("s1", 3, 10, yesterday + 1_000_000)], 3).expect("encoded");
    assert_eq!(Post::new(&token, "s1", 3, body).send(&collector).await.0, 200);
    wait_for(
        "the late day rolled up again",
        BTreeMap::from([(old_day, 40), (yesterday_day, 30)]),
        BTreeMap::from([(yesterday_day, 30)]),
    )
    .await;
    collector.shutdown(Duration::from_secs(5)).await.expect("stops");
}
