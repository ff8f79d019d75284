//! How Nightjar's functions and tables travel in Ballista's plans.
//!
//! DataFusion's plan serialization names a function and lets a codec add bytes of its own. Both
//! codecs here add `nightjar VERSION` to each of Nightjar's functions, and decode such a function
//! only when the version is theirs, from their own process's functions: a process of another
//! release refuses the plan naming both versions, and a Ballista process without Nightjar's codec
//! refuses it naming the function (it cannot decode the bytes), where looking the name up would
//! have given DataFusion's own `count` or none at all. `packets` and the rollup tables over Delta
//! tables travel as dataset, table and version ([`TableSource`]) and are opened again where the
//! plan is decoded.

use std::collections::HashMap;
use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SessionState, TaskContext};
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use nightjar_query::distributed::{TableSource, nightjar_function_names, table_at, table_source};
use serde::{Deserialize, Serialize};

use crate::options::nightjar_version;

/// What the bytes of a Nightjar function start with, before the version.
const FUNCTION_MARK: &str = "nightjar ";
/// What the bytes of a Nightjar table start with, before its JSON.
const TABLE_MARK: &[u8] = b"nightjar-table\n";

/// Nightjar's functions as one process registered them (bound to its geo databases), by name.
#[derive(Clone, Debug, Default)]
pub struct NightjarFunctions {
    scalar: HashMap<String, Arc<ScalarUDF>>,
    aggregate: HashMap<String, Arc<AggregateUDF>>,
}

impl NightjarFunctions {
    /// The functions of `state` that Nightjar adds or replaces.
    pub fn of(state: &SessionState) -> NightjarFunctions {
        let mut functions = NightjarFunctions::default();
        for name in nightjar_function_names() {
            if let Some(function) = state.scalar_functions().get(name) {
                functions.scalar.insert(name.to_owned(), Arc::clone(function));
            }
            if let Some(function) = state.aggregate_functions().get(name) {
                functions.aggregate.insert(name.to_owned(), Arc::clone(function));
            }
        }
        functions
    }
}

/// The marks both codecs share: which functions are Nightjar's, and this process's version.
#[derive(Debug)]
struct Marks {
    /// The names of Nightjar's functions, marked when encoded.
    names: Vec<&'static str>,
    /// This process's functions, for decoding (a client decodes none).
    functions: NightjarFunctions,
    version: String,
    /// `client`, `scheduler` or `executor`, for messages.
    role: &'static str,
}

impl Marks {
    fn new(functions: NightjarFunctions, role: &'static str) -> Marks {
        Marks { names: nightjar_function_names(), functions, version: nightjar_version(), role }
    }

    fn mark_function(&self, name: &str, buf: &mut Vec<u8>) {
        if self.names.contains(&name) {
            buf.extend_from_slice(FUNCTION_MARK.as_bytes());
            buf.extend_from_slice(self.version.as_bytes());
        }
    }

    /// Checks that `buf` carries this process's version for function `name`.
    fn check_function(&self, name: &str, buf: &[u8]) -> Result<()> {
        if buf.is_empty() {
            return Err(DataFusionError::Plan(format!("this {} has no function `{name}`", self.role)));
        }
        let text = std::str::from_utf8(buf).unwrap_or_default();
        let Some(version) = text.strip_prefix(FUNCTION_MARK) else {
            return Err(DataFusionError::Plan(format!(
                "the function `{name}` in this plan was not encoded by Nightjar; this {} runs Nightjar's own",
                self.role
            )));
        };
        self.check_version(version, &format!("the function `{name}`"))
    }

    fn check_version(&self, theirs: &str, what: &str) -> Result<()> {
        if theirs == self.version {
            return Ok(());
        }
        Err(DataFusionError::Plan(format!(
            "{what} comes from Nightjar {theirs}, but this {} runs Nightjar {}: run one Nightjar version \
             on the client, the scheduler and every executor",
            self.role, self.version
        )))
    }

    fn scalar(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.check_function(name, buf)?;
        self.functions.scalar.get(name).cloned().ok_or_else(|| self.missing(name))
    }

    fn aggregate(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.check_function(name, buf)?;
        self.functions.aggregate.get(name).cloned().ok_or_else(|| self.missing(name))
    }

    fn missing(&self, name: &str) -> DataFusionError {
        DataFusionError::Plan(format!("this {} has no Nightjar function `{name}`", self.role))
    }
}

/// A Delta table's scan as it travels.
#[derive(Debug, Serialize, Deserialize)]
struct TablePayload {
    /// The Nightjar version that planned the query.
    nightjar: String,
    /// Where the dataset is.
    dataset: String,
    /// `packets` or a rollup table's name.
    table: String,
    /// The version read; `None`: the newest when decoded.
    version: Option<u64>,
}

/// Ballista's logical codec, with Nightjar's functions and its `packets` table.
#[derive(Debug)]
pub struct LogicalCodec {
    inner: BallistaLogicalExtensionCodec,
    marks: Marks,
}

impl LogicalCodec {
    /// The codec of a process whose functions are `functions`; `role` names it in errors.
    pub fn new(functions: NightjarFunctions, role: &'static str) -> LogicalCodec {
        LogicalCodec { inner: BallistaLogicalExtensionCodec::default(), marks: Marks::new(functions, role) }
    }
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        let Some(json) = buf.strip_prefix(TABLE_MARK) else {
            return self.inner.try_decode_table_provider(buf, table_ref, schema, ctx);
        };
        let payload: TablePayload = serde_json::from_slice(json)
            .map_err(|error| DataFusionError::Plan(format!("the table `{table_ref}` in this plan: {error}")))?;
        self.marks.check_version(&payload.nightjar, &format!("the table `{table_ref}`"))?;
        table_at(TableSource { dataset: payload.dataset, table: payload.table, version: payload.version }, schema)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let Some(source) = table_source(node.as_ref()) else {
            return self.inner.try_encode_table_provider(table_ref, node, buf);
        };
        let payload = TablePayload {
            nightjar: self.marks.version.clone(),
            dataset: source.dataset,
            table: source.table,
            version: source.version,
        };
        buf.extend_from_slice(TABLE_MARK);
        serde_json::to_writer(buf, &payload).map_err(|error| DataFusionError::External(Box::new(error)))
    }

    fn try_decode_file_format(&self, buf: &[u8], ctx: &TaskContext) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(&self, buf: &mut Vec<u8>, node: Arc<dyn FileFormatFactory>) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.marks.scalar(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.marks.mark_function(node.name(), buf);
        Ok(())
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.marks.aggregate(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.marks.mark_function(node.name(), buf);
        Ok(())
    }
}

/// Ballista's physical codec (its shuffle stages), with Nightjar's functions.
#[derive(Debug)]
pub struct PhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
    marks: Marks,
}

impl PhysicalCodec {
    /// The codec of a process whose functions are `functions`; `role` names it in errors.
    pub fn new(functions: NightjarFunctions, role: &'static str) -> PhysicalCodec {
        PhysicalCodec { inner: BallistaPhysicalExtensionCodec::default(), marks: Marks::new(functions, role) }
    }
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.try_decode(buf, inputs, ctx, proto_converter)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        self.inner.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.marks.scalar(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.marks.mark_function(node.name(), buf);
        Ok(())
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.marks.aggregate(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.marks.mark_function(node.name(), buf);
        Ok(())
    }
}
