//! Address functions: the stored 16-byte form to text and back, and truncation to a prefix.
//!
//! - `ip_text(addr)` → `'198.51.100.7'` or `'2001:db8::1'` (IPv4-mapped addresses print as IPv4);
//! - `ip_from_text(text)` → the stored form, to compare with or join on the address columns;
//! - `ip_prefix(addr, v4_bits [, v6_bits])` → the address with host bits cleared: a source's /24
//!   (or /48 for IPv6; `v6_bits` defaults to 48), still in the stored form, for grouping;
//! - `ip_cidr(addr, v4_bits [, v6_bits])` → that prefix as text, `'198.51.100.0/24'`.

use std::sync::Arc;

use arrow::array::{ArrayRef, FixedSizeBinaryBuilder, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::exec_err;
use datafusion::error::Result;
use nightjar_packet::{Addr16, Prefix, as_v4, to_ip};

use super::args::{ADDRESS_BYTES, ADDRESS_TYPE, ArgKind, FunctionSpec, address_from_text, addresses, integers, texts};
use super::udf::SqlFunction;

/// The IPv6 prefix length `ip_prefix` and `ip_cidr` use when none is given.
pub const DEFAULT_V6_BITS: i64 = 48;

/// The text of an address: dotted IPv4 for IPv4-mapped addresses, compressed IPv6 otherwise.
pub fn address_text(addr: &Addr16) -> String {
    to_ip(addr).to_string()
}

/// `ip_text(addr)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct IpText(FunctionSpec);

impl IpText {
    pub(crate) fn new() -> IpText {
        IpText(FunctionSpec::new("ip_text", &[ArgKind::Address], 1))
    }
}

impl SqlFunction for IpText {
    fn spec(&self) -> &FunctionSpec {
        &self.0
    }
    fn result_type(&self) -> DataType {
        DataType::Utf8
    }
    fn compute(&self, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
        let addrs = addresses(self.0.name, &args[0])?;
        let mut out = StringBuilder::with_capacity(addrs.len(), addrs.len() * 15);
        for addr in addrs {
            out.append_option(addr.map(|addr| address_text(&addr)));
        }
        Ok(Arc::new(out.finish()))
    }
}

/// `ip_from_text(text)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct IpFromText(FunctionSpec);

impl IpFromText {
    pub(crate) fn new() -> IpFromText {
        IpFromText(FunctionSpec::new("ip_from_text", &[ArgKind::Text], 1))
    }
}

impl SqlFunction for IpFromText {
    fn spec(&self) -> &FunctionSpec {
        &self.0
    }
    fn result_type(&self) -> DataType {
        ADDRESS_TYPE
    }
    fn compute(&self, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
        let mut out = FixedSizeBinaryBuilder::with_capacity(rows, ADDRESS_BYTES);
        for text in texts(&args[0]) {
            match text {
                Some(text) => out.append_value(address_from_text(self.0.name, text)?)?,
                None => out.append_null(),
            }
        }
        Ok(Arc::new(out.finish()))
    }
}

/// Which of the two prefix functions: the stored form or its text.
#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum PrefixOutput {
    Address,
    Cidr,
}

/// `ip_prefix(addr, v4_bits [, v6_bits])` and `ip_cidr(addr, v4_bits [, v6_bits])`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct IpPrefix {
    spec: FunctionSpec,
    output: PrefixOutput,
}

const PREFIX_ARGS: &[ArgKind] = &[ArgKind::Address, ArgKind::Integer, ArgKind::Integer];

impl IpPrefix {
    pub(crate) fn address() -> IpPrefix {
        IpPrefix { spec: FunctionSpec::new("ip_prefix", PREFIX_ARGS, 2), output: PrefixOutput::Address }
    }
    pub(crate) fn cidr() -> IpPrefix {
        IpPrefix { spec: FunctionSpec::new("ip_cidr", PREFIX_ARGS, 2), output: PrefixOutput::Cidr }
    }

    /// The prefix of `addr` with `v4_bits` (IPv4) or `v6_bits` (IPv6) kept.
    fn prefix_of(&self, addr: &Addr16, v4_bits: i64, v6_bits: i64) -> Result<Prefix> {
        let (bits, family_bits, offset) = match as_v4(addr) {
            Some(_) => (v4_bits, 32, 96),
            None => (v6_bits, 128, 0),
        };
        if !(0..=family_bits).contains(&bits) {
            return exec_err!(
                "{}(): a prefix length must be 0–32 for IPv4 and 0–128 for IPv6, got {bits}",
                self.spec.name
            );
        }
        // Bounded by the check above: 0..=128.
        Ok(Prefix::new(*addr, (bits + offset) as u8))
    }
}

impl SqlFunction for IpPrefix {
    fn spec(&self) -> &FunctionSpec {
        &self.spec
    }
    fn result_type(&self) -> DataType {
        match self.output {
            PrefixOutput::Address => ADDRESS_TYPE,
            PrefixOutput::Cidr => DataType::Utf8,
        }
    }
    fn compute(&self, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
        let addrs = addresses(self.spec.name, &args[0])?;
        let v4_bits = integers(&args[1]);
        let v6_bits = match args.get(2) {
            Some(array) => integers(array),
            None => vec![Some(DEFAULT_V6_BITS); rows],
        };
        let prefixes = addrs.iter().zip(v4_bits).zip(v6_bits).map(|((addr, v4), v6)| match (addr, v4, v6) {
            (Some(addr), Some(v4), Some(v6)) => self.prefix_of(addr, v4, v6).map(Some),
            _ => Ok(None),
        });
        match self.output {
            PrefixOutput::Address => {
                let mut out = FixedSizeBinaryBuilder::with_capacity(rows, ADDRESS_BYTES);
                for prefix in prefixes {
                    match prefix? {
                        Some(prefix) => out.append_value(prefix.network())?,
                        None => out.append_null(),
                    }
                }
                Ok(Arc::new(out.finish()))
            }
            PrefixOutput::Cidr => {
                let mut out = StringBuilder::with_capacity(rows, rows * 18);
                for prefix in prefixes {
                    out.append_option(prefix?.map(|prefix| prefix.to_string()));
                }
                Ok(Arc::new(out.finish()))
            }
        }
    }
}
