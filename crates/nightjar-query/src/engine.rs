//! The query engine: a DataFusion session over the dataset that runs read-only SQL within limits.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::EmptyRecordBatchStream;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use futures::TryStreamExt;
use nightjar_geo::GeoDb;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::cancel::{self, CancelFlag};
use crate::config::{QueryConfig, QueryLimits};
use crate::limited_stream::LimitedStream;
use crate::runner::{self, QUERY_STACK_BYTES, QueryThreads};
use crate::table::SnapshotInfo;
use crate::{QueryError, functions, shape, table, views};

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
    /// The table version read, when the dataset is a Delta table.
    snapshot: Option<SnapshotInfo>,
    /// Worker threads of each query (one per partition).
    threads_per_query: usize,
    /// One permit per query that may run at once.
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for QueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine").field("dataset", &self.dataset).field("limits", &self.limits).finish()
    }
}

impl QueryEngine {
    /// Opens the dataset of `config`: registers `packets`, the views of [`crate::VIEWS`] and the
    /// functions of [`crate::FUNCTIONS`]. Fails when the folder does not exist or a geo database
    /// cannot be read; an empty folder is a valid, empty dataset. Object storage connections live
    /// on the tokio runtime that calls `open`, which must outlast the engine (queries run on
    /// runtimes of their own).
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
        // Distinct counts the project's `count` does in one pass stay one aggregate.
        let mut ctx = crate::distinct_plan::keep_counted_distinct(SessionContext::new_with_config_rt(session, runtime));
        if let Some(upgrade) = &config.upgrade {
            ctx = SessionContext::new_with_state((upgrade.0)(ctx.state())?);
        }
        let snapshot = table::register_packets(&ctx, &config.dataset, &config.as_of).await?;
        let country = GeoDb::country_or_embedded(config.country_db.as_deref())?;
        let asn = GeoDb::asn_or_embedded(config.asn_db.as_deref())?;
        functions::register(&ctx, Arc::new(country), Arc::new(asn));
        functions::bounded::register(&ctx, config.limits.memory_bytes);
        views::register(&ctx).await?;
        let partitions = ctx.state().config().target_partitions();
        let slots = Arc::new(Semaphore::new(config.concurrent_queries.max(1)));
        Ok(QueryEngine {
            ctx,
            limits: config.limits,
            dataset: config.dataset,
            snapshot,
            threads_per_query: partitions,
            slots,
        })
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

    /// The table version the engine was opened at, when the dataset is a Delta table. An engine
    /// that follows the latest version moves on with each query; this is where it started.
    pub fn snapshot(&self) -> Option<SnapshotInfo> {
        self.snapshot
    }

    /// Splits SQL text into statements (a script may hold several, separated by `;`), and checks
    /// each against the limits on the shape of SQL (length, expression depth and size, see
    /// [`crate::shape`]): beyond them the text is refused with [`QueryError::TooComplex`].
    pub fn parse(&self, sql: &str) -> Result<VecDeque<Statement>, QueryError> {
        shape::check_text(sql)?;
        let options = self.ctx.state().config().options().clone();
        let recursion_limit = options.sql_parser.recursion_limit.get();
        let max_literal = shape::max_literal_bytes(self.limits.memory_bytes, options.execution.batch_size.get());
        // Parsed, checked and (when refused) dropped on a thread with the query threads' stack:
        // a refused syntax tree may be far deeper than the limit.
        std::thread::scope(|scope| {
            let parsing = std::thread::Builder::new()
                .name("nightjar-parse".into())
                .stack_size(QUERY_STACK_BYTES)
                .spawn_scoped(scope, || {
                    let statements = DFParserBuilder::new(sql)
                        .with_dialect(&GenericDialect {})
                        .with_recursion_limit(recursion_limit)
                        .build()?
                        .parse_statements()?;
                    statements.iter().try_for_each(|statement| shape::check_statement(statement, max_literal))?;
                    Ok(statements)
                })
                .map_err(|error| QueryError::Internal(format!("cannot start the parsing thread: {error}")))?;
            parsing.join().unwrap_or_else(|_| Err(runner::vanished()))
        })
    }

    /// The columns `statement` answers with, after the read-only check, without running it.
    /// Planned on threads of its own within the time limit, like [`QueryEngine::stream`].
    pub async fn schema(&self, statement: Statement) -> Result<SchemaRef, QueryError> {
        let stream = self
            .start(statement, |frame, _cancelled| async move {
                let schema = Arc::new(frame.schema().as_arrow().clone());
                Ok(Box::pin(EmptyRecordBatchStream::new(schema)) as SendableRecordBatchStream)
            })
            .await?;
        Ok(datafusion::execution::RecordBatchStream::schema(&stream))
    }

    /// Runs one statement to a stream of batches that ends with an error at the time limit.
    ///
    /// The statement is planned and run on threads of its own (see `runner.rs`); the engine runs
    /// at most [`QueryConfig::concurrent_queries`] at once, and a query waiting for its turn
    /// waits within its time limit.
    pub async fn stream(&self, statement: Statement) -> Result<LimitedStream, QueryError> {
        self.start(statement, |frame, cancelled| async move {
            let context = Arc::new(frame.task_ctx());
            let plan = cancel::cancellable(frame.create_physical_plan().await?, &cancelled)?;
            Ok(datafusion::physical_plan::execute_stream(plan, context)?)
        })
        .await
    }

    /// Plans `statement` on threads of its own, and runs the plan with `execute` there.
    async fn start<E, F>(&self, statement: Statement, execute: E) -> Result<LimitedStream, QueryError>
    where
        E: FnOnce(DataFrame, CancelFlag) -> F + Send + 'static,
        F: Future<Output = Result<SendableRecordBatchStream, QueryError>> + Send + 'static,
    {
        let limits = self.limits;
        let deadline = Instant::now() + limits.time;
        let slot = match tokio::time::timeout_at(deadline, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_closed)) => return Err(QueryError::Internal("the engine is shutting down".into())),
            Err(_) => return Err(QueryError::TimeLimit(limits.time)),
        };
        let threads = QueryThreads::start(self.threads_per_query, slot)?;
        let session = self.query_session();
        let cancelled = threads.cancel_flag();
        let (schema, batches) = threads.run(async move {
            let frame =
                plan(&session, statement).await.map_err(|error| crate::errors::classify_query(error, limits))?;
            execute(frame, cancelled).await.map_err(|error| crate::errors::classify_query(error, limits))
        });
        match tokio::time::timeout_at(deadline, schema).await {
            Ok(Ok(Ok(schema))) => Ok(LimitedStream::new(schema, batches, threads, deadline, limits.time)),
            Ok(Ok(Err(error))) => Err(error),
            Ok(Err(_dropped)) => Err(runner::vanished()),
            Err(_) => Err(QueryError::TimeLimit(limits.time)),
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

/// Plans one statement in `session` after checking that it only reads.
async fn plan(session: &SessionContext, statement: Statement) -> Result<DataFrame, QueryError> {
    check_statement(&statement)?;
    let state = session.state();
    let plan = state.statement_to_plan(statement).await?;
    check_read_only(&plan)?;
    Ok(session.execute_logical_plan(plan).await?)
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
