//! The HTTP face: `GET /ping` for health checks and `POST /ingest` for
//! Nightfall's challenge and signed result notifications. A result is
//! answered 200 only once it is durably in the spool; everything refused
//! gets a 4xx, a stderr line saying why, and emits nothing.
//!
//! Connections are served by the bounded event loop of the `httpd` crate
//! (connection cap, head and body deadlines). A verified result is queued
//! for the committer ([`crate::commit`]), which answers once the result is
//! on disk; the event loop goes on with other connections meanwhile. A
//! full commit queue is answered 503 at once (the disk is behind).

use std::net::SocketAddr;
use std::sync::Arc;

use crossbeam_channel::{Sender, TrySendError};
use httpd::{Reply, Request, Response};
use nfapi::{Challenge, WebhookNotification};

use crate::commit::Ticket;
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
        /// The signature and its expiry; forgotten again if the result
        /// cannot be stored.
        sig: ([u8; 32], u64),
        upload_id: String,
    },
}

/// The webhook as an [`httpd::Service`]: verified results go to the
/// committer through `commits` and are answered once durable.
pub struct Webhook {
    pub ctx: Arc<Ctx>,
    pub commits: Sender<Ticket>,
}

impl httpd::Service for Webhook {
    fn max_body(&self, _rq: &Request) -> (usize, &'static str) {
        (self.ctx.max_body, "--max-body")
    }

    fn refused(&self, peer: SocketAddr, status: u16, why: &str) {
        let kind = match status {
            408 => "too slow",
            413 => "body too large",
            431 => "head too large",
            503 => "busy",
            505 => "unsupported protocol",
            _ => "malformed request",
        };
        self.ctx.rejected(
            peer.ip(),
            kind,
            &format!("rejected request from {peer}: {why}"),
        );
    }

    fn call(&self, rq: Request) -> Reply {
        let ctx = &self.ctx;
        match handle(ctx, &rq) {
            Routed::Now(resp) => Reply::Now(resp),
            Routed::Spool {
                line,
                sig,
                upload_id,
            } => {
                let (replier, reply) = Reply::later();
                let c = ctx.clone();
                let done = Box::new(move |stored: Result<(), &std::io::Error>| {
                    let resp = match stored {
                        Ok(()) => Response::text(200, ""),
                        Err(e) => {
                            c.verifier.forget(&sig.0);
                            c.log(&format!(
                                "storing result for UploadID {upload_id} in the spool: {e}"
                            ));
                            Response::text(503, "could not store the result; try again\n")
                        }
                    };
                    replier.send(resp);
                });
                match self.commits.try_send(Ticket {
                    line,
                    seen: Some(sig),
                    done,
                }) {
                    Ok(()) => {}
                    Err(TrySendError::Full(t)) => {
                        // The disk is behind: refuse rather than queue without bound.
                        (t.done)(Err(&std::io::Error::other("the spool writer is busy")));
                    }
                    Err(TrySendError::Disconnected(t)) => {
                        (t.done)(Err(&std::io::Error::other("the spool writer stopped")));
                    }
                }
                reply
            }
        }
    }
}

/// Routes one complete request.
pub fn handle(ctx: &Ctx, rq: &Request) -> Routed {
    let resp = match (rq.path.as_str(), rq.method.as_str()) {
        ("/ping", "GET" | "HEAD") => Response::text(200, "Hello World"),
        ("/ping", _) => method_not_allowed(ctx, rq, "GET, HEAD"),
        ("/ingest", "POST") => return ingest(ctx, rq),
        ("/ingest", _) => method_not_allowed(ctx, rq, "POST"),
        (p, m) => {
            ctx.rejected(
                rq.peer.ip(),
                "not found",
                &format!("rejected {m} {:?} from {}: not found", truncate(p), rq.peer),
            );
            Response::text(404, "not found\n")
        }
    };
    Routed::Now(resp)
}

/// 405 for a method `rq`'s path does not take (it takes `allow`), logged
/// as a rejection.
fn method_not_allowed(ctx: &Ctx, rq: &Request, allow: &str) -> Response {
    ctx.rejected(
        rq.peer.ip(),
        "method not allowed",
        &format!(
            "rejected {} {} from {}: method not allowed",
            rq.method, rq.path, rq.peer
        ),
    );
    Response::text(405, "method not allowed\n").with_header("Allow", allow)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(100) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn refuse(ctx: &Ctx, rq: &Request, status: u16, kind: &str, why: &str) -> Response {
    ctx.rejected(
        rq.peer.ip(),
        kind,
        &format!("rejected POST /ingest from {}: {why}", rq.peer),
    );
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
        .check(sig, ts, &rq.body, dlp_record::time::unix_now())
    {
        Ok(k) => k,
        Err(rej) => return Routed::Now(refuse(ctx, rq, rej.status, rej.kind, &rej.reason)),
    };
    let notification: WebhookNotification = match serde_json::from_slice(&rq.body) {
        Ok(n) => n,
        Err(e) => {
            return Routed::Now(refuse(
                ctx,
                rq,
                400,
                "not a result notification",
                &format!("signed body is not a result notification: {e}"),
            ))
        }
    };
    let upload_id = notification.upload_id.clone();
    let entry = SpoolEntry {
        accepted_at: dlp_record::time::now_rfc3339(),
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
