//! DataFusion's functions whose output grows with an argument's value, bounded by the query's
//! memory limit.
//!
//! `repeat(s, n)`, `lpad(s, n)`, `range(a, b)`… allocate their whole result before any operator
//! could count it against the memory pool: `repeat(arrow_cast('x', 'LargeUtf8'), 100000000000)`
//! asked for 100 GB and aborted the process, also when constant folding evaluated it while
//! planning. Each of them is replaced here by a wrapper that works out, from the arguments alone,
//! how many bytes the call would build for its batch, and refuses the call with
//! `ResourcesExhausted` (reported as [`crate::QueryError::MemoryLimit`]) when that is more than the
//! query's memory limit. A call whose arguments are all constants counts once per row of its
//! batch, since its one value is repeated on every row.
//!
//! The wrappers are volatile, so constant folding leaves them to execution: a folded constant
//! would be repeated on every row of every batch without passing the check again, and planning
//! (also of `EXPLAIN`) never builds their values.

use std::sync::Arc;

use arrow::datatypes::{DataType, FieldRef, IntervalMonthDayNano};
use datafusion::common::{Result, ScalarValue, exec_datafusion_err};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;

/// How a function's output size follows from one row of its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Growth {
    /// `repeat(s, n)`: the string n times.
    Repeat,
    /// `lpad(s, n [, fill])`, `rpad(…)`: n characters.
    Pad,
    /// `replace(s, from, to)`: every `from` becomes `to`.
    Replace,
    /// `regexp_replace(s, pattern, to [, flags])`: every match (possibly empty) becomes `to`,
    /// whose group references copy (non-overlapping) parts of `s`.
    RegexpReplace,
    /// `range(…)`, `generate_series(…)` as array functions: one element per step.
    Range,
    /// `array_repeat(value, n)`: the value n times.
    ArrayRepeat,
    /// `array_resize(array, n [, value])`: n elements.
    ArrayResize,
}

/// The functions bounded, by name, with how their output grows.
const BOUNDED: &[(&str, Growth)] = &[
    ("repeat", Growth::Repeat),
    ("lpad", Growth::Pad),
    ("rpad", Growth::Pad),
    ("replace", Growth::Replace),
    ("regexp_replace", Growth::RegexpReplace),
    ("range", Growth::Range),
    ("generate_series", Growth::Range),
    ("array_repeat", Growth::ArrayRepeat),
    ("array_resize", Growth::ArrayResize),
];

/// The names of the functions [`register`] replaces.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    BOUNDED.iter().map(|(name, _)| *name)
}

/// Replaces each function of [`BOUNDED`] registered on `ctx` by its bounded wrapper.
pub(crate) fn register(ctx: &SessionContext, memory_limit_bytes: usize) {
    let registered = ctx.state().scalar_functions().clone();
    for (name, growth) in BOUNDED {
        let Some(inner) = registered.get(*name) else { continue };
        let signature = Signature { volatility: Volatility::Volatile, ..inner.signature().clone() };
        let bounded = Bounded { inner: Arc::clone(inner), signature, growth: *growth, limit_bytes: memory_limit_bytes };
        ctx.register_udf(ScalarUDF::new_from_impl(bounded));
    }
}

/// A DataFusion function that refuses calls whose output would not fit in the memory limit.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Bounded {
    inner: Arc<ScalarUDF>,
    /// The inner function's signature, volatile.
    signature: Signature,
    growth: Growth,
    limit_bytes: usize,
}

impl Bounded {
    /// Refuses the call when its output would be larger than the limit.
    fn check(&self, args: &ScalarFunctionArgs) -> Result<()> {
        let all_constant = args.args.iter().all(|arg| matches!(arg, ColumnarValue::Scalar(_)));
        let (rows, repeats) = if all_constant { (1, args.number_rows) } else { (args.number_rows, 1) };
        let mut total: u128 = 0;
        for row in 0..rows {
            let values = args
                .args
                .iter()
                .map(|arg| match arg {
                    ColumnarValue::Scalar(value) => Ok(value.clone()),
                    ColumnarValue::Array(array) => ScalarValue::try_from_array(array, row),
                })
                .collect::<Result<Vec<_>>>()?;
            total = total.saturating_add(self.growth.bytes(&values));
            self.refuse_beyond(total, repeats, all_constant, args)?;
        }
        Ok(())
    }

    /// Refuses when `bytes`, built `repeats` times, is more than the limit.
    fn refuse_beyond(&self, bytes: u128, repeats: usize, all_constant: bool, args: &ScalarFunctionArgs) -> Result<()> {
        if bytes.saturating_mul(repeats as u128) <= self.limit_bytes as u128 {
            return Ok(());
        }
        let name = self.inner.name();
        let what = if all_constant && repeats > 1 {
            format!("{bytes} bytes, repeated on each of the {repeats} rows of a batch")
        } else {
            format!("at least {bytes} bytes for a batch of {} rows", args.number_rows)
        };
        Err(DataFusionError::ResourcesExhausted(format!(
            "{name}() would build {what}: more than the query's memory limit of {} bytes",
            self.limit_bytes
        )))
    }
}

impl Growth {
    /// The bytes one call builds for one row of argument `values` (an upper bound).
    fn bytes(self, values: &[ScalarValue]) -> u128 {
        let text = |index: usize| values.get(index).map(text_len).unwrap_or(0);
        let count = |index: usize| values.get(index).and_then(integer).map_or(0, |n| n.max(0) as u128);
        match self {
            Growth::Repeat => text(0).saturating_mul(count(1)),
            Growth::Pad => {
                let widest = values.iter().filter_map(text_of).flat_map(str::chars).map(char::len_utf8).max();
                count(1).saturating_mul(widest.unwrap_or(1) as u128)
            }
            Growth::Replace => {
                let (length, from) = (text(0), text(1));
                // An empty `from` matches between every two characters.
                let matches = length.checked_div(from).unwrap_or(length + 1);
                length.saturating_add(matches.saturating_mul(text(2)))
            }
            Growth::RegexpReplace => {
                let length = text(0);
                let references = values.get(2).and_then(text_of).map_or(0, |to| to.matches(['\\', '$']).count());
                // Matches do not overlap: group references copy at most the whole text each.
                let copies = (references as u128).saturating_mul(length);
                length.saturating_add((length + 1).saturating_mul(text(2))).saturating_add(copies)
            }
            Growth::Range => range_len(values).saturating_mul(8),
            Growth::ArrayRepeat => count(1).saturating_mul(values.first().map_or(0, value_bytes)),
            Growth::ArrayResize => count(1).saturating_mul(16).saturating_add(values.get(2).map_or(0, value_bytes)),
        }
    }
}

fn text_of(value: &ScalarValue) -> Option<&str> {
    match value {
        ScalarValue::Utf8(Some(text)) | ScalarValue::LargeUtf8(Some(text)) | ScalarValue::Utf8View(Some(text)) => {
            Some(text)
        }
        _ => None,
    }
}

fn text_len(value: &ScalarValue) -> u128 {
    match value {
        ScalarValue::Binary(Some(bytes))
        | ScalarValue::LargeBinary(Some(bytes))
        | ScalarValue::BinaryView(Some(bytes)) => bytes.len() as u128,
        other => text_of(other).map_or(0, |text| text.len() as u128),
    }
}

fn integer(value: &ScalarValue) -> Option<i128> {
    match value {
        ScalarValue::Int8(Some(n)) => Some(i128::from(*n)),
        ScalarValue::Int16(Some(n)) => Some(i128::from(*n)),
        ScalarValue::Int32(Some(n)) => Some(i128::from(*n)),
        ScalarValue::Int64(Some(n)) => Some(i128::from(*n)),
        ScalarValue::UInt8(Some(n)) => Some(i128::from(*n)),
        ScalarValue::UInt16(Some(n)) => Some(i128::from(*n)),
        ScalarValue::UInt32(Some(n)) => Some(i128::from(*n)),
        ScalarValue::UInt64(Some(n)) => Some(i128::from(*n)),
        _ => None,
    }
}

/// The bytes one value takes as an array element (lists by their element count).
fn value_bytes(value: &ScalarValue) -> u128 {
    match value {
        ScalarValue::List(list) => list.value_length(0).max(0) as u128 * 16 + 16,
        ScalarValue::LargeList(list) => list.value_length(0).max(0) as u128 * 16 + 16,
        other => (other.size() as u128).max(text_len(other)),
    }
}

/// How many elements `range`/`generate_series` would produce for these arguments.
fn range_len(values: &[ScalarValue]) -> u128 {
    let integers: Option<Vec<i128>> = values.iter().map(integer).collect();
    if let Some(integers) = integers {
        let (start, stop, step) = match integers.as_slice() {
            [stop] => (0, *stop, 1),
            [start, stop] => (*start, *stop, 1),
            [start, stop, step] => (*start, *stop, *step),
            _ => return 0,
        };
        if step == 0 || (stop - start).signum() * step.signum() < 0 {
            return 0;
        }
        return ((stop - start) / step).unsigned_abs() + 1;
    }
    let (Some(start), Some(stop), Some(ScalarValue::IntervalMonthDayNano(Some(step)))) =
        (values.first().and_then(nanoseconds), values.get(1).and_then(nanoseconds), values.get(2))
    else {
        return 0;
    };
    let shortest_step = shortest_nanoseconds(*step);
    if shortest_step <= 0 {
        return 0;
    }
    (stop - start).unsigned_abs() / shortest_step.unsigned_abs() + 1
}

const DAY_NANOS: i128 = 86_400_000_000_000;

/// A date or timestamp in nanoseconds since the epoch.
fn nanoseconds(value: &ScalarValue) -> Option<i128> {
    match value {
        ScalarValue::Date32(Some(days)) => Some(i128::from(*days) * DAY_NANOS),
        ScalarValue::Date64(Some(millis)) => Some(i128::from(*millis) * 1_000_000),
        ScalarValue::TimestampSecond(Some(t), _) => Some(i128::from(*t) * 1_000_000_000),
        ScalarValue::TimestampMillisecond(Some(t), _) => Some(i128::from(*t) * 1_000_000),
        ScalarValue::TimestampMicrosecond(Some(t), _) => Some(i128::from(*t) * 1_000),
        ScalarValue::TimestampNanosecond(Some(t), _) => Some(i128::from(*t)),
        _ => None,
    }
}

/// The shortest time an interval can span (a month is at least 28 days).
fn shortest_nanoseconds(step: IntervalMonthDayNano) -> i128 {
    i128::from(step.months) * 28 * DAY_NANOS + i128::from(step.days) * DAY_NANOS + i128::from(step.nanoseconds)
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.check(&args).map_err(|error| match error {
            DataFusionError::ResourcesExhausted(_) => error,
            other => exec_datafusion_err!("{}: {other}", self.inner.name()),
        })?;
        self.inner.invoke_with_args(args)
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        self.inner.simplify(args, info)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_follow_the_arguments() {
        let text = |s: &str| ScalarValue::Utf8(Some(s.into()));
        let int = |n: i64| ScalarValue::Int64(Some(n));
        assert_eq!(Growth::Repeat.bytes(&[text("ab"), int(1_000)]), 2_000);
        assert_eq!(Growth::Repeat.bytes(&[text("ab"), int(-5)]), 0);
        assert_eq!(Growth::Pad.bytes(&[text("x"), int(10), text("é")]), 20);
        assert_eq!(Growth::Replace.bytes(&[text("aaaa"), text("a"), text("bbb")]), 16);
        assert_eq!(Growth::Range.bytes(&[int(1), int(10), int(3)]), 4 * 8);
        assert_eq!(Growth::Range.bytes(&[int(10), int(1)]), 0);
    }
}
