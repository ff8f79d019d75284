//! The one bridge between the project's SQL functions and DataFusion's `ScalarUDFImpl`.

use std::fmt::Debug;
use std::hash::Hash;

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDFImpl, Signature};

use super::args::{FunctionSpec, arrays};

/// What a function of the project defines: its name and arguments, its result, its work.
pub(crate) trait SqlFunction: Debug + PartialEq + Eq + Hash + Send + Sync + 'static {
    /// Name, arguments and signature.
    fn spec(&self) -> &FunctionSpec;
    /// The result type.
    fn result_type(&self) -> DataType;
    /// The result for `rows` rows of arguments (each already an array of `rows` values).
    fn compute(&self, args: &[ArrayRef], rows: usize) -> Result<ArrayRef>;
    /// A rewrite at planning time; none by default.
    fn rewrite(&self, args: Vec<Expr>, _info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        Ok(ExprSimplifyResult::Original(args))
    }
}

/// A [`SqlFunction`] as DataFusion calls it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Udf<F>(pub(crate) F);

impl<F: SqlFunction> ScalarUDFImpl for Udf<F> {
    fn name(&self) -> &str {
        self.0.spec().name
    }
    fn signature(&self) -> &Signature {
        &self.0.spec().signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.0.spec().coerce(arg_types)
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.0.result_type())
    }
    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        self.0.rewrite(args, info)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args.args, args.number_rows)?;
        Ok(ColumnarValue::Array(self.0.compute(&arrays, args.number_rows)?))
    }
}
