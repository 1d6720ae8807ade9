//! nats-post's transport: one spooled batch, published to a JetStream
//! stream and acknowledged record by record.
//!
//! The outbox (`crates/outbox`) delivers the spool's batches in order,
//! retries with back-off and dead-letters; this file makes sure the server
//! is reachable and the stream exists, addresses each record (subject and
//! message id, [`crate::subject`]), sets aside what can never be one
//! message on this server (over its `max_payload`), publishes the rest
//! ([`crate::publish`]) and says which records JetStream acknowledged
//! (`Outcome::Partial`), so the spool keeps only the others. A subject
//! that another stream owns stops delivery (`Outcome::Stop`): no retry can
//! fix it, and what is not delivered stays spooled.
//!
//! The async client runs on a tokio runtime with a thread of its own, so
//! it keeps reading, pinging and reconnecting while the outbox waits
//! between attempts; each `send` blocks the outbox's thread on it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use crossbeam_channel::Sender;
use dlp_core::SharedOutput;
use dlp_nats::async_nats;
use outbox::{Attempt, Entry, Event, Outcome, Transport};
use serde_json::{json, Value};

use crate::cli::Config;
use crate::input::Msg;
use crate::publish::{self, Message};
use crate::{entry, subject};

/// Headers and framing a message adds to its payload on the wire
/// (`Nats-Msg-Id`, `Nats-Expected-Stream` and the header preamble), kept
/// generous: what counts against the server's max_payload.
const HEADER_ROOM: usize = 256;

/// How long the first connection may take before batches are said to wait.
const FIRST_CONNECT: Duration = Duration::from_secs(2);

/// The outbox settings: a short back-off, since the client reconnects by
/// itself and a node restart takes seconds; never dead-lettered for age.
pub fn options() -> outbox::Options {
    outbox::Options {
        name: "nats-post",
        first_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(2),
        dead_letter_after: None,
    }
}

/// The transport: the connection, and where its log goes.
pub struct Jetstream {
    rt: Option<tokio::runtime::Runtime>,
    link: Link,
    out: Arc<SharedOutput>,
    spool_dir: PathBuf,
    /// Raised, and the main loop woken, when delivery stops.
    stopped: Arc<AtomicBool>,
    wake: Sender<Msg>,
    /// Duplicates and highest stream sequence of the last attempt.
    last: (usize, u64),
}

/// The client and what is known of the stream.
struct Link {
    cfg: Arc<Config>,
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    /// The stream is known to exist (checked again after it went missing).
    stream_ready: bool,
    started: Instant,
}

impl Jetstream {
    /// Starts the runtime and the client (which connects in the
    /// background: servers down at start are not an error).
    pub fn connect(
        cfg: Arc<Config>,
        out: Arc<SharedOutput>,
        spool_dir: PathBuf,
        stopped: Arc<AtomicBool>,
        wake: Sender<Msg>,
    ) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("nats")
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let client = rt.block_on(cfg.conn.connect())?;
        let js = {
            // The context spawns its acknowledgement task on the runtime.
            let _in_rt = rt.enter();
            async_nats::jetstream::context::ContextBuilder::new()
                .timeout(cfg.timeout)
                .max_ack_inflight(cfg.batch.max(1024) * 2)
                .backpressure_on_inflight(true)
                .build(client.clone())
        };
        Ok(Jetstream {
            rt: Some(rt),
            link: Link {
                cfg,
                client,
                js,
                stream_ready: false,
                started: Instant::now(),
            },
            out,
            spool_dir,
            stopped,
            wake,
            last: (0, 0),
        })
    }

    /// A `delivered` record: `records` acknowledged by the last attempt.
    fn delivered(&self, key: &str, records: u64, attempt: Attempt) -> Value {
        json!({
            "status": "delivered",
            "records": records,
            "duplicates": self.last.0,
            "stream": self.link.cfg.stream,
            "seq": self.last.1,
            "attempts": attempt.number,
            "latency_ms": attempt.latency.as_millis() as u64,
            "timestamp": dlp_core::time::now_rfc3339(),
            "batch": key,
        })
    }

    /// Says on stderr where refused records were kept and how to re-feed them.
    fn set_aside(&self, records: u64, error: &str, dead_letter: &std::path::Path) {
        let dead = dead_letter.display();
        eprintln!(
            "nats-post: {records} {} set aside in {dead} ({error}); the rest is delivered. Once that is fixed, re-feed it (with another spool while this one is in use): nats-post --stream {} --spool {}-refeed < {dead} && rm {dead}",
            if records == 1 { "record" } else { "records" },
            self.link.cfg.stream,
            self.spool_dir.display(),
        );
    }
}

impl Transport for Jetstream {
    fn send(&mut self, entry: &Entry) -> Outcome {
        self.last = (0, 0);
        let data = match entry.read() {
            Ok(d) => d,
            Err(e) => {
                return Outcome::Retry {
                    after: None,
                    error: format!("reading spool entry {}: {e}", entry.key()),
                }
            }
        };
        let Some(rt) = &self.rt else {
            return Outcome::Stop("the async runtime is gone".into());
        };
        rt.block_on(self.link.send(entry, &data, &mut self.last))
    }

    fn report(&mut self, event: Event<'_>) {
        let now = dlp_core::time::now_rfc3339();
        let rec = match event {
            Event::Delivered {
                key,
                records,
                attempt,
            } => self.delivered(key, records, attempt),
            Event::Partial {
                key,
                delivered,
                attempt,
                ..
            } => self.delivered(key, delivered, attempt),
            Event::Up => {
                eprintln!(
                    "nats-post: {} reachable again; publishing the spool",
                    self.link.cfg.conn.shown()
                );
                return;
            }
            Event::Down { error } => {
                eprintln!(
                    "nats-post: {error}; batches wait in {} and are retried",
                    self.spool_dir.display()
                );
                return;
            }
            Event::Spooled {
                key,
                records,
                error,
                ..
            } => json!({
                "status": "spooled", "records": records, "error": error,
                "timestamp": now, "batch": key,
            }),
            Event::Failed {
                key,
                records,
                error,
                dead_letter,
                ..
            } => {
                self.set_aside(records, error, dead_letter);
                json!({
                    "status": "failed", "records": records, "error": error,
                    "dead_letter": dead_letter.display().to_string(),
                    "timestamp": now, "batch": key,
                })
            }
            Event::Left { key, records } => json!({
                "status": "spooled", "records": records, "attempts": 0,
                "timestamp": now, "batch": key,
            }),
            Event::Stopped { .. } => {
                self.stopped.store(true, Ordering::SeqCst);
                let _ = self.wake.send(Msg::Wake);
                return;
            }
            // nats-post never answers TooLarge: records over max_payload
            // are set aside one by one.
            Event::Split { .. } => return,
        };
        let _ = self.out.batch(|w| w.record(&rec));
    }
}

impl Drop for Jetstream {
    /// Acknowledged publishes are in; make sure nothing of ours sits in
    /// the client's buffer at exit (when connected: a flush would wait for
    /// a server otherwise), then let the runtime go.
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            if self.link.connected() {
                let client = &self.link.client;
                let _ = rt.block_on(async {
                    tokio::time::timeout(Duration::from_secs(1), client.flush()).await
                });
            }
            rt.shutdown_background();
        }
    }
}

/// An entry's records as messages, with their indexes in the entry, and
/// why the others can never be published (none: every record can).
struct Batch<'a> {
    index: Vec<usize>,
    messages: Vec<Message<'a>>,
    refused: Option<String>,
}

impl Link {
    fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Waits for the first connection a moment, then makes sure the stream
    /// exists; the outcome to give when nothing can be published now.
    async fn ready(&mut self) -> Result<(), Outcome> {
        while !self.connected() && self.started.elapsed() < FIRST_CONNECT {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !self.connected() {
            return Err(retry(format!(
                "no server reachable at {}",
                self.cfg.conn.shown()
            )));
        }
        if !self.stream_ready {
            match publish::ensure_stream(&self.js, &self.cfg).await {
                Ok(()) => self.stream_ready = true,
                // Another stream owns these subjects: no retry helps.
                Err(why) if why.contains("overlap") => {
                    return Err(Outcome::Stop(format!(
                        "{why} (name the stream that owns them with --stream, or choose another --subject)"
                    )))
                }
                Err(why) => return Err(retry(why)),
            }
        }
        Ok(())
    }

    /// The records of `entry` (content `data`) as messages for a server
    /// that takes at most `max_payload` bytes (0: no limit).
    fn batch<'a>(&self, entry: &Entry, data: &'a [u8], max_payload: usize) -> Batch<'a> {
        let mut b = Batch {
            index: Vec::with_capacity(entry.records() as usize),
            messages: Vec::with_capacity(entry.records() as usize),
            refused: None,
        };
        let (mut biggest, mut unreadable) = (0, None);
        let mut take = |i: usize, m: Message<'a>| {
            if max_payload == 0 || m.payload.len() + HEADER_ROOM <= max_payload {
                b.index.push(i);
                b.messages.push(m);
            } else {
                biggest = biggest.max(m.payload.len());
            }
        };
        if entry.is_lines() {
            for (i, line) in outbox::lines(data).enumerate() {
                match subject::address(line, &self.cfg.template, &self.cfg.host) {
                    Ok((subject, id)) => take(
                        i,
                        Message {
                            subject,
                            id,
                            payload: line,
                        },
                    ),
                    Err(why) => unreadable = Some(format!("a spooled record is not one: {why}")),
                }
            }
        } else {
            // An entry of an earlier version, addressed when it was spooled.
            match entry::decode(data, entry.records()) {
                Some(msgs) => msgs.into_iter().enumerate().for_each(|(i, m)| take(i, m)),
                None => unreadable = Some("spool entry of an earlier version is corrupt".into()),
            }
        }
        let too_big = (biggest > 0).then(|| {
            format!(
                "larger than the server's max_payload ({max_payload} bytes; the largest is {biggest} bytes): raise max_payload on every server"
            )
        });
        b.refused = match (too_big, unreadable) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        b
    }

    /// Publishes what can be and says which records were acknowledged.
    async fn send(&mut self, entry: &Entry, data: &[u8], last: &mut (usize, u64)) -> Outcome {
        if let Err(o) = self.ready().await {
            return o;
        }
        let max_payload = self.client.server_info().max_payload;
        let b = self.batch(entry, data, max_payload);
        if b.messages.is_empty() {
            return Outcome::Permanent(b.refused.unwrap_or_else(|| "no record".into()));
        }
        let acks = publish::batch(&self.js, &self.cfg, &b.messages).await;
        *last = (acks.duplicates, acks.seq);
        let rest = if acks.failed.is_empty() {
            match b.refused {
                None => return Outcome::Delivered,
                Some(why) => Outcome::Permanent(why),
            }
        } else {
            let why = acks.error.unwrap_or_else(|| "not acknowledged".into());
            if acks.wrong_stream {
                Outcome::Stop(why)
            } else {
                if why.contains("no stream stores") {
                    self.stream_ready = false;
                }
                retry(why)
            }
        };
        let failed: HashSet<usize> = acks.failed.into_iter().collect();
        let delivered = (b.index.iter().enumerate())
            .filter(|(j, _)| !failed.contains(j))
            .map(|(_, &i)| i)
            .collect();
        Outcome::Partial {
            delivered,
            rest: Box::new(rest),
        }
    }
}

fn retry(error: String) -> Outcome {
    Outcome::Retry { after: None, error }
}
