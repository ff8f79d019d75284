//! Where a query runs: threads of its own, with a large stack, that the deadline can walk away from.
//!
//! Every query is planned and run on a tokio runtime of its own (one worker thread per partition).
//! That gives it
//! - a stack of [`QUERY_STACK_BYTES`] per thread, so that the recursion of planning and evaluation
//!   over expressions within the limits of `shape.rs` never overflows (an overflow aborts the
//!   whole process);
//! - fairness: a query stuck in CPU-bound work holds only its own threads, which the operating
//!   system time-slices with everyone else's, so a runaway query cannot starve `SELECT 1` of
//!   another analyst, and the caller's runtime (the gRPC server, the shell) stays responsive;
//! - cancellation: the caller waits for the plan and for each batch with the query's deadline;
//!   when the deadline passes, or the caller drops the stream, every operator of the query stops
//!   at its next batch (see `cancel.rs`) and the runtime is shut down in the background, which
//!   drops every task of the query.
//!
//! Panics inside the query's tasks end the query with [`QueryError::Internal`] instead of the
//! process.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use tokio::runtime::Runtime;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use crate::QueryError;
use crate::cancel::CancelFlag;

/// The stack of every thread that plans or runs a query: 256 MiB of address space, of which only
/// the pages a query touches are ever backed by memory. Expressions at the depth limit of
/// `shape.rs` need 4 to 8 MiB on a debug build; DataFusion's own stack growth (`recursive`) does
/// not cover derived recursion such as cloning, comparing or dropping deep expressions.
pub const QUERY_STACK_BYTES: usize = 256 << 20;

/// How many batches a query may compute ahead of its reader.
const BATCHES_AHEAD: usize = 2;

/// The runtime of one query; shut down (without waiting) when dropped.
pub(crate) struct QueryThreads {
    runtime: Option<Runtime>,
    /// Set when the query's task sent its last batch (unset: it panicked).
    completed: Arc<AtomicBool>,
    /// Set when the query is dropped: its operators stop at their next batch (see `cancel.rs`).
    cancelled: CancelFlag,
    /// The query's place among the engine's concurrent queries, given back when the query ends.
    _slot: OwnedSemaphorePermit,
}

impl QueryThreads {
    /// Threads for one query holding `slot`.
    pub(crate) fn start(threads: usize, slot: OwnedSemaphorePermit) -> Result<QueryThreads, QueryError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .max_blocking_threads(threads.max(1) * 4)
            .thread_stack_size(QUERY_STACK_BYTES)
            .thread_name("nightjar-query")
            .enable_all()
            .build()
            .map_err(|error| QueryError::Internal(format!("cannot start the query's threads: {error}")))?;
        Ok(QueryThreads {
            runtime: Some(runtime),
            completed: Arc::new(AtomicBool::new(false)),
            cancelled: Arc::new(AtomicBool::new(false)),
            _slot: slot,
        })
    }

    /// Plans with `plan` on the query's threads, then runs the plan there, sending its batches
    /// into the returned channel. The first answer is the schema, or the planning error.
    pub(crate) fn run<F>(&self, plan: F) -> (oneshot::Receiver<Result<SchemaRef, QueryError>>, BatchReceiver)
    where
        F: Future<Output = Result<SendableRecordBatchStream, QueryError>> + Send + 'static,
    {
        let (schema_tx, schema_rx) = oneshot::channel();
        let (batch_tx, batch_rx) = mpsc::channel(BATCHES_AHEAD);
        let Some(runtime) = &self.runtime else { return (schema_rx, batch_rx) };
        let completed = Arc::clone(&self.completed);
        runtime.spawn(async move {
            let mut stream = match plan.await {
                Ok(stream) => stream,
                Err(error) => {
                    let _ = schema_tx.send(Err(error));
                    return;
                }
            };
            if schema_tx.send(Ok(stream.schema())).is_err() {
                return;
            }
            while let Some(batch) = stream.next().await {
                let failed = batch.is_err();
                if batch_tx.send(batch).await.is_err() || failed {
                    return;
                }
            }
            completed.store(true, Ordering::Release);
        });
        (schema_rx, batch_rx)
    }
}

impl QueryThreads {
    /// The flag that stops the query's operators, set when the query is dropped.
    pub(crate) fn cancel_flag(&self) -> CancelFlag {
        Arc::clone(&self.cancelled)
    }

    /// Whether the query's task ended without sending the end of its rows: a panic.
    pub(crate) fn task_panicked(&self) -> bool {
        !self.completed.load(Ordering::Acquire)
    }
}

impl Drop for QueryThreads {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Relaxed);
        if let Some(runtime) = self.runtime.take() {
            // Never blocks: threads still inside a long computation end when it returns.
            runtime.shutdown_background();
        }
    }
}

/// The batches of a running query.
pub(crate) type BatchReceiver = mpsc::Receiver<Result<RecordBatch, DataFusionError>>;

/// The error for a query whose tasks ended without an answer (a panic inside the engine).
pub(crate) fn vanished() -> QueryError {
    QueryError::Internal("the query ended without an answer (a failure inside the engine; see the log)".into())
}
