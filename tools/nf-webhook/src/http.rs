//! A deliberately small HTTP/1.1 server for an internet-facing webhook.
//!
//! tiny_http 0.12 (the workspace's server crate) aborts the whole process
//! when a request declares a huge `Content-Length`: dropping the request
//! allocates a buffer of the undelivered length. One unauthenticated
//! request must not kill the receiver, so this module parses requests
//! itself with hard bounds: a 16 KiB head, a body limit checked before
//! reading, a per-request deadline (slow clients cannot pin a thread), one
//! request per connection, and an acceptor that hands connections to a
//! fixed pool of handler threads through a bounded queue.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const MAX_HEAD: usize = 16 * 1024;

/// One parsed request.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// Path without query or fragment.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub peer: SocketAddr,
}

impl Request {
    /// First value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A plain-text response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Response {
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Response {
            status,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Why a request could not be read; answered with `status` and logged.
#[derive(Debug)]
pub struct BadRequest {
    pub status: u16,
    pub why: String,
}

fn bad(status: u16, why: impl Into<String>) -> BadRequest {
    BadRequest {
        status,
        why: why.into(),
    }
}

/// Limits for reading one request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body: usize,
    /// Whole-request deadline (head and body).
    pub timeout: Duration,
}

/// Reads one request from `s`. `Ok(None)`: the client closed without
/// sending anything (a port probe), nothing to answer.
pub fn read_request(
    s: &mut TcpStream,
    peer: SocketAddr,
    lim: Limits,
) -> Result<Option<Request>, BadRequest> {
    let deadline = Instant::now() + lim.timeout;
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(bad(431, "request head larger than 16 KiB"));
        }
        let want = MAX_HEAD + 4 - buf.len().min(MAX_HEAD);
        let n = read_some(s, &mut buf, want, deadline)?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(bad(400, "connection closed inside the request head"))
            };
        }
    };
    let head =
        std::str::from_utf8(&buf[..head_end]).map_err(|_| bad(400, "request head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(400, "malformed request line"));
    };
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(bad(505, format!("unsupported protocol {version:?}")));
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad(400, "malformed method"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            return Err(bad(400, "malformed header line"));
        };
        if k.is_empty() || k.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(bad(400, "malformed header name"));
        }
        headers.push((k.to_owned(), v.trim().to_owned()));
    }
    let mut rq = Request {
        method: method.to_ascii_uppercase(),
        path: target.split(['?', '#']).next().unwrap_or("").to_owned(),
        headers,
        body: Vec::new(),
        peer,
    };
    let mut rest = buf.split_off(head_end + 4);
    if rq.header("Transfer-Encoding").is_some() {
        if !rq
            .header("Transfer-Encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
            || rq.header("Content-Length").is_some()
        {
            return Err(bad(400, "unsupported Transfer-Encoding"));
        }
        continue_if_expected(s, &rq);
        rq.body = read_chunked(s, rest, lim.max_body, deadline)?;
        return Ok(Some(rq));
    }
    let mut lengths = rq
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
        .map(|(_, v)| v);
    let len = match (lengths.next(), lengths.next()) {
        (None, _) => 0,
        (Some(v), None) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse::<u64>().unwrap_or(u64::MAX)
        }
        _ => return Err(bad(400, "malformed or repeated Content-Length")),
    };
    if len > lim.max_body as u64 {
        return Err(bad(
            413,
            format!(
                "body of {len} bytes is larger than --max-body {}",
                lim.max_body
            ),
        ));
    }
    let len = len as usize;
    continue_if_expected(s, &rq);
    rest.truncate(len);
    while rest.len() < len {
        let want = len - rest.len();
        if read_some(s, &mut rest, want, deadline)? == 0 {
            return Err(bad(400, "connection closed inside the body"));
        }
    }
    rq.body = rest;
    Ok(Some(rq))
}

fn continue_if_expected(s: &mut TcpStream, rq: &Request) {
    if rq
        .header("Expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        let _ = s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Appends up to `max` bytes; 0 at end of stream.
fn read_some(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    max: usize,
    deadline: Instant,
) -> Result<usize, BadRequest> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(bad(408, "request not received in time"));
    }
    let _ = s.set_read_timeout(Some(left));
    let mut chunk = [0u8; 8192];
    let want = max.clamp(1, chunk.len());
    match s.read(&mut chunk[..want]) {
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Err(bad(408, "request not received in time"))
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(read_some(s, buf, max, deadline)?),
        Err(e) => Err(bad(400, format!("reading request: {e}"))),
    }
}

/// Decodes a chunked body, never holding more than `max` body bytes.
fn read_chunked(
    s: &mut TcpStream,
    mut raw: Vec<u8>,
    max: usize,
    deadline: Instant,
) -> Result<Vec<u8>, BadRequest> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(&raw, b"\r\n") {
                break i;
            }
            if raw.len() > 1024 || read_some(s, &mut raw, 1024, deadline)? == 0 {
                return Err(bad(400, "malformed chunked body"));
            }
        };
        let size_text = std::str::from_utf8(&raw[..line_end])
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| bad(400, "malformed chunk size"))?;
        if size > max.saturating_sub(body.len()) {
            return Err(bad(413, format!("body larger than --max-body {max}")));
        }
        raw.drain(..line_end + 2);
        while raw.len() < size + 2 {
            let want = size + 2 - raw.len();
            if read_some(s, &mut raw, want, deadline)? == 0 {
                return Err(bad(400, "connection closed inside a chunk"));
            }
        }
        if size == 0 {
            // Trailers are not used by webhook senders; ignore what came.
            return Ok(body);
        }
        if &raw[size..size + 2] != b"\r\n" {
            return Err(bad(400, "malformed chunk"));
        }
        body.extend_from_slice(&raw[..size]);
        raw.drain(..size + 2);
    }
}

/// Writes `resp` and closes the connection. When the request was not read
/// completely (413, 408), the rest is discarded for a moment first, so the
/// client sees the answer instead of a connection reset.
pub fn write_response(mut s: TcpStream, resp: &Response, head_only: bool, unread: bool) {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        reason(resp.status),
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(&resp.body);
    }
    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
    if s.write_all(out.as_bytes()).is_err() {
        return;
    }
    let _ = s.shutdown(Shutdown::Write);
    if unread {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut sink = [0u8; 16 * 1024];
        let mut total = 0usize;
        while Instant::now() < deadline && total < 8 * 1024 * 1024 {
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            match s.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    }
}

/// Wakes an acceptor blocked in `accept` on `addr` (after the stop flag is set).
pub fn wake(addr: SocketAddr) {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(if a.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let _ = TcpStream::connect_timeout(&a, Duration::from_secs(1));
}
