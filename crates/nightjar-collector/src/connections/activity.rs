//! What the listener knows of each open connection: when it last moved a byte, whether a
//! request is in flight, whether it must give up its place, and its place under the caps.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::ConnectionLimits;
use super::metrics::ConnectionMetrics;

/// When a connection last moved a byte and how many of its requests are being answered.
#[derive(Debug)]
pub(super) struct Activity {
    /// Milliseconds since `epoch` of the last byte read or written.
    pub(super) last_ms: AtomicU64,
    /// Requests received and not yet answered.
    pub(super) in_flight: AtomicUsize,
    /// Requests received so far.
    pub(super) requests: AtomicU64,
    /// When the connection was accepted.
    pub(super) epoch: Instant,
    /// Told when the connection must make room for a new one.
    pub(super) evict: Notify,
    /// Set when it was told.
    pub(super) evicted: AtomicBool,
}

impl Activity {
    pub(super) fn new() -> Self {
        Activity {
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            epoch: Instant::now(),
            evict: Notify::new(),
            evicted: AtomicBool::new(false),
        }
    }

    /// How readily the connection gives up its place: connections that never completed a
    /// request first, then the longest open. `None` while a request is in flight.
    pub(super) fn eviction_rank(&self) -> Option<(bool, Instant)> {
        if self.in_flight.load(Ordering::Acquire) > 0 || self.evicted.load(Ordering::Acquire) {
            return None;
        }
        Some((self.requests.load(Ordering::Acquire) > 0, self.epoch))
    }

    pub(super) fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether the connection has been quiet past its allowance.
    pub(super) fn expired(&self, limits: &ConnectionLimits) -> bool {
        self.expired_at(limits, Instant::now())
    }

    fn expired_at(&self, limits: &ConnectionLimits, now: Instant) -> bool {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return false;
        }
        let allowance =
            if self.requests.load(Ordering::Acquire) == 0 { limits.header_timeout } else { limits.idle_timeout };
        let quiet_ms = u64::try_from(now.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX)
            .saturating_sub(self.last_ms.load(Ordering::Relaxed));
        Duration::from_millis(quiet_ms) >= allowance
    }
}

/// Marks a request as in flight until dropped.
pub(super) struct InFlight(Arc<Activity>);

impl InFlight {
    pub(super) fn start(activity: &Arc<Activity>) -> Self {
        activity.requests.fetch_add(1, Ordering::AcqRel);
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A socket that records when it last moved a byte.
pub(super) struct Tracked<S> {
    pub(super) inner: S,
    pub(super) activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The key a per-address cap counts under: the address, or its /64 for IPv6.
pub(super) fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// Open connections, in all and per address.
#[derive(Debug, Default)]
pub(super) struct OpenConnections {
    pub(super) per_address: Mutex<HashMap<IpAddr, usize>>,
    pub(super) all: Mutex<HashMap<u64, Arc<Activity>>>,
    pub(super) next_id: AtomicU64,
}

impl OpenConnections {
    /// Asks the connection most ready to give up its place to close; false when all are busy.
    pub(super) fn evict_one(&self) -> bool {
        let all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        let victim = all.values().filter_map(|a| a.eviction_rank().map(|rank| (rank, a))).min_by_key(|(rank, _)| *rank);
        match victim {
            Some((_, activity)) => {
                activity.evicted.store(true, Ordering::Release);
                activity.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// One connection's place under the caps; released when dropped.
pub(super) struct Slot {
    pub(super) open: Arc<OpenConnections>,
    pub(super) key: IpAddr,
    pub(super) id: u64,
    pub(super) activity: Arc<Activity>,
    pub(super) _global: tokio::sync::OwnedSemaphorePermit,
    pub(super) metrics: ConnectionMetrics,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.all.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
        let mut per_address = self.open.per_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = per_address.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                per_address.remove(&self.key);
            }
        }
        self.metrics.open.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::ConnectionLimits;

    #[test]
    fn ipv6_addresses_count_per_64() {
        let a: IpAddr = "2001:db8:1:2:3:4:5:6".parse().expect("literal");
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().expect("literal");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("literal");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("literal");
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().expect("literal"));
    }

    #[test]
    fn quiet_connections_expire_by_their_allowance() {
        let limits = ConnectionLimits {
            max_connections: 1,
            max_connections_per_address: 1,
            tls_handshake_timeout: Duration::from_secs(5),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        };
        let activity = Arc::new(Activity::new());
        let at = |seconds: u64| activity.epoch + Duration::from_secs(seconds);
        assert!(!activity.expired_at(&limits, at(9)), "a new connection has the header timeout");
        assert!(activity.expired_at(&limits, at(11)), "a new connection that sent nothing expires");

        let in_flight = InFlight::start(&activity);
        assert!(!activity.expired_at(&limits, at(600)), "a request in flight is the handlers' to bound");
        assert_eq!(activity.eviction_rank(), None, "a connection with a request in flight is not evicted");
        drop(in_flight);
        // The answer moved bytes just now (`touch` on drop): the idle timeout runs from there.
        let answered = activity.last_ms.load(Ordering::Relaxed) / 1000;
        assert!(!activity.expired_at(&limits, at(answered + 59)), "after a request the idle timeout applies");
        assert!(activity.expired_at(&limits, at(answered + 61)));
        assert_eq!(activity.eviction_rank(), Some((true, activity.epoch)));
    }

    #[test]
    fn connections_that_never_completed_a_request_are_evicted_first() {
        let open = OpenConnections::default();
        let served = Arc::new(Activity::new());
        drop(InFlight::start(&served));
        let silent = Arc::new(Activity::new());
        let busy = Arc::new(Activity::new());
        let _in_flight = InFlight::start(&busy);
        {
            let mut all = open.all.lock().expect("not poisoned");
            all.insert(0, Arc::clone(&served));
            all.insert(1, Arc::clone(&silent));
            all.insert(2, Arc::clone(&busy));
        }
        assert!(open.evict_one());
        assert!(silent.evicted.load(Ordering::Acquire), "the silent connection goes first");
        assert!(open.evict_one());
        assert!(served.evicted.load(Ordering::Acquire), "then the one between requests");
        assert!(!open.evict_one(), "a connection with a request in flight is never evicted");
    }
}
