//! The values a distinct count counts, as `u128` keys: a 16-byte address is its own key, a date its
//! day number, a string the number it was given when first seen (interned).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, FixedSizeBinaryArray, FixedSizeBinaryBuilder, ListArray,
    StringArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Date32Type, Field};
use datafusion::common::hash_utils::RandomState;
use datafusion::common::{HashMap, Result, exec_err};

/// Width of a stored address.
const ADDRESS_BYTES: i32 = 16;

/// The types counted by keys: addresses (`FixedSizeBinary(16)`), dates (the `day` column) and
/// strings (`country`, `as_name`, `class`, `tool`, `sensor`…).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// A 16-byte address.
    Address,
    /// A date (`Date32`).
    Date,
    /// A string (`Utf8`).
    Text,
}

impl KeyKind {
    /// The kind of `data_type`, when its values are counted by keys.
    pub(crate) fn of(data_type: &DataType) -> Option<KeyKind> {
        match data_type {
            DataType::FixedSizeBinary(ADDRESS_BYTES) => Some(KeyKind::Address),
            DataType::Date32 => Some(KeyKind::Date),
            DataType::Utf8 => Some(KeyKind::Text),
            _ => None,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            KeyKind::Address => DataType::FixedSizeBinary(ADDRESS_BYTES),
            KeyKind::Date => DataType::Date32,
            KeyKind::Text => DataType::Utf8,
        }
    }
}

/// Turns values of one kind into keys and keys back into values. Strings get the next number
/// when first seen and keep it (the strings counted are few: countries, AS names, classes).
#[derive(Debug)]
pub(crate) struct Keys {
    kind: KeyKind,
    text_ids: HashMap<Arc<str>, u128, RandomState>,
    texts: Vec<Arc<str>>,
    text_bytes: usize,
}

impl Keys {
    pub(crate) fn new(kind: KeyKind) -> Keys {
        Keys { kind, text_ids: HashMap::default(), texts: Vec::new(), text_bytes: 0 }
    }

    /// Calls `each(row, key)` for every non-null value of `array`, in row order.
    pub(crate) fn for_each(&mut self, array: &ArrayRef, mut each: impl FnMut(usize, u128)) -> Result<()> {
        match self.kind {
            KeyKind::Address => {
                let values = addresses(array)?;
                for row in 0..values.len() {
                    if values.is_valid(row) {
                        each(row, address_key(values.value(row))?);
                    }
                }
            }
            KeyKind::Date => {
                let Some(values) = array.as_primitive_opt::<Date32Type>() else {
                    return exec_err!("count(DISTINCT …) over dates got {}", array.data_type());
                };
                for row in 0..values.len() {
                    if values.is_valid(row) {
                        // The day number's bits: distinct days, distinct keys.
                        each(row, u128::from(values.value(row) as u32));
                    }
                }
            }
            KeyKind::Text => {
                let Some(values) = array.as_string_opt::<i32>() else {
                    return exec_err!("count(DISTINCT …) over strings got {}", array.data_type());
                };
                for row in 0..values.len() {
                    if values.is_valid(row) {
                        each(row, self.text_key(values.value(row)));
                    }
                }
            }
        }
        Ok(())
    }

    fn text_key(&mut self, text: &str) -> u128 {
        if let Some(&key) = self.text_ids.get(text) {
            return key;
        }
        let key = self.texts.len() as u128;
        let text: Arc<str> = Arc::from(text);
        self.text_bytes += text.len();
        self.texts.push(Arc::clone(&text));
        self.text_ids.insert(text, key);
        key
    }

    /// The values of `keys`, as an array of the counted type.
    fn values(&self, keys: &[u128]) -> Result<ArrayRef> {
        Ok(match self.kind {
            KeyKind::Address => {
                let mut values = FixedSizeBinaryBuilder::with_capacity(keys.len(), ADDRESS_BYTES);
                for key in keys {
                    values.append_value(key.to_be_bytes())?;
                }
                Arc::new(values.finish())
            }
            KeyKind::Date => Arc::new(Date32Array::from_iter_values(keys.iter().map(|&key| key as u32 as i32))),
            KeyKind::Text => {
                let mut texts = Vec::with_capacity(keys.len());
                for &key in keys {
                    match self.texts.get(key as usize) {
                        Some(text) => texts.push(&**text),
                        None => return exec_err!("count(DISTINCT …): string key {key} was never given"),
                    }
                }
                Arc::new(StringArray::from_iter_values(texts))
            }
        })
    }

    /// Per-group lists of values: the built-in count's state column (`List<value type>`).
    pub(crate) fn state_lists(&self, lists: &[Vec<u128>]) -> Result<ArrayRef> {
        let flat: Vec<u128> = lists.iter().flatten().copied().collect();
        let offsets = OffsetBuffer::from_lengths(lists.iter().map(Vec::len));
        let item = Arc::new(Field::new_list_field(self.kind.data_type(), true));
        Ok(Arc::new(ListArray::try_new(item, offsets, self.values(&flat)?, None)?))
    }

    /// Calls `each(row, key)` for every value of every list of a state column, `row` being the
    /// list's row.
    pub(crate) fn for_each_listed(&mut self, state: &ArrayRef, mut each: impl FnMut(usize, u128)) -> Result<()> {
        let Some(lists) = state.as_list_opt::<i32>() else {
            return exec_err!("count(DISTINCT …): state is {}", state.data_type());
        };
        let offsets = lists.offsets();
        let (first, end) = (offsets[0] as usize, offsets[offsets.len() - 1] as usize);
        let mut row = 0;
        self.for_each(lists.values(), |item, key| {
            if item < first || item >= end {
                return;
            }
            while item >= offsets[row + 1] as usize {
                row += 1;
            }
            each(row, key);
        })
    }

    /// Memory held by the interned strings.
    pub(crate) fn size(&self) -> usize {
        self.text_bytes + self.texts.capacity() * size_of::<Arc<str>>() * 3
    }
}

/// Rows turned straight into state: per row a list of its value, or an empty list when the value
/// is null or filtered out.
pub(crate) fn rows_as_state(values: &ArrayRef, opt_filter: Option<&BooleanArray>) -> Result<ArrayRef> {
    let kept: BooleanArray = (0..values.len())
        .map(|row| Some(values.is_valid(row) && opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row))))
        .collect();
    let items = datafusion::arrow::compute::filter(values, &kept)?;
    let offsets = OffsetBuffer::from_lengths(kept.values().iter().map(usize::from));
    let item = Arc::new(Field::new_list_field(values.data_type().clone(), true));
    Ok(Arc::new(ListArray::try_new(item, offsets, items, None)?))
}

fn addresses(array: &ArrayRef) -> Result<&FixedSizeBinaryArray> {
    match array.as_fixed_size_binary_opt() {
        Some(values) if values.value_length() == ADDRESS_BYTES => Ok(values),
        _ => exec_err!("count(DISTINCT …) over addresses got {}", array.data_type()),
    }
}

fn address_key(value: &[u8]) -> Result<u128> {
    match <[u8; 16]>::try_from(value) {
        Ok(bytes) => Ok(u128::from_be_bytes(bytes)),
        Err(_) => exec_err!("count(DISTINCT …) over addresses got a {}-byte value", value.len()),
    }
}
