//! A small real collector stand-in for tests: an HTTP server on a loopback
//! port that checks every request against `schemas/wire-protocol-v1.md`
//! (headers, token, Arrow IPC body via `nightjar_record::wire::decode`, rows
//! via `check_rows`), records what it stored by (sensor, seq), and answers
//! as the wire doc says — or as a test scripts it to (503, 422, 413…).
//!
//! `Receiver::start` serves from the test's runtime; `Receiver::start_in_netns`
//! serves from a thread that entered a network namespace (for the end-to-end
//! test, where the sensor runs in that namespace).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow::record_batch::RecordBatch;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use nightjar_record::wire::{self, DecodeLimits};

/// An answer a test forces.
#[derive(Clone, Debug)]
pub struct Scripted {
    /// HTTP status.
    pub status: u16,
    /// The body's `status` word.
    pub word: &'static str,
    /// `Retry-After` seconds, when sent.
    pub retry_after: Option<u64>,
}

impl Scripted {
    /// `503` with `Retry-After: retry_after`.
    pub fn unavailable(retry_after: u64) -> Scripted {
        Scripted { status: 503, word: "unavailable", retry_after: Some(retry_after) }
    }
    /// `422`: the batch is refused for good.
    pub fn rejected() -> Scripted {
        Scripted { status: 422, word: "rejected", retry_after: None }
    }
    /// `413`: the body is over the limit.
    pub fn too_large() -> Scripted {
        Scripted { status: 413, word: "too_large", retry_after: None }
    }
    /// `409`: a different batch was stored under this (sensor, seq) before.
    pub fn conflict() -> Scripted {
        Scripted { status: 409, word: "conflict", retry_after: None }
    }
}

/// One request to `/v1/batches` and the status it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The batch sequence number.
    pub seq: u64,
    /// The HTTP status answered.
    pub status: u16,
    /// Rows in the batch (0 when it did not decode).
    pub rows: usize,
}

/// What the receiver holds and was told to answer; read and changed through [`Receiver::with`].
#[derive(Default)]
pub struct Inner {
    /// Answers for the next requests, in order, before any checking.
    pub script: VecDeque<Scripted>,
    /// Final answers forced for particular sequence numbers.
    pub per_seq: BTreeMap<u64, Scripted>,
    /// Refuse batches with more rows than this with 413.
    pub max_rows: Option<usize>,
    /// Stored batches by seq.
    pub stored: BTreeMap<u64, Vec<RecordBatch>>,
    /// Every batch request, in arrival order.
    pub requests: Vec<Request>,
    /// Heartbeat bodies.
    pub heartbeats: Vec<serde_json::Value>,
    /// Wire-format violations (answers the sensor must never provoke).
    pub problems: Vec<String>,
}

/// State shared by the test and the serving task.
pub struct Shared {
    /// The bearer token a request must carry.
    pub token: String,
    /// The sensor id a request must claim.
    pub sensor: String,
    /// Everything else.
    pub inner: Mutex<Inner>,
}

/// A running receiver.
pub struct Receiver {
    /// Where it listens.
    pub address: SocketAddr,
    /// What it holds, shared with the serving task.
    pub shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Serve on a free port of 127.0.0.1 from the current tokio runtime.
    pub async fn start(sensor: &str, token: &str) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind the test receiver");
        Receiver::from_listener(listener, sensor, token)
    }

    /// Serve from `listener` (a port the test reserved before, see
    /// [`crate::ports::ReservedPort::listen`]) from the current tokio runtime.
    pub fn start_on(listener: std::net::TcpListener, sensor: &str, token: &str) -> Receiver {
        listener.set_nonblocking(true).expect("a listening socket can be made non-blocking");
        let listener = tokio::net::TcpListener::from_std(listener).expect("called inside a tokio runtime");
        Receiver::from_listener(listener, sensor, token)
    }

    fn from_listener(listener: tokio::net::TcpListener, sensor: &str, token: &str) -> Receiver {
        let address = listener.local_addr().expect("a bound listener has an address");
        let shared = Arc::new(Shared { token: token.into(), sensor: sensor.into(), inner: Mutex::default() });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(serve(listener, Arc::clone(&shared), stopped));
        Receiver { address, shared, stop: Some(stop), thread: None }
    }

    /// Serve on 127.0.0.1 inside the network namespace `netns` (a name under
    /// /var/run/netns), from a thread of its own.
    pub fn start_in_netns(netns: &str, sensor: &str, token: &str) -> Receiver {
        let path = format!("/var/run/netns/{netns}");
        let shared = Arc::new(Shared { token: token.into(), sensor: sensor.into(), inner: Mutex::default() });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            use std::os::fd::AsRawFd;
            let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            // SAFETY: setns on an fd we own; it moves only this thread.
            let entered = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(entered, 0, "setns into {path}: {}", std::io::Error::last_os_error());
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind in the namespace");
                ready_tx.send(listener.local_addr().unwrap()).unwrap();
                serve(listener, thread_shared, stopped).await;
            });
        });
        let address = ready_rx.recv_timeout(Duration::from_secs(10)).expect("the receiver starts in the namespace");
        Receiver { address, shared, stop: Some(stop), thread: Some(thread) }
    }

    /// `http://ADDRESS`, the sensor's `uplink.url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Run `f` on the receiver's state under its lock.
    pub fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.shared.inner.lock().unwrap())
    }

    /// Rows stored, over all batches.
    pub fn stored_rows(&self) -> usize {
        self.with(|i| i.stored.values().flatten().map(RecordBatch::num_rows).sum())
    }

    /// Wait until `done` holds, at most `timeout`.
    pub async fn wait_until(&self, timeout: Duration, what: &str, done: impl Fn(&Inner) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.with(|i| done(i)) {
                return;
            }
            assert!(Instant::now() < deadline, "receiver: timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Blocking form of [`wait_until`](Self::wait_until), for tests without a runtime.
    pub fn wait_until_blocking(&self, timeout: Duration, what: &str, done: impl Fn(&Inner) -> bool) {
        let deadline = Instant::now() + timeout;
        while !self.with(|i| done(i)) {
            assert!(Instant::now() < deadline, "receiver: timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop serving (the port closes).
    pub fn stop(mut self) -> Arc<Shared> {
        self.shutdown();
        Arc::clone(&self.shared)
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>, stopped: tokio::sync::oneshot::Receiver<()>) {
    let app =
        Router::new().route("/v1/batches", post(batches)).route("/v1/heartbeat", post(heartbeat)).with_state(shared);
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        .await;
}

fn answer(status: u16, word: &str, message: &str, retry_after: Option<u64>, rows: Option<usize>) -> Response {
    let mut body = serde_json::json!({ "status": word, "message": message });
    if let Some(rows) = rows {
        body["rows"] = rows.into();
    }
    let mut response = (StatusCode::from_u16(status).unwrap(), body.to_string()).into_response();
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    if let Some(seconds) = retry_after {
        response.headers_mut().insert("retry-after", seconds.to_string().parse().unwrap());
    }
    response
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn batches(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = shared.inner.lock().unwrap();
    let seq = header(&headers, wire::HEADER_BATCH_SEQ).and_then(|s| s.parse::<u64>().ok());
    let refuse = |inner: &mut Inner, status: u16, word: &str, message: String| {
        inner.problems.push(format!("seq {seq:?}: {status} {message}"));
        inner.requests.push(Request { seq: seq.unwrap_or(u64::MAX), status, rows: 0 });
        answer(status, word, &message, None, None)
    };
    if header(&headers, "authorization") != Some(&format!("Bearer {}", shared.token)) {
        return refuse(&mut inner, 401, "unauthorized", "bad or missing token".into());
    }
    if header(&headers, wire::HEADER_SENSOR) != Some(shared.sensor.as_str()) {
        return refuse(&mut inner, 403, "forbidden", "the token belongs to another sensor".into());
    }
    if header(&headers, "content-type") != Some(wire::CONTENT_TYPE) {
        return refuse(&mut inner, 415, "unsupported", "content type".into());
    }
    let zstd = match header(&headers, "content-encoding") {
        Some(wire::ENCODING_ZSTD) => true,
        None => false,
        Some(other) => return refuse(&mut inner, 415, "unsupported", format!("encoding {other}")),
    };
    if header(&headers, wire::HEADER_SCHEMA_VERSION) != Some("1") {
        return refuse(&mut inner, 415, "unsupported", "schema version".into());
    }
    let Some(seq) = seq else {
        return refuse(&mut inner, 400, "invalid", "Nightjar-Batch-Seq is not a u64".into());
    };
    if let Some(scripted) = inner.script.pop_front().or_else(|| inner.per_seq.get(&seq).cloned()) {
        inner.requests.push(Request { seq, status: scripted.status, rows: 0 });
        return answer(scripted.status, scripted.word, "scripted by the test", scripted.retry_after, None);
    }
    let batches = match wire::decode(&body, zstd, DecodeLimits::default()) {
        Ok(batches) => batches,
        Err(e) => return refuse(&mut inner, 400, "invalid", e.to_string()),
    };
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if inner.max_rows.is_some_and(|max| rows > max) {
        inner.requests.push(Request { seq, status: 413, rows });
        return answer(413, "too_large", "too many rows for this test", None, None);
    }
    let now_us = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as i64;
    let (earliest, latest) = (now_us - 7 * 86_400 * 1_000_000, now_us + 600 * 1_000_000);
    let expect =
        wire::RowExpectations { sensor: &shared.sensor, batch_seq: seq, earliest_us: earliest, latest_us: latest };
    if let Err(e) = wire::check_rows(&batches, &expect) {
        return refuse(&mut inner, 422, "rejected", e.to_string());
    }
    if inner.stored.contains_key(&seq) {
        inner.requests.push(Request { seq, status: 200, rows });
        return answer(200, "duplicate", "stored before", None, None);
    }
    inner.stored.insert(seq, batches);
    inner.requests.push(Request { seq, status: 200, rows });
    answer(200, "stored", "ok", None, Some(rows))
}

async fn heartbeat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = shared.inner.lock().unwrap();
    if header(&headers, "authorization") != Some(&format!("Bearer {}", shared.token)) {
        inner.problems.push("heartbeat without the token".into());
        return answer(401, "unauthorized", "bad token", None, None);
    }
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) if value["sensor"] == shared.sensor.as_str() => {
            inner.heartbeats.push(value);
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(value) => {
            inner.problems.push(format!("heartbeat for another sensor: {value}"));
            answer(403, "forbidden", "sensor", None, None)
        }
        Err(e) => {
            inner.problems.push(format!("heartbeat is not JSON: {e}"));
            answer(400, "invalid", "json", None, None)
        }
    }
}
