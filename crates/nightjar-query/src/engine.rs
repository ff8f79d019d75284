//! The query engine: a DataFusion session over the dataset that runs read-only SQL within limits.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use futures::TryStreamExt;
use nightjar_geo::GeoDb;
use tokio::time::Instant;

use crate::config::{QueryConfig, QueryLimits};
use crate::limited_stream::LimitedStream;
use crate::{QueryError, functions, table, views};

/// The statements a read-only session allows: queries, `EXPLAIN`, `SHOW`, `DESCRIBE`.
fn read_only() -> datafusion::execution::context::SQLOptions {
    datafusion::execution::context::SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// What one statement produced.
#[derive(Debug)]
pub struct QueryOutput {
    /// The columns, also when there are no rows.
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
}

impl QueryOutput {
    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// The dataset opened for analysts: the `packets` table, the views, the SQL functions.
///
/// Every statement is checked to be read-only (no DDL, DML, `COPY`, `SET`, external tables or
/// reading files by URL), and runs with its own memory pool and deadline ([`QueryLimits`]).
/// One engine serves many queries at once; clone-free sharing behind an `Arc` is fine.
pub struct QueryEngine {
    ctx: SessionContext,
    limits: QueryLimits,
    dataset: String,
}

impl std::fmt::Debug for QueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine").field("dataset", &self.dataset).field("limits", &self.limits).finish()
    }
}

impl QueryEngine {
    /// Opens the dataset of `config`: registers `packets`, the views of [`crate::VIEWS`] and the
    /// functions of [`crate::FUNCTIONS`]. Fails when the folder does not exist or a geo database
    /// cannot be read; an empty folder is a valid, empty dataset.
    pub async fn open(config: QueryConfig) -> Result<QueryEngine, QueryError> {
        let mut session = SessionConfig::new().with_information_schema(true);
        if let Some(partitions) = config.target_partitions {
            session = session.with_target_partitions(partitions.max(1));
        }
        let options = session.options_mut();
        options.execution.parquet.pushdown_filters = true;
        options.execution.parquet.reorder_filters = true;
        options.sql_parser.collect_spans = true;
        // A collector adds files all the time and compaction replaces them: list on every query.
        let runtime = RuntimeEnvBuilder::new()
            .with_object_list_cache_limit(0)
            .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled))
            .build_arc()?;
        let ctx = SessionContext::new_with_config_rt(session, runtime);
        table::register_packets(&ctx, &config.dataset)?;
        let country = GeoDb::country_or_embedded(config.country_db.as_deref())?;
        let asn = GeoDb::asn_or_embedded(config.asn_db.as_deref())?;
        functions::register(&ctx, Arc::new(country), Arc::new(asn));
        views::register(&ctx).await?;
        Ok(QueryEngine { ctx, limits: config.limits, dataset: config.dataset })
    }

    /// The DataFusion session, for trusted code of the project (the risk indicators). It is not
    /// read-only: analysts' SQL goes through [`QueryEngine::query`] and its siblings.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The per-query limits.
    pub fn limits(&self) -> QueryLimits {
        self.limits
    }

    /// The dataset location the engine was opened on.
    pub fn dataset(&self) -> &str {
        &self.dataset
    }

    /// Splits SQL text into statements (a script may hold several, separated by `;`).
    pub fn parse(&self, sql: &str) -> Result<VecDeque<Statement>, QueryError> {
        let recursion_limit = self.ctx.state().config().options().sql_parser.recursion_limit.get();
        let statements = DFParserBuilder::new(sql)
            .with_dialect(&GenericDialect {})
            .with_recursion_limit(recursion_limit)
            .build()?
            .parse_statements()?;
        Ok(statements)
    }

    /// Plans one statement after checking that it only reads. The plan runs in a session of its
    /// own with the memory limit.
    pub async fn plan(&self, statement: Statement) -> Result<DataFrame, QueryError> {
        check_statement(&statement)?;
        let ctx = self.query_session();
        let state = ctx.state();
        let plan = state.statement_to_plan(statement).await?;
        check_read_only(&plan)?;
        Ok(ctx.execute_logical_plan(plan).await?)
    }

    /// Runs one statement to a stream of batches that ends with an error at the time limit.
    pub async fn stream(&self, statement: Statement) -> Result<LimitedStream, QueryError> {
        let deadline = Instant::now() + self.limits.time;
        let planned = async {
            let frame = self.plan(statement).await?;
            Ok::<_, QueryError>(frame.execute_stream().await?)
        };
        match tokio::time::timeout_at(deadline, planned).await {
            Ok(stream) => Ok(LimitedStream::new(stream?, deadline, self.limits.time)),
            Err(_) => Err(QueryError::TimeLimit(self.limits.time)),
        }
    }

    /// Runs one statement and collects its rows.
    pub async fn run(&self, statement: Statement) -> Result<QueryOutput, QueryError> {
        let stream = self.stream(statement).await?;
        let schema = datafusion::execution::RecordBatchStream::schema(&stream);
        let batches = stream.try_collect::<Vec<_>>().await.map_err(|error| self.explain_error(error))?;
        Ok(QueryOutput { schema, batches })
    }

    /// Runs SQL text of exactly one statement and collects its rows.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, QueryError> {
        Ok(self.query_output(sql).await?.batches)
    }

    /// Like [`QueryEngine::query`], with the result's schema.
    pub async fn query_output(&self, sql: &str) -> Result<QueryOutput, QueryError> {
        let mut statements = self.parse(sql)?;
        let statement = match (statements.pop_front(), statements.is_empty()) {
            (Some(statement), true) => statement,
            (None, _) => return Err(QueryError::Sql(DataFusionError::Plan("no SQL statement given".into()))),
            (Some(_), false) => {
                let message = "one statement expected, got several; run a script statement by statement";
                return Err(QueryError::Sql(DataFusionError::Plan(message.into())));
            }
        };
        self.run(statement).await
    }

    /// Turns an error met while running into the limit it hit, if it hit one.
    pub fn explain_error(&self, error: DataFusionError) -> QueryError {
        crate::errors::classify(error, self.limits)
    }

    /// A session sharing the catalog, functions and object stores, with a memory pool of its own.
    fn query_session(&self) -> SessionContext {
        let base = self.ctx.runtime_env();
        let five = NonZeroUsize::new(5).unwrap_or(NonZeroUsize::MIN);
        let runtime = RuntimeEnv {
            memory_pool: Arc::new(TrackConsumersPool::new(GreedyMemoryPool::new(self.limits.memory_bytes), five)),
            disk_manager: Arc::clone(&base.disk_manager),
            cache_manager: Arc::clone(&base.cache_manager),
            object_store_registry: Arc::clone(&base.object_store_registry),
        };
        let state =
            SessionStateBuilder::new_from_existing(self.ctx.state()).with_runtime_env(Arc::new(runtime)).build();
        SessionContext::new_with_state(state)
    }
}

const ALLOWED: &str = "Allowed: SELECT, WITH, VALUES, EXPLAIN, SHOW, DESCRIBE.";

/// Refuses, before planning, every statement that is not a query, `EXPLAIN` of one, `SHOW` or `DESCRIBE`.
fn check_statement(statement: &Statement) -> Result<(), QueryError> {
    use datafusion::sql::sqlparser::ast::Statement as Sql;
    let refused = |what: &str| {
        Err(QueryError::ReadOnly(format!("Nightjar's SQL only reads the dataset: {what} is not allowed. {ALLOWED}")))
    };
    match statement {
        Statement::Explain(explain) => check_statement(&explain.statement),
        Statement::CreateExternalTable(_) => refused("CREATE EXTERNAL TABLE"),
        Statement::CopyTo(_) => refused("COPY"),
        Statement::Reset(_) => refused("RESET"),
        Statement::Statement(sql) => match sql.as_ref() {
            Sql::Query(_)
            | Sql::ShowTables { .. }
            | Sql::ShowColumns { .. }
            | Sql::ShowFunctions { .. }
            | Sql::ShowVariable { .. }
            | Sql::ShowSchemas { .. }
            | Sql::ExplainTable { .. } => Ok(()),
            Sql::Explain { statement, .. } => check_statement(&Statement::Statement(statement.clone())),
            other => {
                let text = other.to_string();
                let keyword: Vec<&str> = text.split_whitespace().take(2).collect();
                refused(&keyword.join(" "))
            }
        },
    }
}

/// Refuses plans that would change anything or read outside the dataset (a second line of
/// defence behind [`check_statement`], which also sees into subqueries).
fn check_read_only(plan: &LogicalPlan) -> Result<(), QueryError> {
    read_only().verify_plan(plan).map_err(|error| {
        let what = error.strip_backtrace();
        QueryError::ReadOnly(format!("Nightjar's SQL only reads the dataset: {what}. {ALLOWED}"))
    })
}
