//! Pull requests on one inbox, read to the last message delivered.
//!
//! A pull consumer delivers the messages of a pull request to the inbox the
//! request names. Every message delivered there is a message the server
//! counts as handed to us (it comes back only after `--ack-wait`), so the
//! one rule here is: whatever reaches the inbox is returned to the caller,
//! whichever request it answers and however late it comes. The inbox is
//! subscribed once for the life of the consumer; requests follow one
//! another on it, and a request that ends (the server's 404 or 408 status,
//! its 409 after a leadership change, or silence longer than twice the idle
//! heartbeat: a server that died with the request) is followed by the next.
//!
//! The client library's own batch reader is not used: after an idle
//! heartbeat it stopped polling its inbox until its client-side timer
//! fired, and then dropped what had arrived meanwhile, so a live tail
//! lost every delivery that came more than one heartbeat into a pull.

use std::time::Duration;

use async_nats::jetstream::consumer::pull::{BatchConfig, Config as ConsumerConfig};
use async_nats::jetstream::consumer::Consumer;
use async_nats::jetstream::{Context, Message};
use async_nats::{StatusCode, Subscriber};
use dlp_nats::async_nats;
use futures_util::{FutureExt as _, StreamExt as _};
use tokio::time::Instant;

/// How long a live pull request waits on the server for messages.
const EXPIRES: Duration = Duration::from_secs(20);
/// The idle heartbeat the server sends while a live request waits.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// How long the inbox may stay silent (no message, no heartbeat, no
/// status) before the request in flight is taken for lost.
fn silence_limit(no_wait: bool) -> Duration {
    if no_wait {
        // A no-wait request is answered at once, with messages or a 404.
        Duration::from_secs(5)
    } else {
        2 * HEARTBEAT + Duration::from_secs(1)
    }
}

/// What the inbox gave.
pub enum Next {
    /// A message, to write and then acknowledge.
    Msg(Box<Message>),
    /// The request in flight ended; `got` messages answered it. The next
    /// call sends a new one.
    Ended { got: usize },
    /// The request could not be sent, or the server refused it (`Err` text
    /// for the user); the caller waits and goes on, and with `recreate`
    /// finds or creates the consumer again first.
    Failed { why: String, recreate: bool },
}

/// The request in flight.
struct Request {
    /// Messages it may still deliver.
    left: usize,
    /// Messages it delivered so far.
    got: usize,
    /// When the inbox has been silent too long.
    deadline: Instant,
}

/// Pull requests to one consumer, on one subscribed inbox.
pub struct Puller {
    consumer: Consumer<ConsumerConfig>,
    js: Context,
    sub: Subscriber,
    inbox: String,
    batch: usize,
    no_wait: bool,
    request: Option<Request>,
}

impl Puller {
    /// Subscribes the inbox. `no_wait`: requests are answered at once
    /// (`--exit-at-end`) instead of waiting on the server for messages.
    pub async fn new(
        client: &async_nats::Client,
        js: Context,
        consumer: Consumer<ConsumerConfig>,
        batch: usize,
        no_wait: bool,
    ) -> Result<Self, String> {
        let inbox = client.new_inbox();
        let sub = client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| format!("subscribing to the pull inbox: {e}"))?;
        Ok(Puller {
            consumer,
            js,
            sub,
            inbox,
            batch,
            no_wait,
            request: None,
        })
    }

    /// The consumer pulled from.
    pub fn consumer(&self) -> &Consumer<ConsumerConfig> {
        &self.consumer
    }

    /// Sends a pull request unless one is in flight.
    async fn request(&mut self) -> Result<(), String> {
        if self.request.is_some() {
            return Ok(());
        }
        let cfg = BatchConfig {
            batch: self.batch,
            expires: (!self.no_wait).then_some(EXPIRES),
            no_wait: self.no_wait,
            idle_heartbeat: if self.no_wait {
                Duration::ZERO
            } else {
                HEARTBEAT
            },
            ..Default::default()
        };
        self.consumer
            .request_batch(cfg, self.inbox.clone().into())
            .await
            .map_err(|e| format!("sending a pull request: {e}"))?;
        self.request = Some(Request {
            left: self.batch,
            got: 0,
            deadline: Instant::now() + silence_limit(self.no_wait),
        });
        Ok(())
    }

    /// The next message or end of request. With `wait` false it returns
    /// `None` at once when the inbox holds nothing (never cancelling a
    /// receive half-way), so the caller can flush and acknowledge first.
    pub async fn next(&mut self, wait: bool) -> Option<Next> {
        loop {
            if let Err(why) = self.request().await {
                return Some(Next::Failed {
                    why,
                    recreate: false,
                });
            }
            let deadline = self
                .request
                .as_ref()
                .map_or_else(Instant::now, |r| r.deadline);
            let got = if wait {
                match tokio::time::timeout_at(deadline, self.sub.next()).await {
                    Ok(m) => m,
                    Err(_) => return Some(self.end()),
                }
            } else {
                match self.sub.next().now_or_never() {
                    Some(m) => m,
                    None if Instant::now() >= deadline => return Some(self.end()),
                    None => return None,
                }
            };
            let Some(m) = got else {
                return Some(Next::Failed {
                    why: "the connection closed the pull inbox".into(),
                    recreate: true,
                });
            };
            if let Some(next) = self.take(m) {
                return Some(next);
            }
        }
    }

    /// Ends the request in flight (the next call sends another).
    fn end(&mut self) -> Next {
        let got = self.request.take().map_or(0, |r| r.got);
        Next::Ended { got }
    }

    /// One inbox message: a delivery, a status that ends the request, or
    /// a heartbeat (`None`: keep reading).
    fn take(&mut self, m: async_nats::Message) -> Option<Next> {
        let limit = silence_limit(self.no_wait);
        if let Some(r) = self.request.as_mut() {
            r.deadline = Instant::now() + limit;
        }
        match m.status {
            None | Some(StatusCode::OK) => {
                if let Some(r) = self.request.as_mut() {
                    r.got += 1;
                    r.left = r.left.saturating_sub(1);
                    if r.left == 0 {
                        self.request = None;
                    }
                }
                Some(Next::Msg(Box::new(Message {
                    message: m,
                    context: self.js.clone(),
                })))
            }
            Some(StatusCode::IDLE_HEARTBEAT) => None,
            // No messages (no-wait), request expired, or ended by the
            // server (leadership change, max ack pending, ...): pull again.
            Some(StatusCode::NOT_FOUND | StatusCode::TIMEOUT) => Some(self.end()),
            Some(StatusCode::REQUEST_TERMINATED) => {
                let why = m.description.unwrap_or_default();
                if why.to_ascii_lowercase().contains("consumer deleted") {
                    self.request = None;
                    return Some(Next::Failed {
                        why: "the consumer was deleted".into(),
                        recreate: true,
                    });
                }
                Some(self.end())
            }
            Some(status) => {
                self.request = None;
                Some(Next::Failed {
                    why: format!(
                        "pull request answered {status} {}",
                        m.description.unwrap_or_default()
                    ),
                    recreate: true,
                })
            }
        }
    }

    /// Whatever the inbox already holds (messages only), without waiting.
    pub fn drain_ready(&mut self) -> Vec<Message> {
        let mut v = Vec::new();
        while let Some(Some(m)) = self.sub.next().now_or_never() {
            if let Some(Next::Msg(m)) = self.take(m) {
                v.push(*m);
            }
        }
        v
    }
}
