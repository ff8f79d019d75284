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

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use self::activity::{Activity, InFlight, OpenConnections, Slot, Tracked, address_key};
pub use self::metrics::ConnectionMetrics;
use self::refuse::{OverCap, REFUSAL_TIMEOUT, refuse};
use crate::rate_limited::RateLimited;

mod activity;
mod metrics;
mod refuse;

/// How many over-cap connections may be answered `503` at once; past this they are closed.
const REFUSAL_SLOTS: usize = 64;

/// How long a new connection waits for an evicted one to give up its place.
const EVICTION_WAIT: Duration = Duration::from_secs(1);

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
