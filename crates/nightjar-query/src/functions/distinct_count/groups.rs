//! `count(DISTINCT x)` per group as one set of (group, key) pairs for all groups.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array};
use datafusion::common::hash_utils::RandomState;
use datafusion::common::{HashSet, Result};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

use super::keys::{KeyKind, Keys, rows_as_state};

/// Distinct values per group: one set of (group, key) pairs, so adding a value is one hash probe
/// and no allocation per group.
///
/// The intermediate state is the built-in count's: per group, a list of the distinct values
/// (`List<value type>`).
#[derive(Debug)]
pub(crate) struct DistinctPairsCount {
    keys: Keys,
    seen: HashSet<(usize, u128), RandomState>,
    counts: Vec<i64>,
}

impl DistinctPairsCount {
    pub(crate) fn new(kind: KeyKind) -> DistinctPairsCount {
        DistinctPairsCount { keys: Keys::new(kind), seen: HashSet::default(), counts: Vec::new() }
    }

    /// Take the pairs of the emitted groups out, renumbering the rest.
    fn take_emitted(&mut self, emit_to: EmitTo) -> Vec<(usize, u128)> {
        match emit_to {
            EmitTo::All => self.seen.drain().collect(),
            EmitTo::First(n) => {
                let mut emitted = Vec::new();
                let mut kept = HashSet::with_capacity_and_hasher(self.seen.len(), RandomState::default());
                for (group, key) in self.seen.drain() {
                    if group < n {
                        emitted.push((group, key));
                    } else {
                        kept.insert((group - n, key));
                    }
                }
                self.seen = kept;
                emitted
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

impl GroupsAccumulator for DistinctPairsCount {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.counts.resize(total_num_groups, 0);
        let (seen, counts) = (&mut self.seen, &mut self.counts);
        self.keys.for_each(&values[0], |row, key| {
            let wanted = opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
            let group = group_indices[row];
            if wanted && seen.insert((group, key)) {
                counts[group] += 1;
            }
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let counts = emit_to.take_needed(&mut self.counts);
        self.take_emitted(emit_to);
        Ok(Arc::new(Int64Array::from(counts)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let counts = emit_to.take_needed(&mut self.counts);
        let mut lists: Vec<Vec<u128>> = counts.iter().map(|&c| Vec::with_capacity(c as usize)).collect();
        for (group, key) in self.take_emitted(emit_to) {
            lists[group].push(key);
        }
        Ok(vec![self.keys.state_lists(&lists)?])
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.counts.resize(total_num_groups, 0);
        let (seen, counts) = (&mut self.seen, &mut self.counts);
        self.keys.for_each_listed(&values[0], |row, key| {
            let group = group_indices[row];
            if seen.insert((group, key)) {
                counts[group] += 1;
            }
        })
    }

    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        Ok(vec![rows_as_state(&values[0], opt_filter)?])
    }

    fn size(&self) -> usize {
        size_of::<Self>()
            + self.seen.capacity() * (size_of::<(usize, u128)>() + size_of::<u64>())
            + self.counts.capacity() * size_of::<i64>()
            + self.keys.size()
    }
}
