//! Stopping a query's work when its deadline passes, between any two batches of any operator.
//!
//! Shutting a query's runtime down drops its tasks only when they next yield, and DataFusion's
//! operators yield rarely: an aggregate over a cross join can compute for minutes inside one
//! poll. Every operator of the plan that runs is therefore wrapped in a [`CancellableExec`],
//! whose stream ends with an error as soon as the query's cancellation flag is set; the
//! operator above it then fails and returns, and the runtime drops the task. The wrapper is
//! added to the plan that runs only, after planning and optimising: `EXPLAIN` never shows it.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::DataFusionError;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::Stream;

/// Set once a query is cancelled (its deadline passed or its reader went away).
pub(crate) type CancelFlag = Arc<AtomicBool>;

/// `plan` with every operator wrapped so that it stops once `cancelled` is set. Plans under
/// `EXPLAIN ANALYZE` are left as they are, so that the plan it prints is the one planned.
pub(crate) fn cancellable(plan: Arc<dyn ExecutionPlan>, cancelled: &CancelFlag) -> Result<Arc<dyn ExecutionPlan>> {
    if plan.name() == "AnalyzeExec" {
        return Ok(plan);
    }
    plan.transform_up(|node| {
        let wrapped: Arc<dyn ExecutionPlan> = Arc::new(CancellableExec::new(node, Arc::clone(cancelled)));
        Ok(Transformed::yes(wrapped))
    })
    .map(|transformed| transformed.data)
}

/// An operator that passes its input's batches through until the query is cancelled.
#[derive(Debug)]
struct CancellableExec {
    input: Arc<dyn ExecutionPlan>,
    cancelled: CancelFlag,
    properties: Arc<PlanProperties>,
}

impl CancellableExec {
    fn new(input: Arc<dyn ExecutionPlan>, cancelled: CancelFlag) -> CancellableExec {
        let properties = Arc::clone(input.properties());
        CancellableExec { input, cancelled, properties }
    }
}

impl DisplayAs for CancellableExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CancellableExec")
    }
}

impl ExecutionPlan for CancellableExec {
    fn name(&self) -> &str {
        "CancellableExec"
    }

    fn downcast_delegate(&self) -> Option<&dyn ExecutionPlan> {
        Some(self.input.as_ref())
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    #[allow(deprecated)] // The trait still requires it; `replace_children` defaults to it.
    fn with_new_children(self: Arc<Self>, mut children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(input), true) => Ok(Arc::new(CancellableExec::new(input, Arc::clone(&self.cancelled)))),
            _ => Err(DataFusionError::Internal("CancellableExec takes exactly one input".into())),
        }
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        Ok(Box::pin(CancellableStream { input, cancelled: Arc::clone(&self.cancelled) }))
    }
}

/// The batches of one partition of an operator, until the query is cancelled.
struct CancellableStream {
    input: SendableRecordBatchStream,
    cancelled: CancelFlag,
}

impl Stream for CancellableStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(DataFusionError::Execution("the query was cancelled".into()))));
        }
        self.input.as_mut().poll_next(cx)
    }
}

impl RecordBatchStream for CancellableStream {
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
}
