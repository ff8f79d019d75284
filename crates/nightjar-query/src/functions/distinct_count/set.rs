//! `count(DISTINCT x)` without GROUP BY (or beside other distinct counts, where DataFusion keeps
//! one accumulator per aggregate): one set of keys instead of one of boxed `ScalarValue`s.

use datafusion::arrow::array::ArrayRef;
use datafusion::common::hash_utils::RandomState;
use datafusion::common::{HashSet, Result, ScalarValue, exec_err};
use datafusion::logical_expr::Accumulator;

use super::keys::{KeyKind, Keys};

/// The distinct values of one aggregate as keys. Its state is the built-in count's: one list of
/// the distinct values.
#[derive(Debug)]
pub(crate) struct DistinctSetCount {
    keys: Keys,
    seen: HashSet<u128, RandomState>,
}

impl DistinctSetCount {
    pub(crate) fn new(kind: KeyKind) -> DistinctSetCount {
        DistinctSetCount { keys: Keys::new(kind), seen: HashSet::default() }
    }
}

impl Accumulator for DistinctSetCount {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let seen = &mut self.seen;
        self.keys.for_each(&values[0], |_, key| {
            seen.insert(key);
        })
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.seen.len() as i64)))
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.seen.capacity() * (size_of::<u128>() + size_of::<u64>()) + self.keys.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let keys: Vec<u128> = self.seen.iter().copied().collect();
        let lists = self.keys.state_lists(&[keys])?;
        match lists.as_any().downcast_ref::<datafusion::arrow::array::ListArray>() {
            Some(list) => Ok(vec![ScalarValue::List(std::sync::Arc::new(list.clone()))]),
            None => exec_err!("count(DISTINCT …): state is not a list"),
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let seen = &mut self.seen;
        self.keys.for_each_listed(&states[0], |_, key| {
            seen.insert(key);
        })
    }
}
