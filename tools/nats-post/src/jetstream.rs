//! nats-post's transport: one spooled batch, published to a JetStream
//! stream and acknowledged record by record.
//!
//! The outbox (`crates/outbox`) delivers the spool's batches in order,
//! retries with back-off and dead-letters; this file hands each batch to
//! the [`crate::link`] (server and stream ready, each record read with the
//! subject and message id it was spooled with, what is over the server's
//! `max_payload` set aside, the rest published, and which records
//! JetStream acknowledged said as `Outcome::Partial`, so the spool keeps
//! only the others; a subject another stream owns stops delivery,
//! `Outcome::Stop`) and writes what the outbox did as delivery
//! records on stdout and notes on stderr.
//!
//! The async client runs on a tokio runtime with a thread of its own, so
//! it keeps reading, pinging and reconnecting while the outbox waits
//! between attempts; each `send` blocks the outbox's thread on it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use crossbeam_channel::Sender;
use dlp_nats::async_nats;
use dlp_runtime::SharedOutput;
use outbox::{Attempt, Entry, Event, Outcome, Transport};
use serde_json::{json, Value};

use crate::cli::Config;
use crate::input::Msg;
use crate::link::Link;

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
            link: Link::new(cfg, client, js),
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
            "timestamp": dlp_record::time::now_rfc3339(),
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
            // Messages are slices of it, not copies.
            Ok(d) => bytes::Bytes::from(d),
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
        let now = dlp_record::time::now_rfc3339();
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
