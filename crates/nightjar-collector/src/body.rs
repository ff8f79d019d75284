//! Reading request bodies within a deadline, a size limit and a memory budget shared by all
//! uploads; and draining the body of a request that is refused, so the client can read why.
//!
//! A client writing its body while the collector answers early and closes gets a broken pipe
//! and never sees the answer (a sensor with the wrong id then only logs "Broken pipe"). So a
//! refused request's body is read and thrown away — never buffered — within the same deadline
//! and size limit as an accepted one; past those the answer goes out with `Connection: close`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::refusal::Refusal;

/// Budget units are KiB, so a budget of many GiB still fits the semaphore's permit count.
const UNIT: u64 = 1024;

/// Bytes of request bodies held in memory at once, over all requests.
#[derive(Debug)]
pub struct BodyBudget {
    units: Arc<Semaphore>,
    total_bytes: u64,
}

/// Room for one body; given back when dropped.
#[derive(Debug)]
pub struct BodyRoom {
    _permit: OwnedSemaphorePermit,
}

impl BodyBudget {
    /// A budget of `total_bytes`.
    pub fn new(total_bytes: u64) -> Self {
        let units = usize::try_from(total_bytes.div_ceil(UNIT)).unwrap_or(Semaphore::MAX_PERMITS);
        BodyBudget { units: Arc::new(Semaphore::new(units.min(Semaphore::MAX_PERMITS))), total_bytes }
    }

    /// Room for a body of `bytes`, waiting at most `wait`. `None` when the budget stayed full.
    pub async fn reserve(&self, bytes: u64, wait: Duration) -> Option<BodyRoom> {
        let units = u32::try_from(bytes.min(self.total_bytes).div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
        let acquire = Arc::clone(&self.units).acquire_many_owned(units);
        match tokio::time::timeout(wait, acquire).await {
            Ok(Ok(permit)) => Some(BodyRoom { _permit: permit }),
            _ => None,
        }
    }

    /// Whether a body of `bytes` fits without waiting right now.
    pub fn fits_now(&self, bytes: u64) -> bool {
        self.units.available_permits() as u64 * UNIT >= bytes.min(self.total_bytes)
    }
}

/// The declared `Content-Length`, when there is a readable one.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Reads a whole body of at most `limit` bytes, all of it before `deadline`.
pub async fn read(body: Body, limit: u64, deadline: Duration) -> Result<Bytes, Refusal> {
    let seconds = deadline.as_secs();
    let collect = async {
        let mut body = body;
        let mut buffer = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| Refusal::invalid(format!("reading the body: {error}")))?;
            if let Ok(data) = frame.into_data() {
                if buffer.len() as u64 + data.len() as u64 > limit {
                    return Err(too_large(limit));
                }
                buffer.extend_from_slice(&data);
            }
        }
        Ok(Bytes::from(buffer))
    };
    tokio::time::timeout(deadline, collect).await.unwrap_or_else(|_| Err(Refusal::timeout(seconds)))
}

/// The refusal for a body over `limit` bytes.
pub fn too_large(limit: u64) -> Refusal {
    Refusal::too_large(format!("the body exceeds {limit} bytes"), limit)
}

/// Reads and discards a body of at most `limit` bytes before `deadline`. Returns whether it
/// was read to its end (so the connection can stay open).
pub async fn drain(body: Body, limit: u64, deadline: Duration) -> bool {
    let until = Instant::now() + deadline;
    let mut body = body;
    let mut seen = 0u64;
    loop {
        match tokio::time::timeout_at(until, body.frame()).await {
            Ok(None) => return true,
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    seen += data.len() as u64;
                    if seen > limit {
                        return false;
                    }
                }
            }
            Ok(Some(Err(_))) | Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_budget_makes_a_second_body_wait_until_the_first_is_done() {
        let budget = BodyBudget::new(10 * UNIT);
        let first = budget.reserve(8 * UNIT, Duration::from_millis(10)).await.expect("fits");
        assert!(budget.reserve(8 * UNIT, Duration::from_millis(10)).await.is_none(), "no room left");
        assert!(budget.fits_now(2 * UNIT));
        drop(first);
        assert!(budget.reserve(8 * UNIT, Duration::from_millis(10)).await.is_some());
        // A body larger than the whole budget takes all of it rather than waiting for ever.
        assert!(budget.reserve(1 << 40, Duration::from_millis(10)).await.is_some());
    }

    #[tokio::test]
    async fn read_stops_at_the_limit_and_drain_reads_to_the_end() {
        let body = Body::from(vec![7u8; 100]);
        assert_eq!(read(body, 100, Duration::from_secs(1)).await.expect("fits").len(), 100);
        let refusal = read(Body::from(vec![7u8; 101]), 100, Duration::from_secs(1)).await.expect_err("too large");
        assert_eq!(refusal.limit, Some(100));
        assert!(drain(Body::from(vec![0u8; 5000]), 10_000, Duration::from_secs(1)).await);
        assert!(!drain(Body::from(vec![0u8; 5000]), 100, Duration::from_secs(1)).await);
    }
}
