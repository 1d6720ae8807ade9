//! The delivery thread: spool entries to the endpoint, oldest first.
//!
//! Every batch is already durably in the spool when it gets here, and is
//! removed only after a 2xx (or after a permanent failure has been logged),
//! so a crash at any point loses nothing; a batch sent just before a crash
//! may be sent once more after the restart (at-least-once). Batches go out
//! strictly in order: while the head batch is being retried, the rest wait
//! behind it on disk and the reading thread goes on filling the spool.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use dlp_core::backoff::Backoff;
use dlp_core::spool::Spool;

use crate::http::{Outcome, Poster};
use crate::report::{Delivery, Out};

/// Messages from the main loop.
pub enum Ctl {
    /// A new batch was spooled under this key.
    New(String),
    /// No more batches: deliver what is queued until this deadline, then stop.
    Drain(Instant),
}

/// What the thread did.
#[derive(Debug, Default)]
pub struct Report {
    pub failed_batches: u64,
    pub left_batches: u64,
    pub left_records: u64,
}

/// Spool entry layout: one JSON header line, then the POST body.
pub fn encode_entry(records: u64, body: &[u8]) -> Vec<u8> {
    let mut v = format!("{{\"records\":{records}}}\n").into_bytes();
    v.extend_from_slice(body);
    v
}

fn decode_entry(data: &[u8]) -> Option<(u64, &[u8])> {
    let nl = data.iter().position(|&b| b == b'\n')?;
    let head: serde_json::Value = serde_json::from_slice(&data[..nl]).ok()?;
    Some((head.get("records")?.as_u64()?, &data[nl + 1..]))
}

struct Worker {
    spool: Spool,
    poster: Poster,
    out: Arc<Out>,
    rx: Receiver<Ctl>,
    queue: VecDeque<String>,
    drain: Option<Instant>,
    shown_url: String,
    max_backoff: Duration,
}

/// Starts the thread with the keys already pending in the spool.
pub fn spawn(
    spool: Spool,
    poster: Poster,
    out: Arc<Out>,
    pending: Vec<String>,
    shown_url: String,
    max_backoff: Duration,
) -> (Sender<Ctl>, JoinHandle<Report>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let w = Worker {
        spool,
        poster,
        out,
        rx,
        queue: pending.into(),
        drain: None,
        shown_url,
        max_backoff,
    };
    let h = std::thread::Builder::new()
        .name("delivery".into())
        .spawn(move || w.run())
        .expect("spawning delivery thread");
    (tx, h)
}

impl Worker {
    fn handle(&mut self, m: Ctl) {
        match m {
            Ctl::New(k) => self.queue.push_back(k),
            Ctl::Drain(d) => self.drain = Some(self.drain.map_or(d, |old| old.min(d))),
        }
    }

    /// Waits until `until`, taking control messages; false when the drain
    /// deadline comes first (time to stop).
    fn wait_until(&mut self, until: Instant) -> bool {
        loop {
            if self.drain.is_some_and(|d| until > d) {
                return false;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            match self.rx.recv_timeout(left) {
                Ok(m) => self.handle(m),
                Err(RecvTimeoutError::Timeout) => return true,
                Err(RecvTimeoutError::Disconnected) => {
                    // The main loop is gone without a Drain: stop now.
                    self.drain = Some(Instant::now());
                }
            }
        }
    }

    fn run(mut self) -> Report {
        let mut report = Report::default();
        let mut backoff = Backoff::new(Duration::from_millis(250), self.max_backoff);
        let mut announced: HashSet<String> = HashSet::new();
        let mut attempts = 0u32;
        let mut down = false;
        loop {
            while let Ok(m) = self.rx.try_recv() {
                self.handle(m);
            }
            let Some(key) = self.queue.front().cloned() else {
                if self.drain.is_some() {
                    break;
                }
                match self.rx.recv() {
                    Ok(m) => self.handle(m),
                    Err(_) => break,
                }
                continue;
            };
            if self.drain.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let data = match self.spool.read(&key) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("webhook-post: spool entry {key} unreadable ({e}); skipped");
                    self.queue.pop_front();
                    continue;
                }
            };
            let Some((records, body)) = decode_entry(&data) else {
                let bad = self.spool.dir().join(format!("{key}.bad"));
                let _ = std::fs::rename(self.spool.dir().join(format!("{key}.entry")), &bad);
                eprintln!(
                    "webhook-post: spool entry {key} is corrupt; moved aside to {}",
                    bad.display()
                );
                self.queue.pop_front();
                continue;
            };
            attempts += 1;
            let t0 = Instant::now();
            let outcome = self.poster.post(body);
            let latency_ms = t0.elapsed().as_millis() as u64;
            let mut rec = Delivery {
                status: "delivered",
                records,
                http_status: None,
                attempts,
                latency_ms,
                error: None,
                batch: &key,
            };
            let retry = match outcome {
                Outcome::Delivered { status } => {
                    if let Err(e) = self.spool.remove(&key) {
                        eprintln!("webhook-post: delivered batch {key} but cannot remove it from the spool: {e}");
                    }
                    if down {
                        eprintln!(
                            "webhook-post: {} reachable again; delivering the spool",
                            self.shown_url
                        );
                        down = false;
                    }
                    rec.http_status = Some(status);
                    self.out.record(&rec.to_value());
                    None
                }
                Outcome::Permanent { status, error } => {
                    eprintln!(
                        "webhook-post: batch of {records} records rejected by {}: {error}; dropped",
                        self.shown_url
                    );
                    let _ = self.spool.remove(&key);
                    report.failed_batches += 1;
                    rec.status = "failed";
                    rec.http_status = Some(status);
                    rec.error = Some(&error);
                    self.out.record(&rec.to_value());
                    None
                }
                Outcome::Retry {
                    status,
                    retry_after,
                    error,
                } => {
                    if !down {
                        eprintln!(
                            "webhook-post: {} unavailable ({error}); batches wait in {} and are retried",
                            self.shown_url,
                            self.spool.dir().display()
                        );
                        down = true;
                    }
                    if announced.insert(key.clone()) {
                        rec.status = "spooled";
                        rec.http_status = status;
                        rec.error = Some(&error);
                        self.out.record(&rec.to_value());
                    }
                    Some(retry_after.unwrap_or_else(|| backoff.next_delay()))
                }
            };
            match retry {
                None => {
                    self.queue.pop_front();
                    announced.remove(&key);
                    attempts = 0;
                    backoff.reset();
                }
                Some(delay) => {
                    if !self.wait_until(Instant::now() + delay) {
                        break;
                    }
                }
            }
        }
        for key in &self.queue {
            let records = self
                .spool
                .read(key)
                .ok()
                .and_then(|d| decode_entry(&d).map(|(n, _)| n))
                .unwrap_or(0);
            report.left_batches += 1;
            report.left_records += records;
            if !announced.contains(key) {
                let rec = Delivery {
                    status: "spooled",
                    records,
                    http_status: None,
                    attempts: 0,
                    latency_ms: 0,
                    error: None,
                    batch: key,
                };
                self.out.record(&rec.to_value());
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_round_trip() {
        let e = encode_entry(3, b"[1,2,3]\n");
        assert_eq!(decode_entry(&e), Some((3, &b"[1,2,3]\n"[..])));
        assert_eq!(decode_entry(b"garbage"), None);
    }
}
