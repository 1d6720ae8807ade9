//! Reading one request with hard bounds: a 16 KiB head that must arrive
//! before the head deadline, a body limit checked before any body byte is
//! read (a declared `Content-Length` is never allocated up front, so a
//! huge one costs nothing), a body deadline, and a process-wide budget
//! for body bytes held in memory.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::conns::Slot;

const MAX_HEAD: usize = 16 * 1024;
/// Header fields a request may have (webhook senders use about ten).
const MAX_HEADERS: usize = 64;

/// One parsed request.
#[derive(Debug)]
pub struct Request {
    /// Upper-case method.
    pub method: String,
    /// Path without query or fragment.
    pub path: String,
    /// Query string (after `?`, before `#`), possibly empty.
    pub query: String,
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

/// Why a request could not be read; answered with `status` and reported.
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

/// Bytes of request data held in memory by all connections together.
#[derive(Debug)]
pub struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Budget {
            used: AtomicUsize::new(0),
            max,
        })
    }

    /// Bytes in use now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// A connection's share of the [`Budget`], given back when dropped.
#[derive(Debug)]
pub struct Held {
    budget: Arc<Budget>,
    n: usize,
}

impl Held {
    pub fn new(budget: Arc<Budget>) -> Self {
        Held { budget, n: 0 }
    }

    fn take(&mut self, n: usize) -> Result<(), BadRequest> {
        let prev = self.budget.used.fetch_add(n, Ordering::Relaxed);
        if prev + n > self.budget.max {
            self.budget.used.fetch_sub(n, Ordering::Relaxed);
            return Err(bad(503, "server busy: request memory budget exhausted"));
        }
        self.n += n;
        Ok(())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.n, Ordering::Relaxed);
    }
}

/// What bounds one read.
pub struct Reader<'a> {
    pub s: &'a mut TcpStream,
    pub slot: &'a Slot,
    pub held: &'a mut Held,
}

impl Reader<'_> {
    /// Appends up to `max` bytes (at most 8 KiB) before `deadline`; 0 at
    /// end of stream. Nothing is allocated until data is there, so an
    /// idle connection costs no buffer.
    async fn read_some(
        &mut self,
        buf: &mut Vec<u8>,
        max: usize,
        deadline: Instant,
        late: &str,
    ) -> Result<usize, BadRequest> {
        loop {
            match tokio::time::timeout_at(deadline, self.s.readable()).await {
                Err(_) => return Err(bad(408, late)),
                Ok(Err(e)) => return Err(bad(400, format!("reading request: {e}"))),
                Ok(Ok(())) => {}
            }
            match try_read_into(self.s, buf, max) {
                Ok(n) => {
                    if n > 0 {
                        self.held.take(n)?;
                        self.slot.touch();
                    }
                    return Ok(n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(bad(400, format!("reading request: {e}"))),
            }
        }
    }
}

/// One non-blocking read of up to `max` bytes (at most 8 KiB) appended to
/// `buf`. A plain function, so its stack buffer is never part of a
/// connection's future (which lives as long as the connection).
fn try_read_into(s: &TcpStream, buf: &mut Vec<u8>, max: usize) -> std::io::Result<usize> {
    let mut chunk = [0u8; 8192];
    let want = max.clamp(1, chunk.len());
    let n = s.try_read(&mut chunk[..want])?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Reads one request. `Ok(None)`: the client closed without sending
/// anything (a port probe), nothing to answer. `max_body` is asked for the
/// body limit once the head is known.
pub async fn read_request(
    r: &mut Reader<'_>,
    peer: SocketAddr,
    head_deadline: Instant,
    body_timeout: std::time::Duration,
    max_body: impl FnOnce(&Request) -> (usize, &'static str),
) -> Result<Option<Request>, BadRequest> {
    const LATE_HEAD: &str = "request head not received in time";
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(bad(431, "request head larger than 16 KiB"));
        }
        let want = MAX_HEAD + 4 - buf.len().min(MAX_HEAD);
        let n = r
            .read_some(&mut buf, want, head_deadline, LATE_HEAD)
            .await?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(bad(400, "connection closed inside the request head"))
            };
        }
    };
    let mut rq = parse_head(&buf[..head_end + 4], peer)?;
    let mut rest = buf.split_off(head_end + 4);
    let (limit, limit_name) = max_body(&rq);
    let deadline = Instant::now() + body_timeout;
    const LATE_BODY: &str = "request body not received in time";
    if rq.header("Transfer-Encoding").is_some() {
        if !rq
            .header("Transfer-Encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
            || rq.header("Content-Length").is_some()
        {
            return Err(bad(400, "unsupported Transfer-Encoding"));
        }
        continue_if_expected(r.s, &rq).await;
        rq.body = read_chunked(r, rest, limit, limit_name, deadline).await?;
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
    if len > limit as u64 {
        return Err(bad(
            413,
            format!("body of {len} bytes is larger than {limit_name} {limit}"),
        ));
    }
    let len = len as usize;
    continue_if_expected(r.s, &rq).await;
    rest.truncate(len);
    while rest.len() < len {
        let want = len - rest.len();
        if r.read_some(&mut rest, want, deadline, LATE_BODY).await? == 0 {
            return Err(bad(400, "connection closed inside the body"));
        }
    }
    rq.body = rest;
    Ok(Some(rq))
}

/// Parses a request head (`raw` ends with its blank line) with `httparse`.
/// On top of it: only HTTP/1.0 and 1.1, a purely alphabetic method, and
/// UTF-8 header values.
fn parse_head(raw: &[u8], peer: SocketAddr) -> Result<Request, BadRequest> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    match req.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad(400, "incomplete request head")),
        Err(httparse::Error::Version) => return Err(bad(505, "unsupported protocol version")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(bad(431, format!("more than {MAX_HEADERS} header fields")))
        }
        Err(httparse::Error::HeaderName) => return Err(bad(400, "malformed header name")),
        Err(e) => return Err(bad(400, format!("malformed request head: {e}"))),
    }
    let (Some(method), Some(target)) = (req.method, req.path) else {
        return Err(bad(400, "malformed request line"));
    };
    if !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad(400, "malformed method"));
    }
    let headers = req
        .headers
        .iter()
        .map(|h| match std::str::from_utf8(h.value) {
            Ok(v) => Ok((h.name.to_owned(), v.trim().to_owned())),
            Err(_) => Err(bad(400, format!("header {} is not UTF-8", h.name))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let target = target.split('#').next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Request {
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: Vec::new(),
        peer,
    })
}

async fn continue_if_expected(s: &mut TcpStream, rq: &Request) {
    if rq
        .header("Expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        let _ = s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body, never holding more than `max` body bytes.
async fn read_chunked(
    r: &mut Reader<'_>,
    mut raw: Vec<u8>,
    max: usize,
    max_name: &str,
    deadline: Instant,
) -> Result<Vec<u8>, BadRequest> {
    const LATE: &str = "request body not received in time";
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(&raw, b"\r\n") {
                break i;
            }
            if raw.len() > 1024 || r.read_some(&mut raw, 1024, deadline, LATE).await? == 0 {
                return Err(bad(400, "malformed chunked body"));
            }
        };
        let size = match httparse::parse_chunk_size(&raw[..line_end + 2]) {
            Ok(httparse::Status::Complete((_, size))) => {
                usize::try_from(size).unwrap_or(usize::MAX)
            }
            _ => return Err(bad(400, "malformed chunk size")),
        };
        if size > max.saturating_sub(body.len()) {
            return Err(bad(413, format!("body larger than {max_name} {max}")));
        }
        raw.drain(..line_end + 2);
        while raw.len() < size + 2 {
            let want = size + 2 - raw.len();
            if r.read_some(&mut raw, want, deadline, LATE).await? == 0 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_splits_path_query_and_headers() {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let rq = parse_head(
            b"GET /a/b?x=1#f HTTP/1.1\r\nHost: h\r\nX-A:  v \r\n\r\n",
            peer,
        )
        .unwrap();
        assert_eq!((rq.method.as_str(), rq.path.as_str()), ("GET", "/a/b"));
        assert_eq!(rq.query, "x=1");
        assert_eq!(rq.header("x-a"), Some("v"));
        for bad_head in [
            (&b"GET / HTTP/2.0\r\n\r\n"[..], 505),
            (b"GET /\r\n\r\n", 400),
            (b"G3T / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nX: \xff\r\n\r\n", 400),
        ] {
            let status = parse_head(bad_head.0, peer).map(|_| ()).unwrap_err().status;
            assert_eq!(status, bad_head.1, "{:?}", bad_head.0);
        }
        let many: String = (0..=MAX_HEADERS).map(|i| format!("H{i}: v\r\n")).collect();
        let head = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(parse_head(head.as_bytes(), peer).unwrap_err().status, 431);
    }
}
