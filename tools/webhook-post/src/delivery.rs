//! webhook-post's transport: one spooled batch, one POST.
//!
//! The outbox (`crates/outbox`) delivers the spool's batches in order,
//! retries, splits on 413 and dead-letters; this file renders a batch into
//! its POST body, classifies the response ([`crate::http`]) and logs what
//! happened as delivery records on stdout and notes on stderr.
//!
//! A batch is stored as its records' lines and rendered only when sent,
//! so the memory a batch costs while waiting is its input size; sending
//! one holds its lines and its body (about twice its size), and no parsed
//! JSON for the raw format (its body is read straight from the file).

use std::path::PathBuf;
use std::sync::Arc;

use outbox::{Attempt, Entry, Event, Outcome, Transport};

use crate::cli::Config;
use crate::http::{self, Poster};
use crate::render::{Item, Renderer};
use crate::report::{self, Delivery, Out};

/// The raw format's body read line by line straight into place: the
/// record itself when not batching, else a JSON array (what `Renderer`
/// makes for raw). Returns the record count (0: no record) and the body.
fn read_raw_body(
    r: &mut impl std::io::BufRead,
    capacity: usize,
    batching: bool,
) -> std::io::Result<(u64, Vec<u8>)> {
    let mut body = Vec::with_capacity(capacity + 2);
    body.push(b'[');
    let mut n = 0u64;
    loop {
        let at = body.len();
        if r.read_until(b'\n', &mut body)? == 0 {
            break;
        }
        if body.last() == Some(&b'\n') {
            body.pop();
        }
        if body.len() == at {
            continue;
        }
        body.push(b',');
        n += 1;
    }
    if n == 0 {
        return Ok((0, Vec::new()));
    }
    body.pop();
    if n == 1 && !batching {
        body.remove(0);
    } else {
        body.push(b']');
    }
    Ok((n, body))
}

/// How batches are rendered and where the log goes.
pub struct Webhook {
    poster: Poster,
    out: Arc<Out>,
    renderer: Renderer,
    raw: bool,
    batching: bool,
    shown_url: String,
    spool_dir: PathBuf,
    /// The HTTP status of the last attempt (none: no response).
    status: Option<u16>,
}

/// The outbox settings from the validated configuration.
pub fn options(cfg: &Config) -> outbox::Options {
    outbox::Options {
        name: "webhook-post",
        first_backoff: std::time::Duration::from_millis(250),
        max_backoff: cfg.max_backoff,
        dead_letter_after: Some(cfg.dead_letter_after),
    }
}

impl Webhook {
    /// The transport for the validated configuration.
    pub fn new(cfg: &Config, out: Arc<Out>, spool_dir: PathBuf) -> Self {
        Webhook {
            poster: Poster::new(cfg),
            out,
            renderer: cfg.renderer.clone(),
            raw: cfg.raw,
            batching: cfg.batch > 1,
            shown_url: cfg.shown_url.clone(),
            spool_dir,
            status: None,
        }
    }

    /// The POST body: an entry of an earlier version holds it as is; the
    /// raw format's is built straight from the file; other formats render
    /// the parsed records.
    fn body(&self, entry: &Entry) -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        let mut r = entry.reader()?;
        let size = entry.size() as usize;
        if !entry.is_lines() {
            let mut body = Vec::with_capacity(size);
            r.read_to_end(&mut body)?;
            return Ok(body);
        }
        if self.raw {
            return Ok(read_raw_body(&mut r, size, self.batching)?.1);
        }
        let mut data = Vec::with_capacity(size);
        r.read_to_end(&mut data)?;
        let items: Vec<Item> = outbox::lines(&data)
            .map(|l| Item {
                raw: l.to_vec(),
                value: serde_json::from_slice(l).unwrap_or(serde_json::Value::Null),
            })
            .collect();
        Ok(self.renderer.body(&items))
    }

    /// The delivery record of an attempt, with the last HTTP status.
    fn record(
        &self,
        status: &'static str,
        batch: &str,
        records: u64,
        attempt: Attempt,
        error: Option<&str>,
    ) -> serde_json::Value {
        Delivery {
            status,
            records,
            http_status: self.status,
            attempts: attempt.number,
            latency_ms: attempt.latency.as_millis() as u64,
            error,
            batch,
            dead_letter: None,
        }
        .to_value()
    }
}

impl Transport for Webhook {
    fn send(&mut self, entry: &Entry) -> Outcome {
        let body = match self.body(entry) {
            Ok(b) => b,
            Err(e) => {
                self.status = None;
                return Outcome::Retry {
                    after: None,
                    error: format!("reading spool entry {}: {e}", entry.key()),
                };
            }
        };
        let (status, outcome) = match self.poster.post(&body) {
            http::Outcome::Delivered { status } => (Some(status), Outcome::Delivered),
            http::Outcome::Retry {
                status,
                retry_after,
                error,
            } => (
                status,
                Outcome::Retry {
                    after: retry_after,
                    error,
                },
            ),
            http::Outcome::TooLarge { error } => (Some(413), Outcome::TooLarge(error)),
            http::Outcome::Permanent { status, error } => (Some(status), Outcome::Permanent(error)),
        };
        self.status = status;
        outcome
    }

    fn report(&mut self, event: Event<'_>) {
        let url = &self.shown_url;
        let rec = match event {
            Event::Delivered {
                key,
                records,
                attempt,
            } => self.record("delivered", key, records, attempt, None),
            Event::Up => {
                eprintln!("webhook-post: {url} reachable again; delivering the spool");
                return;
            }
            Event::Down { error } => {
                eprintln!(
                    "webhook-post: {url} unavailable ({error}); batches wait in {} and are retried",
                    self.spool_dir.display()
                );
                return;
            }
            Event::Spooled {
                key,
                records,
                attempt,
                error,
            } => self.record("spooled", key, records, attempt, Some(error)),
            Event::Split {
                key,
                records,
                attempt,
                error,
                halves: [a, b],
            } => {
                eprintln!(
                    "webhook-post: batch of {records} records too large for {url} ({error}); split into {a} + {b}"
                );
                self.record("split", key, records, attempt, Some(error))
            }
            Event::Failed {
                key,
                records,
                attempt,
                error,
                dead_letter,
            } => {
                eprintln!(
                    "webhook-post: batch of {records} records rejected by {url}: {error}; kept in {} (re-feed: see --help)",
                    dead_letter.display()
                );
                let mut rec = self.record("failed", key, records, attempt, Some(error));
                rec["dead_letter"] = dead_letter.display().to_string().into();
                rec
            }
            Event::Left { key, records } => Delivery {
                status: "spooled",
                records,
                http_status: None,
                attempts: 0,
                latency_ms: 0,
                error: None,
                batch: key,
                dead_letter: None,
            }
            .to_value(),
            // webhook-post never answers Partial or Stop.
            Event::Partial { .. } | Event::Stopped { .. } => return,
        };
        report::log(&self.out, &rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_body_is_what_the_renderer_makes() {
        use crate::render::Format;
        let lines: Vec<&[u8]> = vec![b"{\"a\":1}", b"{\"b\":[2]}"];
        let items: Vec<Item> = lines
            .iter()
            .map(|l| Item {
                raw: l.to_vec(),
                value: serde_json::from_slice(l).unwrap(),
            })
            .collect();
        for batching in [false, true] {
            let r = Renderer::new(Format::Raw, batching);
            let mut two = &b"{\"a\":1}\n\n{\"b\":[2]}\n"[..];
            assert_eq!(
                read_raw_body(&mut two, 9, batching).unwrap(),
                (2, r.body(&items))
            );
            let mut one = &b"{\"a\":1}\n"[..];
            assert_eq!(
                read_raw_body(&mut one, 9, batching).unwrap(),
                (1, r.body(&items[..1]))
            );
        }
        assert_eq!(read_raw_body(&mut &b"\n"[..], 1, true).unwrap().0, 0);
    }
}
