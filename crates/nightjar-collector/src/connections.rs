//! Accepting connections: the limits that hold before and between requests.
//!
//! A collector listens on an address that anyone on the path can reach, token or not, so a
//! connection must cost its owner something to keep. Every connection is accepted here and
//! served by hyper (HTTP/1.1 and HTTP/2, plain or TLS) under these rules:
//!
//! - **caps**: at most [`ConnectionLimits::max_connections`] open at once, and at most
//!   [`ConnectionLimits::max_connections_per_address`] from one source address (one IPv6 /64).
//!   At the total cap, a new connection takes the place of an open one that has no request in
//!   flight — first one that never completed a request, the longest open — so clients that
//!   open connections and send nothing (or trickle headers) cannot keep a sensor out; they
//!   only push each other out. When every open connection is busy, or the source address is at
//!   its own cap, the new connection is answered `503` with `Retry-After` and closed (after the
//!   TLS handshake on a TLS listener, so the client can read why); the refusals themselves run
//!   in a small fixed number of slots, and past those a connection is closed unanswered.
//! - **TLS handshake**: must finish within [`ConnectionLimits::tls_handshake_timeout`].
//! - **first request**: a new connection must deliver a request's headers within the header
//!   timeout; hyper's own header timeout starts only at a request's first byte, so a connection
//!   that sends nothing would otherwise stay open for ever.
//! - **idle**: a connection with no request in flight and no byte moved in either direction for
//!   [`ConnectionLimits::idle_timeout`] is closed: an HTTP/2 connection between requests, or one
//!   whose client stopped reading an answer. (hyper restarts its header timeout after every
//!   HTTP/1.1 answer, so an idle HTTP/1.1 keep-alive connection goes after the header timeout.)
//!   Request bodies have their own deadlines in the handlers.
//! - **shutdown**: the listener stops accepting; connections finish the request in flight and
//!   close; what is still open after the grace period is dropped.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry as MetricsRegistry;

use crate::rate_limited::RateLimited;

/// How many over-cap connections may be answered `503` at once; past this they are closed.
const REFUSAL_SLOTS: usize = 64;

/// How long a new connection waits for an evicted one to give up its place.
const EVICTION_WAIT: Duration = Duration::from_secs(1);

/// How long answering an over-cap connection may take (handshake and write).
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// The connection rules of a listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one address (IPv4) or /64 (IPv6).
    pub max_connections_per_address: usize,
    /// Time a client has to finish the TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// Time a new connection has to deliver its first request's headers (and any request's
    /// headers once they started).
    pub header_timeout: Duration,
    /// Time a connection may sit with no request in flight and no byte moving.
    pub idle_timeout: Duration,
}

type Labels = Vec<(String, String)>;

/// What happens to connections, for `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct ConnectionMetrics {
    /// Connections open now.
    pub open: Gauge,
    /// Connections accepted under the caps.
    pub accepted: Counter,
    /// Connections refused, by the cap they hit.
    pub refused: Family<Labels, Counter>,
    /// Connections closed by the collector, by reason (idle, TLS handshake, an unread body).
    pub closed: Family<Labels, Counter>,
    /// Uploads that found the buffered-body budget full, by outcome (waited, refused).
    pub body_budget: Family<Labels, Counter>,
}

impl ConnectionMetrics {
    /// Registers every series under `registry`.
    pub fn register(&self, registry: &mut MetricsRegistry) {
        registry.register("connections_open", "Connections open now", self.open.clone());
        registry.register("connections_accepted", "Connections accepted", self.accepted.clone());
        registry.register("connections_refused", "Connections refused over a cap, by cap", self.refused.clone());
        registry.register("connections_closed", "Connections closed by the collector, by reason", self.closed.clone());
        registry.register(
            "body_budget_full",
            "Uploads that found the buffered-body budget full, by outcome (waited, refused)",
            self.body_budget.clone(),
        );
    }

    /// Count a connection refused over `cap`.
    pub fn refuse(&self, cap: &str) {
        self.refused.get_or_create(&vec![("cap".to_string(), cap.to_string())]).inc();
    }

    /// Count a connection the collector closed for `reason`.
    pub fn close(&self, reason: &str) {
        self.closed.get_or_create(&vec![("reason".to_string(), reason.to_string())]).inc();
    }

    /// Count an upload that found the body budget full (`waited` or `refused`).
    pub fn budget(&self, outcome: &str) {
        self.body_budget.get_or_create(&vec![("outcome".to_string(), outcome.to_string())]).inc();
    }
}

/// When a connection last moved a byte and how many of its requests are being answered.
#[derive(Debug)]
struct Activity {
    /// Milliseconds since `epoch` of the last byte read or written.
    last_ms: AtomicU64,
    /// Requests received and not yet answered.
    in_flight: AtomicUsize,
    /// Requests received so far.
    requests: AtomicU64,
    /// When the connection was accepted.
    epoch: Instant,
    /// Told when the connection must make room for a new one.
    evict: Notify,
    /// Set when it was told.
    evicted: AtomicBool,
}

impl Activity {
    fn new() -> Self {
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
    fn eviction_rank(&self) -> Option<(bool, Instant)> {
        if self.in_flight.load(Ordering::Acquire) > 0 || self.evicted.load(Ordering::Acquire) {
            return None;
        }
        Some((self.requests.load(Ordering::Acquire) > 0, self.epoch))
    }

    fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether the connection has been quiet past its allowance.
    fn expired(&self, limits: &ConnectionLimits) -> bool {
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
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
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
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
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
fn address_key(ip: IpAddr) -> IpAddr {
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
struct OpenConnections {
    per_address: Mutex<HashMap<IpAddr, usize>>,
    all: Mutex<HashMap<u64, Arc<Activity>>>,
    next_id: AtomicU64,
}

impl OpenConnections {
    /// Asks the connection most ready to give up its place to close; false when all are busy.
    fn evict_one(&self) -> bool {
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
struct Slot {
    open: Arc<OpenConnections>,
    key: IpAddr,
    id: u64,
    activity: Arc<Activity>,
    _global: tokio::sync::OwnedSemaphorePermit,
    metrics: ConnectionMetrics,
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

/// Why a connection was not given a slot.
#[derive(Clone, Copy, Debug)]
enum OverCap {
    Total,
    Address,
}

impl OverCap {
    fn reason(self) -> &'static str {
        match self {
            OverCap::Total => "max_connections",
            OverCap::Address => "max_connections_per_address",
        }
    }
}

/// A listener serving an axum router under [`ConnectionLimits`].
pub struct Listener {
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    metrics: ConnectionMetrics,
}

/// Stops a [`Listener`] started with [`Listener::serve`].
#[derive(Clone, Debug)]
pub struct ShutdownSignal(watch::Sender<bool>);

impl ShutdownSignal {
    /// Stop accepting and ask every connection to close after its request in flight.
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

impl Listener {
    /// Binds `addr`. With `tls`, every connection starts with a TLS handshake.
    pub async fn bind(
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
        limits: ConnectionLimits,
        metrics: ConnectionMetrics,
    ) -> io::Result<Listener> {
        let tcp = TcpListener::bind(addr).await?;
        Ok(Listener { tcp, tls: tls.map(TlsAcceptor::from), limits, metrics })
    }

    /// The address bound (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Serves `app` until the signal is given and every connection closed or `grace` passed.
    /// Returns the signal and the serving task.
    pub fn serve(self, app: Router) -> (ShutdownSignal, tokio::task::JoinHandle<()>) {
        let (signal, stop) = watch::channel(false);
        let task = tokio::spawn(self.accept_loop(app, stop));
        (ShutdownSignal(signal), task)
    }

    async fn accept_loop(self, app: Router, mut stop: watch::Receiver<bool>) {
        let global = Arc::new(Semaphore::new(self.limits.max_connections));
        let refusals = Arc::new(Semaphore::new(REFUSAL_SLOTS));
        let open = Arc::new(OpenConnections::default());
        let refusal_log = Arc::new(RateLimited::new(Duration::from_secs(10)));
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let accepted = tokio::select! {
                accepted = self.tcp.accept() => accepted,
                _ = stop.wait_for(|stopped| *stopped) => break,
                // Reap finished connection tasks as they end.
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, typically: wait instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            match self.slot(&global, &open, peer.ip()).await {
                Ok(slot) => {
                    self.metrics.accepted.inc();
                    let (tls, limits, app, stop) = (self.tls.clone(), self.limits, app.clone(), stop.clone());
                    connections.spawn(serve_connection(stream, peer, tls, limits, app, stop, slot));
                }
                Err(over) => {
                    self.metrics.refuse(over.reason());
                    refusal_log.run(|suppressed| {
                        tracing::warn!(%peer, cap = over.reason(), suppressed, "connection refused: over the cap")
                    });
                    if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
                        let tls = self.tls.clone();
                        tokio::spawn(async move {
                            let _ = tokio::time::timeout(REFUSAL_TIMEOUT, refuse(stream, tls, over)).await;
                            drop(permit);
                        });
                    }
                }
            }
        }
        drop(self.tcp);
        while connections.join_next().await.is_some() {}
    }

    async fn slot(&self, global: &Arc<Semaphore>, open: &Arc<OpenConnections>, ip: IpAddr) -> Result<Slot, OverCap> {
        let key = address_key(ip);
        {
            let per_address = open.per_address.lock().unwrap_or_else(|p| p.into_inner());
            if per_address.get(&key).copied().unwrap_or(0) >= self.limits.max_connections_per_address {
                return Err(OverCap::Address);
            }
        }
        let permit = match Arc::clone(global).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if !open.evict_one() {
                    return Err(OverCap::Total);
                }
                self.metrics.close("evicted");
                tokio::time::timeout(EVICTION_WAIT, Arc::clone(global).acquire_owned())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .ok_or(OverCap::Total)?
            }
        };
        let mut per_address = open.per_address.lock().unwrap_or_else(|p| p.into_inner());
        let count = per_address.entry(key).or_insert(0);
        if *count >= self.limits.max_connections_per_address {
            return Err(OverCap::Address);
        }
        *count += 1;
        drop(per_address);
        let activity = Arc::new(Activity::new());
        let id = open.next_id.fetch_add(1, Ordering::Relaxed);
        open.all.lock().unwrap_or_else(|p| p.into_inner()).insert(id, Arc::clone(&activity));
        self.metrics.open.inc();
        Ok(Slot { open: Arc::clone(open), key, id, activity, _global: permit, metrics: self.metrics.clone() })
    }
}

/// The answer to a connection over a cap.
fn refusal_response(over: OverCap) -> String {
    let body = serde_json::json!({
        "status": "unavailable",
        "message": format!("the collector has too many open connections ({}); retry later", over.reason()),
    })
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: {}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        crate::server::RETRY_AFTER_S,
        body.len()
    )
}

/// Answers `503` and closes. The request the client may already have sent is read and thrown
/// away until it closes its side (bounded by [`REFUSAL_TIMEOUT`] around the call), because
/// closing a socket with unread bytes resets the connection and the client would lose the answer.
async fn refuse(stream: TcpStream, tls: Option<TlsAcceptor>, over: OverCap) {
    let answer = refusal_response(over);
    match tls {
        None => answer_and_close(stream, answer.as_bytes()).await,
        Some(acceptor) => {
            if let Ok(tls_stream) = acceptor.accept(stream).await {
                answer_and_close(tls_stream, answer.as_bytes()).await;
            }
        }
    }
}

async fn answer_and_close<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, answer: &[u8]) {
    if stream.write_all(answer).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    while matches!(stream.read(&mut sink).await, Ok(1..)) {}
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    app: Router,
    stop: watch::Receiver<bool>,
    slot: Slot,
) {
    let activity = Arc::clone(&slot.activity);
    activity.touch();
    let tracked = Tracked { inner: stream, activity: Arc::clone(&activity) };
    match tls {
        None => serve_io(tracked, &activity, limits, app, stop, &slot.metrics).await,
        Some(acceptor) => match tokio::select! {
            handshake = tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(tracked)) => handshake,
            _ = activity.evict.notified() => return,
        } {
            Ok(Ok(tls_stream)) => serve_io(tls_stream, &activity, limits, app, stop, &slot.metrics).await,
            Ok(Err(error)) => {
                slot.metrics.close("tls_error");
                tracing::debug!(%peer, %error, "TLS handshake failed");
            }
            Err(_) => {
                slot.metrics.close("tls_handshake_timeout");
                tracing::debug!(%peer, "TLS handshake timed out");
            }
        },
    }
    drop(slot);
}

async fn serve_io<I>(
    io: I,
    activity: &Arc<Activity>,
    limits: ConnectionLimits,
    app: Router,
    mut stop: watch::Receiver<bool>,
    metrics: &ConnectionMetrics,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let requests = Arc::clone(activity);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let in_flight = InFlight::start(&requests);
        let mut app = app.clone();
        async move {
            let response = app.call(request).await;
            drop(in_flight);
            response
        }
    });
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service).into_owned();
    tokio::pin!(connection);
    let check_every = limits.header_timeout.min(limits.idle_timeout).min(Duration::from_secs(1)) / 2;
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = activity.evict.notified() => return,
            _ = stop.wait_for(|stopped| *stopped), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep(check_every.max(Duration::from_millis(50))) => {
                if activity.expired(&limits) {
                    let reason = if activity.requests.load(Ordering::Acquire) == 0 { "no_request" } else { "idle" };
                    metrics.close(reason);
                    // Dropping the connection closes the socket.
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
