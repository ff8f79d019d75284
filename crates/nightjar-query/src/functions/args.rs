//! What the SQL functions accept as arguments and how they read them.
//!
//! An address argument is either the stored 16-byte form (the `src_ip`, `dst_ip`… columns) or text
//! such as `'198.51.100.7'` or `'2001:db8::1'`, so `geo_country('198.51.100.7')` works as well as
//! `geo_country(src_ip)`.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Signature, Volatility};
use nightjar_packet::{Addr16, from_ip};
use std::net::IpAddr;

/// The width of a stored address.
pub(crate) const ADDRESS_BYTES: i32 = 16;

/// The stored address type.
pub(crate) const ADDRESS_TYPE: DataType = DataType::FixedSizeBinary(ADDRESS_BYTES);

/// What one argument of a function is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ArgKind {
    /// An address: the stored 16-byte form or its text.
    Address,
    /// Text.
    Text,
    /// A whole number (bits of a prefix, a port, a protocol number).
    Integer,
}

/// A function's name and arguments: the part every function shares.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct FunctionSpec {
    pub(crate) name: &'static str,
    /// The arguments, in order; the first `required` must be given, the rest may be left out.
    pub(crate) args: &'static [ArgKind],
    pub(crate) required: usize,
    pub(crate) signature: Signature,
}

impl FunctionSpec {
    /// A function whose result depends only on its arguments.
    pub(crate) fn new(name: &'static str, args: &'static [ArgKind], required: usize) -> FunctionSpec {
        FunctionSpec { name, args, required, signature: Signature::user_defined(Volatility::Immutable) }
    }

    /// The types DataFusion casts the arguments to before the call.
    pub(crate) fn coerce(&self, given: &[DataType]) -> Result<Vec<DataType>> {
        if given.len() < self.required || given.len() > self.args.len() {
            let expected = if self.required == self.args.len() {
                format!("{}", self.required)
            } else {
                format!("{} to {}", self.required, self.args.len())
            };
            let noun = if self.args.len() == 1 { "argument" } else { "arguments" };
            return plan_err!("{}() takes {expected} {noun}, got {}", self.name, given.len());
        }
        given
            .iter()
            .zip(self.args)
            .enumerate()
            .map(|(index, (ty, kind))| coerce_one(self.name, index, ty, *kind))
            .collect()
    }
}

fn coerce_one(name: &str, index: usize, ty: &DataType, kind: ArgKind) -> Result<DataType> {
    use DataType::*;
    let position = index + 1;
    match (kind, ty) {
        (ArgKind::Address, FixedSizeBinary(ADDRESS_BYTES) | Null) => Ok(ADDRESS_TYPE),
        (ArgKind::Address, Binary | LargeBinary | BinaryView) => Ok(Binary),
        (ArgKind::Address | ArgKind::Text, Utf8 | LargeUtf8 | Utf8View) => Ok(Utf8),
        (ArgKind::Text, Null) => Ok(Utf8),
        (ArgKind::Integer, Null | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64) => Ok(Int64),
        (ArgKind::Address, other) => {
            plan_err!(
                "{name}(): argument {position} must be an address (a 16-byte address column or text), not {other}"
            )
        }
        (ArgKind::Text, other) => plan_err!("{name}(): argument {position} must be text, not {other}"),
        (ArgKind::Integer, other) => plan_err!("{name}(): argument {position} must be a whole number, not {other}"),
    }
}

/// The arguments as arrays of `rows` values each.
pub(crate) fn arrays(args: &[ColumnarValue], rows: usize) -> Result<Vec<ArrayRef>> {
    args.iter().map(|arg| arg.to_array(rows)).collect()
}

/// The addresses of an argument coerced by [`FunctionSpec::coerce`]; text that is no address is an error.
pub(crate) fn addresses(name: &str, array: &ArrayRef) -> Result<Vec<Option<Addr16>>> {
    match array.data_type() {
        DataType::FixedSizeBinary(ADDRESS_BYTES) => Ok(array
            .as_fixed_size_binary()
            .iter()
            .map(|value| value.and_then(|bytes| <Addr16>::try_from(bytes).ok()))
            .collect()),
        DataType::Binary => array
            .as_binary::<i32>()
            .iter()
            .map(|value| value.map(|bytes| address_from_bytes(name, bytes)).transpose())
            .collect(),
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .map(|value| value.map(|text| address_from_text(name, text)).transpose())
            .collect(),
        DataType::Null => Ok(vec![None; array.len()]),
        other => exec_err!("{name}(): an address argument arrived as {other}"),
    }
}

/// The texts of an argument coerced to text.
pub(crate) fn texts(array: &ArrayRef) -> Vec<Option<&str>> {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().collect(),
        _ => vec![None; array.len()],
    }
}

/// The numbers of an argument coerced to a whole number.
pub(crate) fn integers(array: &ArrayRef) -> Vec<Option<i64>> {
    match array.data_type() {
        DataType::Int64 => array.as_primitive::<Int64Type>().iter().collect(),
        _ => vec![None; array.len()],
    }
}

/// An address from its text, `'198.51.100.7'` or `'2001:db8::1'`.
pub(crate) fn address_from_text(name: &str, text: &str) -> Result<Addr16> {
    match text.trim().parse::<IpAddr>() {
        Ok(ip) => Ok(from_ip(ip)),
        Err(_) => exec_err!("{name}(): '{text}' is not an IPv4 or IPv6 address"),
    }
}

fn address_from_bytes(name: &str, bytes: &[u8]) -> Result<Addr16> {
    match <Addr16>::try_from(bytes) {
        Ok(addr) => Ok(addr),
        Err(_) => exec_err!("{name}(): an address must be 16 bytes, got {}", bytes.len()),
    }
}
