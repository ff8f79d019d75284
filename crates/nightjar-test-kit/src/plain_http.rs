//! Plain HTTP/1 on loopback, by hand: a GET as a scraper sends it, and a
//! collector stand-in that misbehaves on purpose (a skewed clock, a dropped
//! connection) where the real collector and [`crate::receiver`] cannot.
//!
//! ```no_run
//! use nightjar_test_kit::plain_http;
//!
//! // Answers every request `204`, and hangs up on none.
//! let port = plain_http::serve(|_request_line| Some("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".into()));
//! let page = plain_http::get(port, "/metrics").expect("an answer");
//! assert!(page.starts_with("HTTP/1.1 204"));
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// GET `path` from `127.0.0.1:port` (HTTP/1.0, so the server closes the
/// connection after its answer); the whole answer, status line first.
pub fn get(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// Serve HTTP on a loopback port from a thread for as long as the test runs;
/// returns the port.
///
/// For each connection the request line and headers are read, then `answer`
/// is called with the request line (`POST /v1/batches HTTP/1.1`): `Some`
/// reads the body and writes the returned bytes as the whole answer; `None`
/// drops the connection unanswered, its body unread (the client sees a reset).
pub fn serve(answer: impl Fn(&str) -> Option<String> + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("a bound listener has an address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let (request_line, body_len) = read_head(&mut reader);
            let Some(response) = answer(&request_line) else { continue };
            let mut body = vec![0; body_len];
            let _ = reader.read_exact(&mut body);
            let _ = reader.into_inner().write_all(response.as_bytes());
        }
    });
    port
}

/// The request line and the `Content-Length` (0 when absent) of the request
/// `reader` holds, read up to the blank line that ends its headers.
fn read_head(reader: &mut impl BufRead) -> (String, usize) {
    let mut request_line = String::new();
    let _ = reader.read_line(&mut request_line);
    let mut body_len = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            body_len = value.trim().parse().unwrap_or(0);
        }
    }
    (request_line.trim_end().to_string(), body_len)
}

#[cfg(test)]
mod tests {
    use super::{get, serve};

    #[test]
    fn an_answer_is_sent_and_a_refusal_is_a_dropped_connection() {
        let port = serve(|request_line| {
            request_line
                .starts_with("GET /yes ")
                .then(|| "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".to_string())
        });
        let answer = get(port, "/yes").expect("an answer");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("\r\n\r\nok"), "{answer}");
        let dropped = get(port, "/no").unwrap_or_default();
        assert_eq!(dropped, "", "no answer to a refused request");
    }
}
