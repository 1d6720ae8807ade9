//! httpd: a small HTTP/1.1 server for receivers that face the internet
//! (nf-webhook) and for the Nightfall emulator.
//!
//! Readiness-based I/O on a small tokio runtime, so a connection that
//! sends nothing, or a byte a second, costs a socket and a few hundred
//! bytes, never a thread. Every connection is bounded:
//! - a cap on open connections; at the cap the idlest one (longest since
//!   its last byte) is closed to make room ([`conns`]);
//! - a deadline for the request head (from the accept) and another for
//!   the body (from the end of the head);
//! - a 16 KiB head, a body limit the service chooses per request and that
//!   is checked before any body byte is read, and a process-wide budget for
//!   request bytes held in memory ([`parse`]);
//! - one request per connection (`Connection: close`).
//!
//! [`Server::shutdown`] stops accepting, closes at once the connections
//! that have not started a request, lets requests in hand finish until a
//! deadline, and then closes whatever is left.

pub mod conns;
pub mod parse;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use parse::{BadRequest, Request};

/// Connections the kernel queues for `accept` (clamped to
/// `net.core.somaxconn`). The standard library's `bind` asks for 128: a
/// burst of a few hundred webhooks then overflows the queue, the kernel
/// falls back to SYN cookies, and a client whose first data segment was
/// dropped has its next one answered with a reset.
pub const LISTEN_BACKLOG: i32 = 4096;

/// A listening TCP socket on the first address `addr` resolves to that
/// can be bound, with [`LISTEN_BACKLOG`] and `SO_REUSEADDR` (a restart
/// is not refused while old connections linger in TIME_WAIT).
pub fn bind(addr: impl std::net::ToSocketAddrs) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        let attempt = (|| {
            let s = Socket::new(Domain::for_address(a), Type::STREAM, Some(Protocol::TCP))?;
            s.set_reuse_address(true)?;
            s.bind(&a.into())?;
            s.listen(LISTEN_BACKLOG)?;
            Ok::<_, io::Error>(std::net::TcpListener::from(s))
        })();
        match attempt {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on")))
}

/// Server limits.
#[derive(Debug, Clone)]
pub struct Config {
    /// Most open connections; at the cap the idlest is closed.
    pub max_connections: usize,
    /// Time from the accept to the end of the request head.
    pub head_timeout: Duration,
    /// Time from the end of the head to the end of the body.
    pub body_timeout: Duration,
    /// Request bytes held in memory by all connections together.
    pub memory_budget: usize,
    /// Event-loop threads.
    pub threads: usize,
}

/// A response; always sent with `Connection: close`.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: body.into().into_bytes(),
        }
    }

    /// An `application/json` response.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// How a service answers a request.
pub enum Reply {
    /// This response, now.
    Now(Response),
    /// A response sent later through the paired [`Replier`].
    Later(tokio::sync::oneshot::Receiver<Response>),
}

/// Sends the response of a [`Reply::Later`].
pub struct Replier(tokio::sync::oneshot::Sender<Response>);

impl Replier {
    /// Sends the response (dropped quietly if the connection is gone).
    pub fn send(self, resp: Response) {
        let _ = self.0.send(resp);
    }
}

impl Reply {
    /// A reply to be sent later, and the handle that sends it.
    pub fn later() -> (Replier, Reply) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (Replier(tx), Reply::Later(rx))
    }

    /// Runs blocking work (disk, outbound HTTP) off the event loop. Only
    /// from inside [`Service::call`].
    pub fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Reply {
        let (tx, reply) = Reply::later();
        tokio::task::spawn_blocking(move || tx.send(f()));
        reply
    }
}

/// What the server serves.
pub trait Service: Send + Sync + 'static {
    /// Largest body accepted for this request (head only) and the name
    /// used in the 413 message (e.g. a flag).
    fn max_body(&self, rq: &Request) -> (usize, &'static str);
    /// Answers a complete request. Runs on the event loop: must not block.
    fn call(&self, rq: Request) -> Reply;
    /// A request refused before it was complete (bad head, too large,
    /// too slow); it is answered with `status` and `why`.
    fn refused(&self, peer: SocketAddr, status: u16, why: &str);
}

struct Shared {
    cfg: Config,
    conns: conns::Registry,
    budget: Arc<parse::Budget>,
    svc: Arc<dyn Service>,
}

/// A running server.
pub struct Server {
    rt: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    stop: tokio::sync::watch::Sender<bool>,
    addr: SocketAddr,
}

impl Server {
    /// Starts serving `listener` on a new runtime.
    pub fn start(
        listener: std::net::TcpListener,
        cfg: Config,
        svc: Arc<dyn Service>,
    ) -> io::Result<Server> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.threads.max(1))
            .max_blocking_threads(64)
            .thread_name("http")
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared {
            conns: conns::Registry::new(cfg.max_connections),
            budget: parse::Budget::new(cfg.memory_budget),
            cfg,
            svc,
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        rt.spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(Server {
            rt,
            shared,
            stop,
            addr,
        })
    }

    /// The listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Open connections now.
    pub fn connections(&self) -> usize {
        self.shared.conns.len()
    }

    /// Request bytes held in memory now.
    pub fn memory_in_use(&self) -> usize {
        self.shared.budget.used()
    }

    /// Stops accepting (the listening socket is closed), closes idle
    /// connections at once, waits for requests in hand until `deadline`,
    /// then closes the rest and stops the runtime. Returns how many
    /// connections were still open at the deadline.
    pub fn shutdown(self, deadline: Instant) -> usize {
        let _ = self.stop.send(true);
        // Again while waiting: a connection accepted just before the
        // listener closed is idle too.
        loop {
            self.shared.conns.close_idle();
            if self.shared.conns.is_empty() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let left = self.shared.conns.len();
        self.shared.conns.close_all();
        self.rt.shutdown_timeout(Duration::from_millis(200));
        left
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped.changed() => break,
        };
        match accepted {
            Ok((s, peer)) => {
                if *stopped.borrow() {
                    break;
                }
                let (slot, _) = shared.conns.add();
                tokio::spawn(connection(shared.clone(), s, peer, slot));
            }
            Err(e) => {
                // Out of descriptors (EMFILE/ENFILE) or a transient error:
                // make room and pause rather than spin.
                if matches!(e.raw_os_error(), Some(23 | 24)) {
                    shared.conns.evict_one();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    // Dropping the listener closes the socket: new connections are refused.
}

async fn connection(
    shared: Arc<Shared>,
    mut s: TcpStream,
    peer: SocketAddr,
    slot: Arc<conns::Slot>,
) {
    let _ = s.set_nodelay(true);
    tokio::select! {
        _ = serve(&shared, &mut s, peer, &slot) => {}
        _ = slot.kill.notified() => {}
    }
    shared.conns.remove(&slot);
}

async fn serve(shared: &Shared, s: &mut TcpStream, peer: SocketAddr, slot: &conns::Slot) {
    let head_deadline = tokio::time::Instant::now() + shared.cfg.head_timeout;
    let mut held = parse::Held::new(shared.budget.clone());
    let read = {
        let mut r = parse::Reader {
            s: &mut *s,
            slot,
            held: &mut held,
        };
        parse::read_request(&mut r, peer, head_deadline, shared.cfg.body_timeout, |rq| {
            shared.svc.max_body(rq)
        })
        .await
    };
    let rq = match read {
        Ok(Some(rq)) => rq,
        Ok(None) => return,
        Err(bad) => {
            shared.svc.refused(peer, bad.status, &bad.why);
            let resp = Response::text(bad.status, format!("{}\n", bad.why));
            write_response(s, &resp, false, true).await;
            return;
        }
    };
    let head_only = rq.method == "HEAD";
    let resp = match shared.svc.call(rq) {
        Reply::Now(r) => r,
        Reply::Later(rx) => rx
            .await
            .unwrap_or_else(|_| Response::text(500, "the request was not answered\n")),
    };
    drop(held);
    write_response(s, &resp, head_only, false).await;
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Writes `resp` and closes the connection. When the request was not read
/// completely (413, 408), the rest is discarded for a moment first, so the
/// client sees the answer instead of a connection reset.
async fn write_response(s: &mut TcpStream, resp: &Response, head_only: bool, unread: bool) {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
    );
    if resp.status != 204 {
        out.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    }
    for (k, v) in &resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only && resp.status != 204 {
        bytes.extend_from_slice(&resp.body);
    }
    let wrote = tokio::time::timeout(Duration::from_secs(5), s.write_all(&bytes)).await;
    if !matches!(wrote, Ok(Ok(()))) {
        return;
    }
    let _ = s.shutdown().await;
    if unread {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            // On the heap: a connection's future lives as long as it does.
            let mut sink = vec![0u8; 16 * 1024];
            let mut total = 0usize;
            while total < 8 * 1024 * 1024 {
                match s.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        })
        .await;
    }
}
