//! A query's result stream that stops with a clear error when the query's time is up.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use futures::Stream;
use tokio::time::{Instant, Sleep, sleep_until};

use crate::QueryError;

/// The batches of one query, ended by [`QueryError::TimeLimit`] (wrapped in a
/// `DataFusionError::External`) if they are not all produced by the deadline.
///
/// Dropping the stream cancels the query.
pub struct LimitedStream {
    inner: SendableRecordBatchStream,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
    finished: bool,
}

impl LimitedStream {
    pub(crate) fn new(inner: SendableRecordBatchStream, deadline: Instant, limit: Duration) -> LimitedStream {
        LimitedStream { inner, deadline: Box::pin(sleep_until(deadline)), limit, finished: false }
    }
}

impl Stream for LimitedStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.finished = true;
            let error = QueryError::TimeLimit(self.limit);
            return Poll::Ready(Some(Err(DataFusionError::External(Box::new(error)))));
        }
        let next = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = next {
            self.finished = true;
        }
        next
    }
}

impl RecordBatchStream for LimitedStream {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}
