//! Keeps `count(DISTINCT …)` over addresses, dates and strings as one aggregate.
//!
//! DataFusion's `single_distinct_aggregation_to_group_by` rule turns an aggregate whose only
//! distinct argument is one column (`SELECT day, count(DISTINCT src_ip) … GROUP BY day`) into two:
//! group by (day, src_ip), then count the rows per day. That pays off when the distinct count
//! would otherwise keep a set of boxed values per group, but the project's `count` counts those
//! types with one set of (group, value) keys (`functions::distinct_count`), which does the same
//! work in one pass without a second hash aggregation and a repartition between them.
//! [`keep_counted_distinct`] wraps the rule so that it leaves those aggregates alone and rewrites
//! everything else as before.

use std::sync::Arc;

use datafusion::common::tree_node::Transformed;
use datafusion::error::Result;
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Aggregate, Expr, ExprSchemable, LogicalPlan};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};
use datafusion::prelude::SessionContext;

use crate::functions::distinct_count::KeyKind;

/// The name of DataFusion's rule that [`KeepCountedDistinct`] wraps.
const SINGLE_DISTINCT_RULE: &str = "single_distinct_aggregation_to_group_by";

/// `ctx` with DataFusion's single-distinct rewrite wrapped by [`KeepCountedDistinct`].
pub(crate) fn keep_counted_distinct(ctx: SessionContext) -> SessionContext {
    let state = ctx.state();
    let rules = state
        .optimizers()
        .iter()
        .map(|rule| -> Arc<dyn OptimizerRule + Send + Sync> {
            if rule.name() == SINGLE_DISTINCT_RULE {
                Arc::new(KeepCountedDistinct { inner: Arc::clone(rule) })
            } else {
                Arc::clone(rule)
            }
        })
        .collect();
    SessionContext::new_with_state(SessionStateBuilder::new_from_existing(state).with_optimizer_rules(rules).build())
}

/// DataFusion's single-distinct rewrite, except for aggregates whose distinct aggregates are all
/// `count(DISTINCT x)` with `x` an address, date or string.
#[derive(Debug)]
pub(crate) struct KeepCountedDistinct {
    inner: Arc<dyn OptimizerRule + Send + Sync>,
}

impl OptimizerRule for KeepCountedDistinct {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        self.inner.apply_order()
    }

    fn rewrite(&self, plan: LogicalPlan, config: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        match &plan {
            LogicalPlan::Aggregate(aggregate) if counted_by_keys(aggregate) => Ok(Transformed::no(plan)),
            _ => self.inner.rewrite(plan, config),
        }
    }
}

/// Whether `aggregate` has distinct aggregates and each is a `count` of one address, date or
/// string.
fn counted_by_keys(aggregate: &Aggregate) -> bool {
    let schema = aggregate.input.schema();
    let mut distinct = 0;
    for expr in &aggregate.aggr_expr {
        let Expr::AggregateFunction(AggregateFunction { func, params }) = expr else { continue };
        if !params.distinct {
            continue;
        }
        let [argument] = params.args.as_slice() else { return false };
        let by_keys = argument.get_type(schema.as_ref()).is_ok_and(|data_type| KeyKind::of(&data_type).is_some());
        if func.name() != "count" || !by_keys {
            return false;
        }
        distinct += 1;
    }
    distinct > 0
}

#[cfg(test)]
mod tests;
