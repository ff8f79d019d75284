use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, FixedSizeBinaryArray, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::EmitTo;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::*;

/// Rows of (group, address or null, passes the filter), deterministic but irregular.
fn rows(n: usize, groups: usize) -> Vec<(usize, Option<u128>, bool)> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let group = (state >> 33) as usize % groups;
            // Few distinct values, so repeats within a group are common.
            let value =
                if state.is_multiple_of(11) { None } else { Some(0xffff_c633_6400 + u128::from((state >> 40) % 37)) };
            (group, value, !state.is_multiple_of(5))
        })
        .collect()
}

fn addresses(rows: &[(usize, Option<u128>, bool)]) -> ArrayRef {
    let values = rows.iter().map(|(_, v, _)| v.map(u128::to_be_bytes));
    Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(values, 16).expect("16-byte values"))
}

/// What a distinct count per group must be, worked out with ordinary sets.
fn expected(rows: &[(usize, Option<u128>, bool)], groups: usize) -> Vec<i64> {
    let mut sets: BTreeMap<usize, BTreeSet<u128>> = BTreeMap::new();
    for (group, value, wanted) in rows {
        if let (Some(value), true) = (value, wanted) {
            sets.entry(*group).or_default().insert(*value);
        }
    }
    (0..groups).map(|g| sets.get(&g).map_or(0, |s| s.len() as i64)).collect()
}

fn counts(array: ArrayRef) -> Vec<i64> {
    array.as_any().downcast_ref::<Int64Array>().expect("counts are Int64").values().to_vec()
}

#[test]
fn counts_distinct_values_per_group_with_filter_and_nulls() {
    let rows = rows(5_000, 7);
    let groups: Vec<usize> = rows.iter().map(|r| r.0).collect();
    let filter = BooleanArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>());
    let mut accumulator = DistinctPairsCount::new(KeyKind::Address);
    // Two batches, so a value seen in both counts once.
    let (first, second) = rows.split_at(2_000);
    accumulator.update_batch(&[addresses(first)], &groups[..2_000], Some(&filter.slice(0, 2_000)), 7).unwrap();
    accumulator.update_batch(&[addresses(second)], &groups[2_000..], Some(&filter.slice(2_000, 3_000)), 7).unwrap();
    assert_eq!(counts(accumulator.evaluate(EmitTo::All).unwrap()), expected(&rows, 7));
    assert!(accumulator.is_empty());
}

#[test]
fn state_and_converted_rows_merge_to_the_same_counts() {
    let rows = rows(3_000, 5);
    let groups: Vec<usize> = rows.iter().map(|r| r.0).collect();
    let filter = BooleanArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>());
    let want = expected(&rows, 5);

    // Partial accumulators' state, merged by a final one.
    let mut partial = DistinctPairsCount::new(KeyKind::Address);
    partial.update_batch(&[addresses(&rows)], &groups, Some(&filter), 5).unwrap();
    let state = partial.state(EmitTo::All).unwrap();
    let mut merged = DistinctPairsCount::new(KeyKind::Address);
    merged.merge_batch(&state, &[0, 1, 2, 3, 4], 5).unwrap();
    // Merging the same state twice changes nothing: the sets are sets.
    merged.merge_batch(&state, &[0, 1, 2, 3, 4], 5).unwrap();
    assert_eq!(counts(merged.evaluate(EmitTo::All).unwrap()), want);

    // Rows turned straight into state (partial aggregation skipped).
    let converted =
        DistinctPairsCount::new(KeyKind::Address).convert_to_state(&[addresses(&rows)], Some(&filter)).unwrap();
    assert_eq!(converted[0].len(), rows.len());
    let mut merged = DistinctPairsCount::new(KeyKind::Address);
    merged.merge_batch(&converted, &groups, 5).unwrap();
    assert_eq!(counts(merged.evaluate(EmitTo::All).unwrap()), want);
}

#[test]
fn emitting_the_first_groups_renumbers_the_rest() {
    let rows = rows(2_000, 6);
    let groups: Vec<usize> = rows.iter().map(|r| r.0).collect();
    let want = expected(&rows.iter().map(|&(g, v, _)| (g, v, true)).collect::<Vec<_>>(), 6);
    let mut accumulator = DistinctPairsCount::new(KeyKind::Address);
    accumulator.update_batch(&[addresses(&rows)], &groups, None, 6).unwrap();
    assert_eq!(counts(accumulator.evaluate(EmitTo::First(2)).unwrap()), want[..2]);
    let state = accumulator.state(EmitTo::First(1)).unwrap();
    let mut merged = DistinctPairsCount::new(KeyKind::Address);
    merged.merge_batch(&state, &[0], 1).unwrap();
    assert_eq!(counts(merged.evaluate(EmitTo::All).unwrap()), want[2..3]);
    assert_eq!(counts(accumulator.evaluate(EmitTo::All).unwrap()), want[3..]);
}

#[tokio::test]
async fn sql_count_gives_the_builtin_answers_with_the_address_accumulator() {
    let rows = rows(4_000, 9);
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new("addr", DataType::FixedSizeBinary(16), true),
        Field::new("keep", DataType::Boolean, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(rows.iter().map(|r| r.0 as i64).collect::<Vec<_>>())),
            addresses(&rows),
            Arc::new(BooleanArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
        ],
    )
    .unwrap();
    let ctx = SessionContext::new();
    ctx.register_batch("t", batch).unwrap();
    let sql = "SELECT g, count(DISTINCT addr) FILTER (WHERE keep) AS n, count(*) AS rows, count(addr) AS present \
               FROM t GROUP BY g ORDER BY g";
    let builtin = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    ctx.register_udaf(count());
    let ours = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    assert_eq!(ours, builtin, "same answers as DataFusion's own count");
    let n = counts(
        datafusion::arrow::compute::concat(&ours.iter().map(|b| b.column(1).as_ref()).collect::<Vec<_>>()).unwrap(),
    );
    assert_eq!(n, expected(&rows, 9));
    // The empty input still counts 0, not NULL.
    let empty = ctx.sql("SELECT count(DISTINCT addr), count(*) FROM t WHERE g < 0").await.unwrap();
    let empty = empty.collect().await.unwrap();
    assert_eq!(counts(Arc::clone(empty[0].column(0))), vec![0]);
    assert_eq!(counts(Arc::clone(empty[0].column(1))), vec![0]);
}

/// A table of two partitions with addresses (IPv4-mapped and IPv6), dates and strings, each with
/// nulls, over `groups` groups.
fn mixed_table(n: usize, groups: usize) -> (Arc<Schema>, Vec<RecordBatch>) {
    let rows = rows(n, groups);
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new("addr", DataType::FixedSizeBinary(16), true),
        Field::new("v6", DataType::FixedSizeBinary(16), true),
        Field::new("day", DataType::Date32, true),
        Field::new("country", DataType::Utf8, true),
        Field::new("keep", DataType::Boolean, false),
    ]));
    let v6 = rows
        .iter()
        .enumerate()
        .map(|(i, r)| r.1.map(|v| (0x2001_0db8_u128 << 96 | (v ^ (i as u128 % 13) << 64)).to_be_bytes()));
    let days = rows.iter().enumerate().map(|(i, r)| (i % 7 != 3).then_some(20_760 + (r.0 as i32 + i as i32) % 9));
    let countries = ["NL", "US", "CN", "BR", "DE", "NL-long-name", ""];
    let texts = rows.iter().enumerate().map(|(i, r)| (i % 5 != 1).then_some(countries[(r.0 + i) % countries.len()]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from(rows.iter().map(|r| r.0 as i64).collect::<Vec<_>>())),
            addresses(&rows),
            Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(v6, 16).unwrap()),
            Arc::new(days.collect::<Date32Array>()),
            Arc::new(texts.collect::<StringArray>()),
            Arc::new(BooleanArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
        ],
    )
    .unwrap();
    let half = n / 2;
    (schema, vec![batch.slice(0, half), batch.slice(half, n - half)])
}

/// `sql`'s answer with DataFusion's own count, then with ours, on a session that skips partial
/// aggregation early (so rows also reach the final stage as converted state).
async fn builtin_and_ours(sql: &str, n: usize, groups: usize) -> (RecordBatch, RecordBatch) {
    let (schema, batches) = mixed_table(n, groups);
    let mut config = SessionConfig::new().with_target_partitions(2).with_batch_size(512);
    config.options_mut().execution.skip_partial_aggregation_probe_rows_threshold = 64;
    config.options_mut().execution.skip_partial_aggregation_probe_ratio_threshold = 0.1;
    let ctx = SessionContext::new_with_config(config);
    let table = MemTable::try_new(Arc::clone(&schema), batches.into_iter().map(|b| vec![b]).collect()).unwrap();
    ctx.register_table("t", Arc::new(table)).unwrap();
    let answer = async |ctx: &SessionContext| {
        let frame = ctx.sql(sql).await.unwrap();
        let schema = Arc::new(frame.schema().as_arrow().clone());
        concat_batches(&schema, &frame.collect().await.unwrap()).unwrap()
    };
    let builtin = answer(&ctx).await;
    ctx.register_udaf(count());
    (builtin, answer(&ctx).await)
}

#[tokio::test]
async fn several_distinct_counts_give_the_builtin_answers() {
    let queries = [
        // Without GROUP BY: one accumulator per distinct count.
        "SELECT count(DISTINCT addr), count(DISTINCT v6), count(DISTINCT day), count(DISTINCT country), count(*) FROM t",
        "SELECT count(DISTINCT addr) FILTER (WHERE keep), count(DISTINCT v6) FROM t",
        // Empty input: zeros, not NULL.
        "SELECT count(DISTINCT addr), count(DISTINCT v6), count(DISTINCT day), count(DISTINCT country) FROM t WHERE g < 0",
        "SELECT g, count(DISTINCT addr), count(DISTINCT day) FROM t WHERE g < 0 GROUP BY g",
        // Per group, with filters, nulls and IPv6.
        "SELECT g, count(DISTINCT addr), count(DISTINCT v6), count(DISTINCT day), count(DISTINCT country) \
         FROM t GROUP BY g ORDER BY g",
        "SELECT country, count(DISTINCT addr) FILTER (WHERE keep), count(DISTINCT day) FILTER (WHERE NOT keep), \
         count(DISTINCT g) FROM t GROUP BY country ORDER BY country NULLS FIRST",
        "SELECT g, day FROM t GROUP BY g, day HAVING count(DISTINCT country) >= 3 ORDER BY g, day NULLS FIRST",
        "SELECT day, count(DISTINCT country), count(DISTINCT addr), count(*) FROM t GROUP BY day ORDER BY day NULLS FIRST",
    ];
    for groups in [1, 9, 3_000] {
        for sql in queries {
            let (builtin, ours) = builtin_and_ours(sql, 6_000, groups).await;
            assert_eq!(ours, builtin, "{groups} groups: {sql}");
        }
    }
}

#[test]
fn distinct_set_merges_states_of_partitions() {
    let rows = rows(3_000, 1);
    let (first, second) = rows.split_at(1_000);
    let mut one = DistinctSetCount::new(KeyKind::Address);
    one.update_batch(&[addresses(first)]).unwrap();
    let mut two = DistinctSetCount::new(KeyKind::Address);
    two.update_batch(&[addresses(second)]).unwrap();
    let states: Vec<ArrayRef> =
        [one.state().unwrap(), two.state().unwrap()].into_iter().map(|state| state[0].to_array().unwrap()).collect();
    let mut merged = DistinctSetCount::new(KeyKind::Address);
    for state in &states {
        merged.merge_batch(std::slice::from_ref(state)).unwrap();
    }
    assert_eq!(
        merged.evaluate().unwrap(),
        ScalarValue::Int64(Some(expected(&rows.iter().map(|&(_, v, _)| (0, v, true)).collect::<Vec<_>>(), 1)[0]))
    );
}
