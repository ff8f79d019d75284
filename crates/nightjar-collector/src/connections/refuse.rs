//! The answer to a connection over a cap: `503` with `Retry-After`, read by the client before
//! the connection closes.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// How long answering an over-cap connection may take (handshake and write).
pub(super) const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a connection was not given a slot.
#[derive(Clone, Copy, Debug)]
pub(super) enum OverCap {
    Total,
    Address,
}

impl OverCap {
    pub(super) fn reason(self) -> &'static str {
        match self {
            OverCap::Total => "max_connections",
            OverCap::Address => "max_connections_per_address",
        }
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
pub(super) async fn refuse(stream: TcpStream, tls: Option<TlsAcceptor>, over: OverCap) {
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
