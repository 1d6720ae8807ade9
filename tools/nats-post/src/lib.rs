//! `nats-post`: NDJSON records to a NATS JetStream stream, the fleet
//! transport from every endpoint to the centre.
//!
//! The [`input`] thread reads records, addresses them ([`subject`]) and
//! spools them in batches ([`entry`]); the main task connects
//! ([`dlp_nats`]), makes sure the stream exists and publishes the spooled
//! batches in order ([`publish`]), removing each from the spool once
//! JetStream has acknowledged all of its records, and logging one
//! delivery record per batch on stdout. Flags are validated in [`cli`].

pub mod cli;
pub mod entry;
pub mod input;
pub mod publish;
pub mod subject;

use std::collections::{HashSet, VecDeque};
use std::io::Stdout;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use dlp_nats::async_nats;
use dlp_runtime::backoff::Backoff;
use dlp_runtime::{signals, ExitCode, RecordWriter};
use dlp_store::spool::Spool;
use serde_json::json;
use tokio::sync::mpsc::{error::TryRecvError, UnboundedReceiver};

use crate::cli::Config;
use crate::input::Msg;

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <cli::Args as clap::CommandFactory>::command()
}

/// Process entry point.
pub fn main() -> std::process::ExitCode {
    let args: cli::Args = dlp_runtime::cli::parse("nats-post", command());
    dlp_runtime::run_main("nats-post", || {
        let input = dlp_runtime::cli::Inputs::open(&args.files)?;
        let cfg = args.into_config(|k| std::env::var(k).ok())?;
        run(cfg, input)
    })
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Runs the tool over `input` with a validated configuration.
pub fn run(cfg: Config, input: impl std::io::Read + Send + 'static) -> anyhow::Result<ExitCode> {
    signals::install().context("installing signal handlers")?;
    // Spool::open takes the spool's lock: two instances never publish the
    // same entries.
    let spool = Spool::open(&cfg.spool)
        .with_context(|| format!("opening spool {}", cfg.spool.display()))?;
    let pending = spool
        .list()
        .with_context(|| format!("listing spool {}", cfg.spool.display()))?;
    if !pending.is_empty() {
        eprintln!(
            "nats-post: {} from an earlier run pending in {}; publishing them first",
            count(pending.len() as u64, "batch", "batches"),
            cfg.spool.display()
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let wake = tx.clone();
    signals::on_signal(move || {
        let _ = wake.send(Msg::Wake);
    });
    let rejects = dlp_runtime::Rejects::new("nats-post", cfg.strict);
    let cfg = Arc::new(cfg);
    input::spawn(input, cfg.clone(), spool.clone(), tx, rejects.clone());
    let mut p = Publisher {
        cfg: &cfg,
        spool: &spool,
        rx,
        queue: pending.into(),
        out: RecordWriter::new(std::io::stdout()),
        out_closed: false,
        announced: HashSet::new(),
        eof_at: None,
        fatal: None,
        set_aside: false,
    };
    let left = rt.block_on(p.run())?;
    let mut code = ExitCode::from_rejected(rejects.count() > 0 || p.set_aside);
    let interrupted = signals::requested();
    if left.0 > 0 {
        eprintln!(
            "nats-post: {} in {} not acknowledged{}; they stay in {} and are sent first on the next start",
            count(left.1, "record", "records"),
            count(left.0, "batch", "batches"),
            if interrupted || p.out_closed { "" } else { " within --max-retry-time" },
            spool.dir().display()
        );
        if !interrupted && !p.out_closed {
            code = ExitCode::Rejected;
        }
    }
    if let Some(why) = p.fatal {
        bail!("{why}");
    }
    if p.out_closed {
        return Ok(ExitCode::Ok);
    }
    Ok(code)
}

struct Publisher<'a> {
    cfg: &'a Config,
    spool: &'a Spool,
    rx: UnboundedReceiver<Msg>,
    queue: VecDeque<String>,
    out: RecordWriter<Stdout>,
    out_closed: bool,
    announced: HashSet<String>,
    /// When the input ended (EOF, a signal, a fatal error).
    eof_at: Option<Instant>,
    fatal: Option<String>,
    /// Set when a record was set aside as too large: exit status 1.
    set_aside: bool,
}

/// Headers and framing a message adds to its payload on the wire
/// (`Nats-Msg-Id`, `Nats-Expected-Stream` and the header preamble), kept
/// generous: what counts against the server's max_payload.
const HEADER_ROOM: usize = 256;

/// The publishing loop's state across attempts.
struct Progress {
    backoff: Backoff,
    /// The stream is known to exist (checked once per connection problem).
    stream_ready: bool,
    /// The current outage, said once on stderr.
    down: Option<String>,
    /// Attempts on the current queue front.
    attempts: u32,
    started: Instant,
}

impl Publisher<'_> {
    fn handle(&mut self, m: Msg) {
        match m {
            Msg::Batch(k) => self.queue.push_back(k),
            Msg::Eof => {
                self.eof_at.get_or_insert_with(Instant::now);
            }
            Msg::Fatal(why) => {
                self.fatal = Some(why);
                self.eof_at.get_or_insert_with(Instant::now);
            }
            Msg::Wake => {}
        }
    }

    /// Takes whatever the reader has sent, without waiting.
    fn poll_input(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(m) => self.handle(m),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.eof_at.get_or_insert_with(Instant::now);
                    break;
                }
            }
        }
    }

    /// When to give up on what is left: `--grace` after a signal or a
    /// closed stdout, `--max-retry-time` after end of input.
    fn deadline(&self) -> Option<Instant> {
        let eof = self.eof_at?;
        Some(if signals::requested() || self.out_closed {
            eof + self.cfg.grace
        } else {
            eof + self.cfg.max_retry_time
        })
    }

    fn log(&mut self, rec: serde_json::Value) {
        if self.out_closed {
            return;
        }
        if let Err(e) = self.out.record(&rec).and_then(|_| self.out.flush()) {
            if !dlp_runtime::is_broken_pipe(&e) && self.fatal.is_none() {
                self.fatal = Some(format!("writing output: {e:#}"));
            }
            self.out_closed = true;
            self.eof_at.get_or_insert_with(Instant::now);
        }
    }

    /// Sleeps up to `d` (less when the deadline is nearer), taking input.
    async fn pause(&mut self, d: Duration) {
        let until = Instant::now() + d;
        let until = self.deadline().map_or(until, |dl| dl.min(until));
        let end = tokio::time::Instant::from_std(until);
        loop {
            match tokio::time::timeout_at(end, self.rx.recv()).await {
                Ok(Some(m)) => {
                    let wake = matches!(m, Msg::Wake);
                    self.handle(m);
                    if wake {
                        return;
                    }
                }
                Ok(None) => {
                    self.eof_at.get_or_insert_with(Instant::now);
                    tokio::time::sleep_until(end).await;
                    return;
                }
                Err(_) => return,
            }
        }
    }

    /// Publishes until input ends and the spool is empty, or the deadline
    /// passes; returns the batches and records left in the spool.
    async fn run(&mut self) -> anyhow::Result<(u64, u64)> {
        let client = self.cfg.conn.connect().await?;
        let js = async_nats::jetstream::context::ContextBuilder::new()
            .timeout(self.cfg.timeout)
            .max_ack_inflight(self.cfg.batch.max(1024) * 2)
            .backpressure_on_inflight(true)
            .build(client.clone());
        let mut st = Progress {
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(2)),
            stream_ready: false,
            down: None,
            attempts: 0,
            started: Instant::now(),
        };
        while let Some(key) = self.next_key().await {
            if let Some(why) = self.problem(&client, &js, &mut st).await {
                if st.started.elapsed() < Duration::from_secs(2) {
                    // The first connection is still being made: give it a
                    // moment before saying so.
                    self.pause(Duration::from_millis(20)).await;
                    continue;
                }
                if why.contains("overlap") {
                    // Another stream owns these subjects: no retry helps.
                    self.fatal = Some(format!(
                        "{why} (name the stream that owns them with --stream, or choose another --subject)"
                    ));
                    break;
                }
                self.unavailable(&mut st.down, &why, &key);
                let d = st.backoff.next_delay();
                self.pause(d).await;
                continue;
            }
            let Some(recs) = self.load_entry(&key) else {
                self.queue.pop_front();
                continue;
            };
            let max = client.server_info().max_payload;
            let Some(recs) = self.set_aside_oversized(&key, recs, max) else {
                self.queue.pop_front();
                continue;
            };
            self.publish(&js, &key, &recs, &mut st).await;
            if self.fatal.is_some() {
                break;
            }
        }
        let left = self.report_left();
        // Acks of publishes are in; make sure nothing of ours sits in the
        // client's buffer at exit.
        let _ = tokio::time::timeout(Duration::from_secs(1), client.flush()).await;
        Ok(left)
    }

    /// The batch to publish next; `None` when input has ended and the
    /// queue is empty, or the deadline has passed.
    async fn next_key(&mut self) -> Option<String> {
        loop {
            self.poll_input();
            if signals::requested() {
                self.eof_at.get_or_insert_with(Instant::now);
            }
            let Some(key) = self.queue.front().cloned() else {
                if self.eof_at.is_some() {
                    return None;
                }
                match self.rx.recv().await {
                    Some(m) => self.handle(m),
                    None => {
                        self.eof_at.get_or_insert_with(Instant::now);
                    }
                }
                continue;
            };
            if self.deadline().is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            return Some(key);
        }
    }

    /// Why nothing can be published now (no server, no stream), if so.
    async fn problem(
        &self,
        client: &async_nats::Client,
        js: &async_nats::jetstream::Context,
        st: &mut Progress,
    ) -> Option<String> {
        if client.connection_state() != async_nats::connection::State::Connected {
            return Some(format!("no server reachable at {}", self.cfg.conn.shown()));
        }
        if !st.stream_ready {
            match publish::ensure_stream(js, self.cfg).await {
                Ok(()) => st.stream_ready = true,
                Err(e) => return Some(e),
            }
        }
        None
    }

    /// A spool entry's records; `None` (with a note) when it is unreadable
    /// or corrupt (moved aside).
    fn load_entry(&self, key: &str) -> Option<Vec<subject::Prepared>> {
        let data = match self.spool.read(key) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("nats-post: spool entry {key} unreadable ({e}); skipped");
                return None;
            }
        };
        let recs = entry::decode(&data);
        if recs.is_none() {
            let bad = self.spool.dir().join(format!("{key}.bad"));
            let _ = std::fs::rename(self.spool.dir().join(format!("{key}.entry")), &bad);
            eprintln!(
                "nats-post: spool entry {key} is corrupt; moved aside to {}",
                bad.display()
            );
        }
        recs
    }

    /// Records that can never be one message on this server (payload and
    /// headers over its `max_payload`) are moved out of the batch into the
    /// spool's dead-letter file, each reported (stderr, a `failed`
    /// delivery record, exit status 1), so the rest is delivered. Returns
    /// the records left, `None` when none is (the entry is removed).
    fn set_aside_oversized(
        &mut self,
        key: &str,
        recs: Vec<subject::Prepared>,
        max_payload: usize,
    ) -> Option<Vec<subject::Prepared>> {
        let fits = |r: &subject::Prepared| {
            max_payload == 0 || r.payload.len() + HEADER_ROOM <= max_payload
        };
        if recs.iter().all(fits) {
            return Some(recs);
        }
        let (keep, big): (Vec<_>, Vec<_>) = recs.into_iter().partition(fits);
        let lines: Vec<&[u8]> = big.iter().map(|r| r.payload.as_slice()).collect();
        let dead = match self.spool.dead_letter(&lines) {
            Ok(p) => p,
            Err(e) => {
                // Nothing is lost: the batch stays whole in the spool.
                self.fatal = Some(format!(
                    "cannot write the dead-letter file {}: {e}",
                    self.spool.dead_letter_path().display()
                ));
                return None;
            }
        };
        let biggest = big.iter().map(|r| r.payload.len()).max().unwrap_or(0);
        eprintln!(
            "nats-post: {} larger than the server's max_payload ({max_payload} bytes; the largest is {biggest} bytes) set aside in {}; the rest is delivered. Raise max_payload on every server, then re-feed it: nats-post --stream {} < {} && rm {}",
            count(big.len() as u64, "record", "records"),
            dead.display(),
            self.cfg.stream,
            dead.display(),
            dead.display()
        );
        self.set_aside = true;
        self.log(json!({
            "status": "failed",
            "records": big.len(),
            "error": format!("larger than the server's max_payload ({max_payload} bytes)"),
            "dead_letter": dead.display().to_string(),
            "timestamp": dlp_record::time::now_rfc3339(),
            "batch": key,
        }));
        let written = if keep.is_empty() {
            self.spool.remove(key)
        } else {
            self.spool.rewrite(key, &entry::encode(&keep))
        };
        if let Err(e) = written {
            eprintln!("nats-post: cannot rewrite spool entry {key}: {e}");
        }
        (!keep.is_empty()).then_some(keep)
    }

    /// Publishes one batch: removed from the spool when every record is
    /// acknowledged; otherwise only what was not is kept, and retried after
    /// a back-off.
    async fn publish(
        &mut self,
        js: &async_nats::jetstream::Context,
        key: &str,
        recs: &[subject::Prepared],
        st: &mut Progress,
    ) {
        st.attempts += 1;
        let t0 = Instant::now();
        let o = publish::batch(js, self.cfg, recs).await;
        let latency_ms = t0.elapsed().as_millis() as u64;
        if o.failed.is_empty() {
            if let Err(e) = self.spool.remove(key) {
                eprintln!(
                    "nats-post: published batch {key} but cannot remove it from the spool: {e}"
                );
            }
            if st.down.take().is_some() {
                eprintln!(
                    "nats-post: {} reachable again; publishing the spool",
                    self.cfg.conn.shown()
                );
            }
            self.log(json!({
                "status": "delivered",
                "records": o.acked,
                "duplicates": o.duplicates,
                "stream": self.cfg.stream,
                "seq": o.seq,
                "attempts": st.attempts,
                "latency_ms": latency_ms,
                "timestamp": dlp_record::time::now_rfc3339(),
                "batch": key,
            }));
            self.queue.pop_front();
            self.announced.remove(key);
            st.attempts = 0;
            st.backoff.reset();
            return;
        }
        // Keep only what was not acknowledged.
        if o.acked > 0 {
            let rest: Vec<_> = o.failed.iter().map(|&i| recs[i].clone()).collect();
            if let Err(e) = self.spool.rewrite(key, &entry::encode(&rest)) {
                eprintln!("nats-post: cannot rewrite spool entry {key}: {e}; the whole batch is sent again (the duplicate window drops what was stored)");
            }
        }
        let why = o.error.unwrap_or_else(|| "not acknowledged".into());
        if o.wrong_stream {
            // Retrying cannot help; what is not delivered stays spooled.
            self.fatal = Some(why);
            self.eof_at.get_or_insert_with(Instant::now);
            return;
        }
        if why.contains("no stream stores") {
            st.stream_ready = false;
        }
        self.unavailable(&mut st.down, &why, key);
        let d = st.backoff.next_delay();
        self.pause(d).await;
    }

    /// Counts (and logs as spooled, once) what stays in the spool at exit.
    fn report_left(&mut self) -> (u64, u64) {
        let mut left = (0u64, 0u64);
        for key in self.queue.clone() {
            let n = self
                .spool
                .read(&key)
                .ok()
                .and_then(|d| entry::decode(&d))
                .map_or(0, |r| r.len() as u64);
            left.0 += 1;
            left.1 += n;
            if !self.announced.contains(&key) {
                self.log(json!({
                    "status": "spooled",
                    "records": n,
                    "attempts": 0,
                    "timestamp": dlp_record::time::now_rfc3339(),
                    "batch": key,
                }));
            }
        }
        left
    }

    /// Logs (once per outage on stderr, once per batch on stdout) that the
    /// batch waits in the spool.
    fn unavailable(&mut self, down: &mut Option<String>, why: &str, key: &str) {
        if down.as_deref() != Some(why) {
            eprintln!(
                "nats-post: {why}; batches wait in {} and are retried",
                self.spool.dir().display()
            );
            *down = Some(why.to_owned());
        }
        if self.announced.insert(key.to_owned()) {
            let n = self
                .spool
                .read(key)
                .ok()
                .and_then(|d| entry::decode(&d))
                .map_or(0, |r| r.len());
            self.log(json!({
                "status": "spooled",
                "records": n,
                "error": why,
                "timestamp": dlp_record::time::now_rfc3339(),
                "batch": key,
            }));
        }
    }
}
