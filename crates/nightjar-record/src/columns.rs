//! Column accumulators: plain vectors with validity flags, preallocated,
//! turned into Arrow arrays in one pass at the end of a batch.
//!
//! Arrow's builders grow buffers as they go and track nulls bit by bit; for
//! the per-packet hot path, pushing into reserved vectors and building each
//! array once per batch is several times faster.

use std::sync::Arc;

use arrow::array::{ArrayRef, BinaryArray, BooleanArray, FixedSizeBinaryArray, PrimitiveArray, StringArray};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::ArrowPrimitiveType;

/// Pack flags 64 at a time (`From<&[bool]>` goes bit by bit).
fn bits(flags: &[bool]) -> BooleanBuffer {
    BooleanBuffer::collect_bool(flags.len(), |i| flags[i])
}

fn nulls(valid: Vec<bool>) -> Option<NullBuffer> {
    let buffer = NullBuffer::new(bits(&valid));
    (buffer.null_count() > 0).then_some(buffer)
}

/// A non-null primitive column.
pub(crate) struct Values<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
}

impl<T: ArrowPrimitiveType> Values<T> {
    pub fn with_capacity(rows: usize) -> Self {
        Values { values: Vec::with_capacity(rows) }
    }

    #[inline]
    pub fn push(&mut self, value: T::Native) {
        self.values.push(value);
    }

    pub fn finish(&mut self, next_capacity: usize) -> PrimitiveArray<T> {
        self.finish_with(next_capacity, None)
    }

    /// Finish with a validity shared with other columns (see [`Validity`]).
    pub fn finish_with(&mut self, next_capacity: usize, nulls: Option<NullBuffer>) -> PrimitiveArray<T> {
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(next_capacity));
        PrimitiveArray::new(ScalarBuffer::from(values), nulls)
    }
}

/// Validity flags shared by several columns that are null together (all
/// TCP fields, both ports, …): packed once per batch, not once per column.
pub(crate) struct Validity {
    valid: Vec<bool>,
}

impl Validity {
    pub fn with_capacity(rows: usize) -> Self {
        Validity { valid: Vec::with_capacity(rows) }
    }

    #[inline]
    pub fn push(&mut self, valid: bool) {
        self.valid.push(valid);
    }

    pub fn finish(&mut self, next_capacity: usize) -> Option<NullBuffer> {
        nulls(std::mem::replace(&mut self.valid, Vec::with_capacity(next_capacity)))
    }
}

/// A nullable primitive column.
pub(crate) struct Optional<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    valid: Vec<bool>,
}

impl<T: ArrowPrimitiveType> Optional<T> {
    pub fn with_capacity(rows: usize) -> Self {
        Optional { values: Vec::with_capacity(rows), valid: Vec::with_capacity(rows) }
    }

    #[inline]
    pub fn push(&mut self, value: Option<T::Native>) {
        self.values.push(value.unwrap_or_default());
        self.valid.push(value.is_some());
    }

    pub fn finish(&mut self, next_capacity: usize) -> PrimitiveArray<T> {
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(next_capacity));
        let valid = std::mem::replace(&mut self.valid, Vec::with_capacity(next_capacity));
        PrimitiveArray::new(ScalarBuffer::from(values), nulls(valid))
    }
}

/// A boolean column whose nulls come from a shared [`Validity`].
pub(crate) struct Flags {
    values: Vec<bool>,
}

impl Flags {
    pub fn with_capacity(rows: usize) -> Self {
        Flags { values: Vec::with_capacity(rows) }
    }

    #[inline]
    pub fn push(&mut self, value: bool) {
        self.values.push(value);
    }

    pub fn finish_with(&mut self, next_capacity: usize, nulls: Option<NullBuffer>) -> BooleanArray {
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(next_capacity));
        BooleanArray::new(bits(&values), nulls)
    }
}

/// A fixed-width binary column (addresses); nulls, if any, come from a
/// shared [`Validity`] and their slots hold zeros.
pub(crate) struct Fixed<const WIDTH: usize> {
    bytes: Vec<u8>,
}

impl<const WIDTH: usize> Fixed<WIDTH> {
    pub fn with_capacity(rows: usize) -> Self {
        Fixed { bytes: Vec::with_capacity(rows * WIDTH) }
    }

    #[inline]
    pub fn push(&mut self, value: &[u8; WIDTH]) {
        self.bytes.extend_from_slice(value);
    }

    pub fn finish_with(&mut self, next_capacity: usize, nulls: Option<NullBuffer>) -> FixedSizeBinaryArray {
        let bytes = std::mem::replace(&mut self.bytes, Vec::with_capacity(next_capacity * WIDTH));
        FixedSizeBinaryArray::new(WIDTH as i32, Buffer::from_vec(bytes), nulls)
    }
}

/// A nullable variable-length column (UTF-8 text or bytes).
pub(crate) struct Bytes {
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    valid: Vec<bool>,
}

impl Bytes {
    pub fn with_capacity(rows: usize, bytes_per_row: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Bytes { offsets, bytes: Vec::with_capacity(rows * bytes_per_row), valid: Vec::with_capacity(rows) }
    }

    #[inline]
    pub fn push(&mut self, value: Option<&[u8]>) {
        if let Some(v) = value {
            self.bytes.extend_from_slice(v);
        }
        // Batches stay far below 2 GiB of text: offsets fit i32.
        self.offsets.push(self.bytes.len() as i32);
        self.valid.push(value.is_some());
    }

    fn take(&mut self, next_capacity: usize) -> (OffsetBuffer<i32>, Buffer, Option<NullBuffer>) {
        let bytes_per_row = self.bytes.len() / self.valid.len().max(1);
        let mut fresh = Bytes::with_capacity(next_capacity, bytes_per_row);
        std::mem::swap(self, &mut fresh);
        let offsets = OffsetBuffer::new(ScalarBuffer::from(fresh.offsets));
        (offsets, Buffer::from_vec(fresh.bytes), nulls(fresh.valid))
    }

    /// As UTF-8 text. Every pushed value came from a `&str`.
    pub fn finish_text(&mut self, next_capacity: usize) -> ArrayRef {
        let (offsets, bytes, nulls) = self.take(next_capacity);
        Arc::new(StringArray::new(offsets, bytes, nulls))
    }

    /// As binary.
    pub fn finish_binary(&mut self, next_capacity: usize) -> ArrayRef {
        let (offsets, bytes, nulls) = self.take(next_capacity);
        Arc::new(BinaryArray::new(offsets, bytes, nulls))
    }
}
