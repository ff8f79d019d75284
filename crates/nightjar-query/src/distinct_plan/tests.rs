use std::sync::Arc;

use datafusion::arrow::array::{FixedSizeBinaryArray, Int64Array, RecordBatch, StringArray, UInt16Array};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::*;

/// One row of [`table`]: group, address, port, country.
type Row = (i64, Option<u128>, Option<u16>, Option<&'static str>);

/// Two partitions of (g, addr with nulls, port, country with nulls) rows over `groups` groups.
fn table(n: usize, groups: usize) -> MemTable {
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new("addr", DataType::FixedSizeBinary(16), true),
        Field::new("port", DataType::UInt16, true),
        Field::new("country", DataType::Utf8, true),
    ]));
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let rows: Vec<Row> = (0..n)
        .map(|_| {
            let r = next();
            let address = (!r.is_multiple_of(13)).then_some(0xffff_0a00_0000_u128 + u128::from(r >> 50));
            let countries = ["NL", "US", "CN", "BR"];
            let country = (!r.is_multiple_of(7)).then_some(countries[(r >> 20) as usize % countries.len()]);
            ((r % groups as u64) as i64, address, (!r.is_multiple_of(5)).then_some((r >> 30) as u16 % 40), country)
        })
        .collect();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                    rows.iter().map(|r| r.1.map(u128::to_be_bytes)),
                    16,
                )
                .unwrap(),
            ),
            Arc::new(rows.iter().map(|r| r.2).collect::<UInt16Array>()),
            Arc::new(rows.iter().map(|r| r.3).collect::<StringArray>()),
        ],
    )
    .unwrap();
    let half = n / 2;
    MemTable::try_new(schema, vec![vec![batch.slice(0, half)], vec![batch.slice(half, n - half)]]).unwrap()
}

/// A session over [`table`], with the project's `count` and the wrapped rule when `ours`.
fn session(ours: bool, groups: usize) -> SessionContext {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2).with_batch_size(700));
    ctx.register_table("t", Arc::new(table(5_000, groups))).unwrap();
    if !ours {
        return ctx;
    }
    crate::functions::register_count(&ctx);
    keep_counted_distinct(ctx)
}

async fn answer(ctx: &SessionContext, sql: &str) -> RecordBatch {
    let frame = ctx.sql(sql).await.unwrap();
    let schema = Arc::new(frame.schema().as_arrow().clone());
    concat_batches(&schema, &frame.collect().await.unwrap()).unwrap()
}

async fn plan_text(ctx: &SessionContext, sql: &str) -> String {
    let explained = answer(ctx, &format!("EXPLAIN {sql}")).await;
    pretty_format_batches(&[explained]).unwrap().to_string()
}

#[tokio::test]
async fn single_distinct_counts_stay_one_aggregate_with_the_same_answers() {
    let queries = [
        "SELECT g, count(DISTINCT addr) AS n FROM t GROUP BY g ORDER BY g",
        "SELECT count(DISTINCT addr) AS n FROM t",
        "SELECT country, count(DISTINCT addr) AS n, max(port) AS top FROM t GROUP BY country ORDER BY country NULLS FIRST",
        "SELECT g, count(DISTINCT country) AS n FROM t GROUP BY g ORDER BY g",
        "SELECT count(DISTINCT addr) AS n FROM t WHERE g < 0",
        "SELECT g, count(DISTINCT addr) AS n FROM t WHERE g < 0 GROUP BY g",
    ];
    for groups in [1, 7, 2_000] {
        let (builtin, ours) = (session(false, groups), session(true, groups));
        for sql in queries {
            assert_eq!(answer(&ours, sql).await, answer(&builtin, sql).await, "{groups} groups: {sql}");
            // DataFusion's rewrite groups by the counted column in an inner aggregate; ours keeps one.
            assert!(plan_text(&builtin, sql).await.contains("alias1"), "{sql} is rewritten by DataFusion");
            assert!(!plan_text(&ours, sql).await.contains("alias1"), "{sql} is kept as one aggregate");
        }
    }
}

#[tokio::test]
async fn other_single_distinct_aggregates_are_still_rewritten() {
    let ctx = session(true, 7);
    let builtin = session(false, 7);
    // A distinct count of integers has DataFusion's own fast path either way; sum(DISTINCT) too.
    for sql in [
        "SELECT g, count(DISTINCT port) AS n FROM t GROUP BY g ORDER BY g",
        "SELECT g, sum(DISTINCT port) AS n FROM t GROUP BY g ORDER BY g",
    ] {
        assert!(plan_text(&ctx, sql).await.contains("alias1"), "{sql} is rewritten");
        assert_eq!(answer(&ctx, sql).await, answer(&builtin, sql).await, "{sql}");
    }
}
