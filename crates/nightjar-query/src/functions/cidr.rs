//! `inet_in(addr, 'cidr')`: whether an address lies inside a CIDR block.
//!
//! Because the stored form orders like the addresses, a block is a contiguous byte range. When the
//! block is a constant, the call is rewritten at planning time to `addr BETWEEN first AND last`, so
//! Parquet row-group and page statistics skip everything outside the block (visible in `EXPLAIN`
//! as a pruning predicate on the address column).

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{ScalarValue, exec_err, plan_datafusion_err};
use datafusion::error::Result;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{Expr, ExprSchemable};
use datafusion::prelude::lit;
use nightjar_packet::Prefix;

use super::args::{ADDRESS_BYTES, ADDRESS_TYPE, ArgKind, FunctionSpec, addresses, texts};
use super::udf::SqlFunction;

/// `inet_in(addr, cidr)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct InetIn(FunctionSpec);

impl InetIn {
    pub(crate) fn new() -> InetIn {
        InetIn(FunctionSpec::new("inet_in", &[ArgKind::Address, ArgKind::Text], 2))
    }

    fn parse(&self, text: &str) -> Result<Prefix> {
        text.parse::<Prefix>().map_err(|error| plan_datafusion_err!("{}(): {error}", self.0.name))
    }
}

/// The first and last address of a block, in the stored form.
fn block_bounds(prefix: &Prefix) -> (ScalarValue, ScalarValue) {
    let first = prefix.network();
    let last = (u128::from_be_bytes(first) | (prefix.size().wrapping_sub(1))).to_be_bytes();
    (
        ScalarValue::FixedSizeBinary(ADDRESS_BYTES, Some(first.to_vec())),
        ScalarValue::FixedSizeBinary(ADDRESS_BYTES, Some(last.to_vec())),
    )
}

impl SqlFunction for InetIn {
    fn spec(&self) -> &FunctionSpec {
        &self.0
    }
    fn result_type(&self) -> DataType {
        DataType::Boolean
    }

    fn rewrite(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        let block = match &args[..] {
            [_, Expr::Literal(ScalarValue::Utf8(Some(text)), _)] => self.parse(text)?,
            _ => return Ok(ExprSimplifyResult::Original(args)),
        };
        if args[0].get_type(info.schema().as_ref())? != ADDRESS_TYPE {
            return Ok(ExprSimplifyResult::Original(args));
        }
        let (first, last) = block_bounds(&block);
        let addr = args[0].clone();
        Ok(ExprSimplifyResult::Simplified(addr.clone().gt_eq(lit(first)).and(addr.lt_eq(lit(last)))))
    }

    fn compute(&self, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
        let addrs = addresses(self.0.name, &args[0])?;
        let blocks = texts(&args[1]);
        let mut out = BooleanBuilder::with_capacity(addrs.len());
        let mut parsed: Option<(&str, Prefix)> = None;
        for (addr, block) in addrs.iter().zip(blocks) {
            let (Some(addr), Some(block)) = (addr, block) else {
                out.append_null();
                continue;
            };
            let prefix = match parsed {
                Some((text, prefix)) if text == block => prefix,
                _ => {
                    let prefix = match block.parse::<Prefix>() {
                        Ok(prefix) => prefix,
                        Err(error) => return exec_err!("{}(): {error}", self.0.name),
                    };
                    parsed = Some((block, prefix));
                    prefix
                }
            };
            out.append_value(prefix.contains(addr));
        }
        Ok(Arc::new(out.finish()))
    }
}
