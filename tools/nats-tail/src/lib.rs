//! `nats-tail`: a NATS JetStream stream to NDJSON on stdout, through a
//! pull consumer with explicit acknowledgements.
//!
//! Messages are pulled on one inbox ([`pull`]: every message delivered
//! there is written, whichever request it answers) and written to a
//! buffered stdout as they arrive; whenever no further message is ready at
//! once (and at the end of each pull request), stdout is flushed and only
//! then are the written messages acknowledged (and the acknowledgements
//! flushed to the server). So a crash can only cause messages to be
//! written again, never lost.
//! Flags are validated in [`cli`].

pub mod cli;
mod pull;

use std::io::{BufWriter, Stdout, Write};
use std::time::Duration;

use anyhow::{bail, Context as _};
use async_nats::jetstream::consumer::pull::{self as js_pull, Config as ConsumerConfig};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::Message;
use dlp_nats::async_nats;
use dlp_runtime::backoff::Backoff;
use dlp_runtime::{signals, ExitCode};

use crate::cli::Config;
use crate::pull::{Next, Puller};

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <cli::Args as clap::CommandFactory>::command()
}

/// How long `--exit-at-end` waits for messages the server says are
/// pending or unacknowledged but does not deliver (a cluster electing a
/// leader, a killed reader's messages before their ack wait ends) before it
/// fails rather than stop early: a minute, or twice the ack wait.
fn end_patience(ack_wait: Duration) -> Duration {
    Duration::from_secs(60).max(2 * ack_wait)
}

/// Process entry point.
pub fn main() -> std::process::ExitCode {
    let args: cli::Args = dlp_runtime::cli::parse("nats-tail", command());
    dlp_runtime::run_main("nats-tail", || {
        let cfg = args.into_config(|k| std::env::var(k).ok())?;
        run(cfg)
    })
}

/// Runs the tool with a validated configuration.
pub fn run(cfg: Config) -> anyhow::Result<ExitCode> {
    signals::install().context("installing signal handlers")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(tail(&cfg))
}

type Consumer = async_nats::jetstream::consumer::Consumer<js_pull::Config>;

/// Finds or creates the consumer; `Ok(None)` while the stream is not there yet.
async fn consumer(js: &async_nats::jetstream::Context, cfg: &Config) -> Result<Consumer, String> {
    let stream = js
        .get_stream(&cfg.stream)
        .await
        .map_err(|e| format!("stream {}: {e}", cfg.stream))?;
    let cc = ConsumerConfig {
        durable_name: cfg.durable.clone(),
        deliver_policy: if cfg.from_beginning {
            DeliverPolicy::All
        } else {
            DeliverPolicy::New
        },
        ack_policy: AckPolicy::Explicit,
        ack_wait: cfg.ack_wait,
        filter_subject: cfg.filter.clone().unwrap_or_default(),
        max_ack_pending: cfg.max_ack_pending,
        inactive_threshold: if cfg.durable.is_some() {
            Duration::ZERO
        } else {
            Duration::from_secs(300)
        },
        ..Default::default()
    };
    let r = match &cfg.durable {
        Some(name) => stream.get_or_create_consumer(name, cc).await,
        None => stream.create_consumer(cc).await,
    };
    r.map_err(|e| {
        format!(
            "consumer {} on stream {}: {e}",
            cfg.durable.as_deref().unwrap_or("(ephemeral)"),
            cfg.stream
        )
    })
}

struct Out {
    w: BufWriter<Stdout>,
    /// Written, not yet acknowledged.
    unacked: Vec<Message>,
    /// Acks sent since the last flush to the server.
    unsynced: bool,
    rejected: bool,
    closed: bool,
}

impl Out {
    /// Writes one message's line, or reports and terminates a bad one.
    async fn write(&mut self, m: Message, client: &async_nats::Client) -> anyhow::Result<()> {
        let p = &m.message.payload;
        let body = p.strip_suffix(b"\n").unwrap_or(p);
        let why = if body.contains(&b'\n') {
            Some("holds more than one line".to_owned())
        } else {
            dlp_record::json_scan::top_level(body, |_| None::<()>, |_, _, _| Ok(())).err()
        };
        if let Some(why) = why {
            let seq = m.info().map(|i| i.stream_sequence).unwrap_or(0);
            eprintln!(
                "nats-tail: message {seq} on {} is not one JSON object ({why}); skipped",
                m.message.subject
            );
            self.rejected = true;
            let _ = m.ack_with(AckKind::Term).await;
            return Ok(());
        }
        let written = self.w.write_all(body).and_then(|_| self.w.write_all(b"\n"));
        self.unacked.push(m);
        if let Err(e) = written {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                self.give_back(client).await;
                return Ok(());
            }
            return Err(anyhow::Error::new(e).context("writing output"));
        }
        Ok(())
    }

    /// Stdout is closed: nothing more can be written, so what is not
    /// acknowledged goes back to the stream at once, for the next reader.
    async fn give_back(&mut self, client: &async_nats::Client) {
        self.closed = true;
        for m in self.unacked.drain(..) {
            let _ = m.ack_with(AckKind::Nak(None)).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), client.flush()).await;
    }

    /// Flushes stdout, then acknowledges what it holds. With `sync` the
    /// acks are also flushed to the server (before waiting, and at exit,
    /// where a signal could end the process); between pulls they go out
    /// ahead of the next pull request on the same connection.
    async fn commit(&mut self, client: &async_nats::Client, sync: bool) -> anyhow::Result<()> {
        if self.unacked.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.w.flush() {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                self.give_back(client).await;
                return Ok(());
            }
            return Err(anyhow::Error::new(e).context("writing output"));
        }
        for m in self.unacked.drain(..) {
            // A lost ack only means the message is delivered again.
            let _ = m.ack().await;
        }
        self.unsynced = true;
        if sync {
            self.sync(client).await;
        }
        Ok(())
    }

    /// Waits until the server has every ack sent so far.
    async fn sync(&mut self, client: &async_nats::Client) {
        if self.unsynced {
            let _ = tokio::time::timeout(Duration::from_secs(5), client.flush()).await;
            self.unsynced = false;
        }
    }
}

/// Retries after a problem: said once on stderr per distinct problem, then
/// a back-off sleep during which a signal may end the process.
struct Retry {
    backoff: Backoff,
    said: Option<String>,
    started: std::time::Instant,
}

impl Retry {
    fn say(&mut self, e: String) {
        if self.said.as_deref() != Some(&e) {
            eprintln!("nats-tail: {e}; retrying");
            self.said = Some(e);
        }
    }

    async fn sleep(&mut self) {
        let _idle = signals::idle();
        tokio::time::sleep(self.backoff.next_delay()).await;
    }
}

/// Reads the consumer through pull requests on one inbox and writes what
/// arrives, acknowledging what has been flushed to stdout, until a signal,
/// a closed stdout or (with --exit-at-end) the end of the stream.
async fn tail(cfg: &Config) -> anyhow::Result<ExitCode> {
    let client = cfg.conn.connect().await?;
    let js = async_nats::jetstream::context::ContextBuilder::new()
        .timeout(Duration::from_secs(5))
        .build(client.clone());
    let mut retry = Retry {
        backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(2)),
        said: None,
        started: std::time::Instant::now(),
    };
    let mut out = Out {
        w: BufWriter::with_capacity(64 * 1024, std::io::stdout()),
        unacked: Vec::new(),
        unsynced: false,
        rejected: false,
        closed: false,
    };
    let mut puller: Option<Puller> = None;
    while !signals::requested() && !out.closed {
        let p = match &mut puller {
            Some(p) => p,
            None => match open(&client, &js, cfg).await {
                Ok(p) => puller.insert(p),
                Err(e) => {
                    let missing = e.contains("not found");
                    let waited = retry.started.elapsed();
                    if cfg.exit_at_end && (missing || waited > Duration::from_secs(30)) {
                        bail!("{e}");
                    }
                    if waited > Duration::from_secs(2) {
                        retry.say(e);
                    }
                    retry.sleep().await;
                    continue;
                }
            },
        };
        let next = if out.unacked.is_empty() {
            // Nothing in hand once the server has our acks: a signal may
            // end the process right here.
            out.sync(&client).await;
            let idle = signals::idle();
            if idle.is_none() {
                break;
            }
            p.next(true).await
        } else {
            p.next(false).await
        };
        match next {
            // Nothing more ready now: what was written goes out, then waits.
            None => out.commit(&client, true).await?,
            Some(Next::Msg(m)) => {
                out.write(*m, &client).await?;
                if out.closed {
                    // What already arrived goes back at once too, rather
                    // than wait for --ack-wait.
                    for m in p.drain_ready() {
                        let _ = m.ack_with(AckKind::Nak(None)).await;
                    }
                    let _ = tokio::time::timeout(Duration::from_secs(5), client.flush()).await;
                }
            }
            Some(Next::Ended { got }) => {
                out.commit(&client, false).await?;
                if got > 0 {
                    retry.backoff.reset();
                    if retry.said.take().is_some() {
                        eprintln!("nats-tail: reading {} again", cfg.stream);
                    }
                } else if cfg.exit_at_end && at_end(&js, p.consumer(), cfg, &mut retry).await? {
                    break;
                }
            }
            Some(Next::Failed { why, recreate }) => {
                out.commit(&client, true).await?;
                retry.say(format!("pulling from {}: {why}", cfg.stream));
                if recreate {
                    puller = None;
                }
                retry.sleep().await;
            }
        }
    }
    out.commit(&client, true).await?;
    out.sync(&client).await;
    if out.closed {
        return Ok(ExitCode::Ok);
    }
    Ok(ExitCode::from_rejected(out.rejected))
}

/// Finds or creates the consumer and subscribes its pull inbox.
async fn open(
    client: &async_nats::Client,
    js: &async_nats::jetstream::Context,
    cfg: &Config,
) -> Result<Puller, String> {
    let c = consumer(js, cfg).await?;
    Puller::new(client, js.clone(), c, cfg.batch, cfg.exit_at_end).await
}

/// With --exit-at-end, after an empty pull: true when the stream is read
/// to its end. An empty pull is the end only when the server says nothing
/// is left for this consumer: nothing pending, and nothing delivered but
/// unacknowledged (a killed reader's messages come back after the ack
/// wait). A pull also comes back empty, or fails, while a cluster elects a
/// stream leader after a node restart; leaving then would report nothing.
/// And the consumer's leader counts what is pending from its own replica
/// of the stream, which a node that has just restarted may not have caught
/// up: without --filter, the end also needs the acknowledged floor to have
/// reached the stream leader's last sequence.
async fn at_end(
    js: &async_nats::jetstream::Context,
    c: &Consumer,
    cfg: &Config,
    retry: &mut Retry,
) -> anyhow::Result<bool> {
    let waited = retry.started.elapsed();
    match c.get_info().await {
        Ok(info) if info.num_pending == 0 && info.num_ack_pending == 0 => {
            if cfg.filter.is_some() {
                return Ok(true);
            }
            let last = match js.get_stream(&cfg.stream).await {
                Ok(mut stream) => stream.info().await.map(|i| i.state.last_sequence).ok(),
                Err(_) => None,
            };
            match last {
                Some(last) if info.ack_floor.stream_sequence >= last => return Ok(true),
                Some(last) if waited > end_patience(info.config.ack_wait) => bail!(
                    "{} reports nothing pending, but its acknowledged floor {} is short of the stream's last sequence {last} after {}s",
                    cfg.stream,
                    info.ack_floor.stream_sequence,
                    waited.as_secs()
                ),
                _ => retry.sleep().await,
            }
        }
        Ok(info) if waited > end_patience(info.config.ack_wait) => bail!(
            "{} message(s) still pending and {} unacknowledged in {} but none delivered for {}s",
            info.num_pending,
            info.num_ack_pending,
            cfg.stream,
            waited.as_secs()
        ),
        Err(e) if waited > end_patience(cfg.ack_wait) => {
            bail!("asking {} how much is left: {e}", cfg.stream)
        }
        _ => retry.sleep().await,
    }
    Ok(false)
}
