//! The HTTP face: `GET /ping` for health checks and `POST /ingest` for
//! Nightfall's challenge and signed result notifications. A result is
//! answered 200 only once it is durably in the spool; everything refused
//! gets a 4xx, a stderr line saying why, and emits nothing.
//!
//! One acceptor thread hands connections to a fixed pool of handler
//! threads through a bounded queue; a full queue is answered 503 at once.
//! A handler verifies a result and passes it, with its connection, to the
//! committer ([`crate::commit`]), which answers once the result is on disk;
//! the handler goes on to the next connection meanwhile.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use nfapi::{Challenge, WebhookNotification};

use crate::commit::Ticket;
use crate::http::{self, Limits, Request, Response};
use crate::worker::SpoolEntry;
use crate::Ctx;

/// What a request turned into.
#[derive(Debug)]
pub enum Routed {
    /// Answer this now.
    Now(Response),
    /// A verified result: answer once `line` is durably spooled.
    Spool {
        /// The spool line (compact JSON [`SpoolEntry`]).
        line: Vec<u8>,
        /// The signature, forgotten again if the result cannot be stored.
        sig: [u8; 32],
        upload_id: String,
    },
}

/// Time a client has to send a whole request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts until the stop flag is set (then [`http::wake`] unblocks it).
/// Dropping `conns` at the end lets the handlers drain and exit.
pub fn accept_loop(ctx: &Ctx, listener: TcpListener, conns: Sender<(TcpStream, SocketAddr)>) {
    for conn in listener.incoming() {
        if ctx.stopping() {
            break;
        }
        let s = match conn {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: say so, back off a little, go on.
                ctx.log(&format!("accepting a connection: {e}"));
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let Ok(peer) = s.peer_addr() else { continue };
        let _ = s.set_nodelay(true);
        if let Err(TrySendError::Full((s, peer))) = conns.try_send((s, peer)) {
            ctx.log(&format!(
                "busy: refusing connection from {peer} (all handlers occupied)"
            ));
            http::write_response(
                s,
                &Response::text(503, "busy; try again\n").with_header("Retry-After", "1"),
                false,
                true,
            );
        }
    }
}

/// Serves queued connections until the acceptor is gone and the queue is
/// empty. Verified results go to the committer through `commits`.
pub fn handler_loop(
    ctx: &Arc<Ctx>,
    conns: Receiver<(TcpStream, SocketAddr)>,
    commits: Sender<Ticket>,
) {
    let lim = Limits {
        max_body: ctx.max_body,
        timeout: REQUEST_TIMEOUT,
    };
    for (mut s, peer) in conns {
        match http::read_request(&mut s, peer, lim) {
            Ok(None) => {}
            Ok(Some(rq)) => match handle(ctx, &rq) {
                Routed::Now(resp) => http::write_response(s, &resp, rq.method == "HEAD", false),
                Routed::Spool {
                    line,
                    sig,
                    upload_id,
                } => {
                    let c = ctx.clone();
                    let done = Box::new(move |stored: Result<(), &std::io::Error>| {
                        let resp = match stored {
                            Ok(()) => Response::text(200, ""),
                            Err(e) => {
                                c.verifier.forget(&sig);
                                c.log(&format!(
                                    "storing result for UploadID {upload_id} in the spool: {e}"
                                ));
                                Response::text(503, "could not store the result; try again\n")
                            }
                        };
                        http::write_response(s, &resp, false, false);
                    });
                    if let Err(e) = commits.send(Ticket { line, done }) {
                        // Only when the committer has died: answer 503.
                        let t = e.into_inner();
                        (t.done)(Err(&std::io::Error::other("the spool writer stopped")));
                    }
                }
            },
            Err(bad) => {
                ctx.log(&format!("rejected request from {peer}: {}", bad.why));
                http::write_response(
                    s,
                    &Response::text(bad.status, format!("{}\n", bad.why)),
                    false,
                    true,
                );
            }
        }
    }
}

/// Routes one complete request.
pub fn handle(ctx: &Ctx, rq: &Request) -> Routed {
    let resp = match (rq.path.as_str(), rq.method.as_str()) {
        ("/ping", "GET" | "HEAD") => Response::text(200, "Hello World"),
        ("/ping", m) => {
            ctx.log(&format!(
                "rejected {m} /ping from {}: method not allowed",
                rq.peer
            ));
            Response::text(405, "method not allowed\n").with_header("Allow", "GET, HEAD")
        }
        ("/ingest", "POST") => return ingest(ctx, rq),
        ("/ingest", m) => {
            ctx.log(&format!(
                "rejected {m} /ingest from {}: method not allowed",
                rq.peer
            ));
            Response::text(405, "method not allowed\n").with_header("Allow", "POST")
        }
        (p, m) => {
            ctx.log(&format!(
                "rejected {m} {:?} from {}: not found",
                truncate(p),
                rq.peer
            ));
            Response::text(404, "not found\n")
        }
    };
    Routed::Now(resp)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(100) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn refuse(ctx: &Ctx, rq: &Request, status: u16, why: &str) -> Response {
    ctx.log(&format!("rejected POST /ingest from {}: {why}", rq.peer));
    Response::text(status, format!("{why}\n"))
}

fn ingest(ctx: &Ctx, rq: &Request) -> Routed {
    if let Some(challenge) = Challenge::parse(&rq.body) {
        ctx.log(&format!("answered challenge from {}", rq.peer));
        return Routed::Now(Response::text(200, challenge));
    }
    let sig = rq.header("X-Nightfall-Signature");
    let ts = rq.header("X-Nightfall-Timestamp");
    let key = match ctx
        .verifier
        .check(sig, ts, &rq.body, dlp_core::time::unix_now())
    {
        Ok(k) => k,
        Err(rej) => return Routed::Now(refuse(ctx, rq, rej.status, &rej.reason)),
    };
    let notification: WebhookNotification = match serde_json::from_slice(&rq.body) {
        Ok(n) => n,
        Err(e) => {
            return Routed::Now(refuse(
                ctx,
                rq,
                400,
                &format!("signed body is not a result notification: {e}"),
            ))
        }
    };
    let upload_id = notification.upload_id.clone();
    let entry = SpoolEntry {
        accepted_at: dlp_core::time::now_rfc3339(),
        notification,
    };
    // Compact JSON has no raw newline, so it is one line of a batch entry.
    let line = serde_json::to_vec(&entry).expect("spool entry serialises");
    Routed::Spool {
        line,
        sig: key,
        upload_id,
    }
}
