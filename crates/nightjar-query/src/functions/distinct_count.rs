//! `count(DISTINCT src_ip)` per group at the speed of an integer count.
//!
//! DataFusion 55 counts distinct integers per group with a dedicated groups
//! accumulator, but a 16-byte address (`FixedSizeBinary(16)`) falls back to a
//! set of boxed `ScalarValue`s per group, re-measured after every batch: the
//! analysts' most common question ("how many sources?") was its slowest
//! aggregate. [`count`] is DataFusion's own `count` with one addition: for
//! `count(DISTINCT x)` over 16-byte values it uses [`AddressDistinctCount`],
//! one hash set of (group, address as `u128`) pairs for all groups. Everything
//! else — plain counts, other types, statistics shortcuts, window use — is the
//! built-in function's.

use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, FixedSizeBinaryArray, FixedSizeBinaryBuilder, Int64Array, ListArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::hash_utils::RandomState;
use datafusion::common::{HashSet, Result, ScalarValue, exec_err};
use datafusion::functions_aggregate::count::count_udaf;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, ReversedUDAF,
    SetMonotonicity, Signature, StatisticsArgs,
};

/// Width of the values [`AddressDistinctCount`] counts: the stored address form.
const ADDRESS_BYTES: i32 = 16;

/// DataFusion's `count`, with a fast `count(DISTINCT …)` for 16-byte addresses.
pub(crate) fn count() -> AggregateUDF {
    AggregateUDF::new_from_impl(CountWithAddresses { builtin: count_udaf() })
}

fn is_address(data_type: &DataType) -> bool {
    *data_type == DataType::FixedSizeBinary(ADDRESS_BYTES)
}

/// The built-in `count`, delegated to in everything but the groups
/// accumulator of a distinct count over addresses.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CountWithAddresses {
    builtin: Arc<AggregateUDF>,
}

impl CountWithAddresses {
    fn inner(&self) -> &Arc<dyn AggregateUDFImpl> {
        self.builtin.inner()
    }

    fn counts_addresses(args: &AccumulatorArgs) -> bool {
        args.is_distinct && args.exprs.len() == 1 && is_address(args.expr_fields[0].data_type())
    }
}

impl AggregateUDFImpl for CountWithAddresses {
    fn name(&self) -> &str {
        self.inner().name()
    }

    fn aliases(&self) -> &[String] {
        self.inner().aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner().signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner().return_type(arg_types)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.inner().return_field(arg_fields)
    }

    fn is_nullable(&self) -> bool {
        self.inner().is_nullable()
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner().state_fields(args)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner().accumulator(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        Self::counts_addresses(&args) || self.inner().groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        if Self::counts_addresses(&args) {
            return Ok(Box::new(AddressDistinctCount::default()));
        }
        self.inner().create_groups_accumulator(args)
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner().create_sliding_accumulator(args)
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.inner().order_sensitivity()
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        self.inner().simplify()
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        self.inner().reverse_expr()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner().coerce_types(arg_types)
    }

    fn is_descending(&self) -> Option<bool> {
        self.inner().is_descending()
    }

    fn value_from_stats(&self, statistics_args: &StatisticsArgs) -> Option<ScalarValue> {
        self.inner().value_from_stats(statistics_args)
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.inner().default_value(data_type)
    }

    fn supports_null_handling_clause(&self) -> bool {
        self.inner().supports_null_handling_clause()
    }

    fn supports_within_group_clause(&self) -> bool {
        self.inner().supports_within_group_clause()
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.inner().set_monotonicity(data_type)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner().documentation()
    }
}

/// Distinct 16-byte values per group: one set of (group, value) pairs, so
/// adding a value is one hash probe and no allocation per group.
///
/// The intermediate state is the built-in count's: per group, a list of the
/// distinct values (`List<FixedSizeBinary(16)>`).
#[derive(Debug, Default)]
pub(crate) struct AddressDistinctCount {
    seen: HashSet<(usize, u128), RandomState>,
    counts: Vec<i64>,
}

impl AddressDistinctCount {
    fn insert(&mut self, group: usize, value: &[u8]) -> Result<()> {
        if self.seen.insert((group, as_u128(value)?)) {
            self.counts[group] += 1;
        }
        Ok(())
    }

    /// Take the pairs of the emitted groups out, renumbering the rest.
    fn take_emitted(&mut self, emit_to: EmitTo) -> Vec<(usize, u128)> {
        match emit_to {
            EmitTo::All => self.seen.drain().collect(),
            EmitTo::First(n) => {
                let mut emitted = Vec::new();
                let mut kept = HashSet::with_capacity_and_hasher(self.seen.len(), RandomState::default());
                for (group, value) in self.seen.drain() {
                    if group < n {
                        emitted.push((group, value));
                    } else {
                        kept.insert((group - n, value));
                    }
                }
                self.seen = kept;
                emitted
            }
        }
    }
}

fn as_u128(value: &[u8]) -> Result<u128> {
    match <[u8; 16]>::try_from(value) {
        Ok(bytes) => Ok(u128::from_be_bytes(bytes)),
        Err(_) => exec_err!("count(DISTINCT …) over addresses got a {}-byte value", value.len()),
    }
}

fn values_of(array: &ArrayRef) -> Result<&FixedSizeBinaryArray> {
    match array.as_fixed_size_binary_opt() {
        Some(values) if values.value_length() == ADDRESS_BYTES => Ok(values),
        _ => exec_err!("count(DISTINCT …) over addresses got {}", array.data_type()),
    }
}

/// Per-group lists of values as the built-in count's state column.
fn state_lists(lists: Vec<Vec<u128>>) -> Result<ArrayRef> {
    let total = lists.iter().map(Vec::len).sum();
    let mut values = FixedSizeBinaryBuilder::with_capacity(total, ADDRESS_BYTES);
    for value in lists.iter().flatten() {
        values.append_value(value.to_be_bytes())?;
    }
    let offsets = OffsetBuffer::from_lengths(lists.iter().map(Vec::len));
    let item = Arc::new(Field::new_list_field(DataType::FixedSizeBinary(ADDRESS_BYTES), true));
    Ok(Arc::new(ListArray::try_new(item, offsets, Arc::new(values.finish()), None)?))
}

impl GroupsAccumulator for AddressDistinctCount {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.counts.resize(total_num_groups, 0);
        let values = values_of(&values[0])?;
        for (row, &group) in group_indices.iter().enumerate() {
            let wanted = opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
            if wanted && values.is_valid(row) {
                self.insert(group, values.value(row))?;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let counts = emit_to.take_needed(&mut self.counts);
        self.take_emitted(emit_to);
        Ok(Arc::new(Int64Array::from(counts)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let counts = emit_to.take_needed(&mut self.counts);
        let mut lists: Vec<Vec<u128>> = counts.iter().map(|&c| Vec::with_capacity(c as usize)).collect();
        for (group, value) in self.take_emitted(emit_to) {
            lists[group].push(value);
        }
        Ok(vec![state_lists(lists)?])
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.counts.resize(total_num_groups, 0);
        let Some(lists) = values[0].as_list_opt::<i32>() else {
            return exec_err!("count(DISTINCT …) over addresses: state is {}", values[0].data_type());
        };
        let items = values_of(lists.values())?;
        let offsets = lists.offsets();
        for (row, &group) in group_indices.iter().enumerate() {
            for item in offsets[row] as usize..offsets[row + 1] as usize {
                if items.is_valid(item) {
                    self.insert(group, items.value(item))?;
                }
            }
        }
        Ok(())
    }

    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        let values = values_of(&values[0])?;
        let mut lists = Vec::with_capacity(values.len());
        for row in 0..values.len() {
            let wanted = opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
            let mut list = Vec::new();
            if wanted && values.is_valid(row) {
                list.push(as_u128(values.value(row))?);
            }
            lists.push(list);
        }
        Ok(vec![state_lists(lists)?])
    }

    fn size(&self) -> usize {
        size_of::<Self>()
            + self.seen.capacity() * (size_of::<(usize, u128)>() + size_of::<u64>())
            + self.counts.capacity() * size_of::<i64>()
    }
}

#[cfg(test)]
mod tests;
