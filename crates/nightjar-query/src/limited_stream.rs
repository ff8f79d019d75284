//! A query's result stream that stops with a clear error when the query's time is up.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::RecordBatchStream;
use futures::Stream;
use tokio::time::{Instant, Sleep, sleep_until};

use crate::QueryError;
use crate::runner::{BatchReceiver, QueryThreads, vanished};

/// The batches of one query, ended by [`QueryError::TimeLimit`] (wrapped in a
/// `DataFusionError::External`) if they are not all produced by the deadline.
///
/// The query runs on threads of its own; this stream only receives its batches, so the deadline
/// holds however long the query's own computations take between two batches. Dropping the
/// stream, or reaching the deadline, cancels the query.
pub struct LimitedStream {
    schema: SchemaRef,
    batches: BatchReceiver,
    threads: Option<QueryThreads>,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
}

impl LimitedStream {
    pub(crate) fn new(
        schema: SchemaRef,
        batches: BatchReceiver,
        threads: QueryThreads,
        deadline: Instant,
        limit: Duration,
    ) -> LimitedStream {
        LimitedStream { schema, batches, threads: Some(threads), deadline: Box::pin(sleep_until(deadline)), limit }
    }

    /// Stops the query: its threads are shut down and the stream ends.
    fn finish(&mut self) {
        self.threads = None;
        self.batches.close();
    }
}

impl Stream for LimitedStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.threads.is_none() {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.finish();
            let error = QueryError::TimeLimit(self.limit);
            return Poll::Ready(Some(Err(DataFusionError::External(Box::new(error)))));
        }
        match self.batches.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(batch))) => Poll::Ready(Some(Ok(batch))),
            Poll::Ready(Some(Err(error))) => {
                self.finish();
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => {
                // The sender is dropped at the end of the rows, or when the query's task
                // panicked (which the task cannot report itself).
                let panicked = self.threads.as_ref().is_some_and(QueryThreads::task_panicked);
                self.finish();
                if panicked {
                    let error = vanished();
                    return Poll::Ready(Some(Err(DataFusionError::External(Box::new(error)))));
                }
                Poll::Ready(None)
            }
        }
    }
}

impl RecordBatchStream for LimitedStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
