//! One attempt at a batch on the server's side, for the [`crate::jetstream`]
//! transport: is a server reachable and the stream there (said once, then
//! known), which records can be messages at all (read back from the
//! spool entry, [`crate::entry`]; within the server's `max_payload`), and which of them JetStream acknowledged, as
//! the outbox's `Outcome`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dlp_nats::async_nats;
use outbox::{Entry, Outcome};

use crate::cli::Config;
use crate::entry;
use crate::publish::{self, Message};

/// Headers and framing a message adds to its payload on the wire
/// (`Nats-Msg-Id`, `Nats-Expected-Stream` and the header preamble), kept
/// generous: what counts against the server's max_payload.
const HEADER_ROOM: usize = 256;

/// How long the first connection may take before batches are said to wait.
const FIRST_CONNECT: Duration = Duration::from_secs(2);

/// The client and what is known of the stream.
pub struct Link {
    pub cfg: Arc<Config>,
    pub client: async_nats::Client,
    js: async_nats::jetstream::Context,
    /// The stream is known to exist (checked again after it went missing).
    stream_ready: bool,
    started: Instant,
}

/// An entry's records as messages, with their indexes in the entry, and
/// why the others can never be published (none: every record can).
struct Batch {
    index: Vec<usize>,
    messages: Vec<Message>,
    refused: Option<String>,
}

impl Link {
    /// A link over a connecting client.
    pub fn new(
        cfg: Arc<Config>,
        client: async_nats::Client,
        js: async_nats::jetstream::Context,
    ) -> Self {
        Link {
            cfg,
            client,
            js,
            stream_ready: false,
            started: Instant::now(),
        }
    }

    pub fn connected(&self) -> bool {
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
    fn batch(&self, entry: &Entry, data: &Bytes, max_payload: usize) -> Batch {
        let mut b = Batch {
            index: Vec::with_capacity(entry.records() as usize),
            messages: Vec::with_capacity(entry.records() as usize),
            refused: None,
        };
        let (mut biggest, mut unreadable) = (0, None);
        for (i, m) in entry::messages(entry, data, &self.cfg)
            .into_iter()
            .enumerate()
        {
            match m {
                Ok(m) if max_payload == 0 || m.payload.len() + HEADER_ROOM <= max_payload => {
                    b.index.push(i);
                    b.messages.push(m);
                }
                Ok(m) => biggest = biggest.max(m.payload.len()),
                Err(why) => unreadable = Some(why),
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
    pub async fn send(&mut self, entry: &Entry, data: &Bytes, last: &mut (usize, u64)) -> Outcome {
        if let Err(o) = self.ready().await {
            return o;
        }
        let max_payload = self.client.server_info().max_payload;
        let b = self.batch(entry, data, max_payload);
        if b.messages.is_empty() {
            return Outcome::Permanent(b.refused.unwrap_or_else(|| "no record".into()));
        }
        // Published from the runtime's thread, where the connection's task
        // runs: one hand-over per batch rather than per message.
        let (js, cfg, messages) = (self.js.clone(), self.cfg.clone(), b.messages);
        let published = tokio::spawn(async move { publish::batch(&js, &cfg, &messages).await });
        let acks = match published.await {
            Ok(acks) => acks,
            Err(e) => return retry(format!("publishing a batch: {e}")),
        };
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
