//! A test transport: "delivers" each record by appending it to a file
//! (fsynced, so what it acknowledged survives a `kill -9`), and refuses
//! records by their text, the way a server would:
//!
//! * a record containing `refuse` is refused for good;
//! * a batch of more than one record containing `big` is too large, and a
//!   record containing `huge` is too large even alone;
//! * while `outage` is above zero, each attempt fails (with `retry_after`
//!   when set) and counts it down;
//! * while `halves` is above zero, each attempt of more than one record
//!   delivers only the first half of the batch (a partial
//!   acknowledgement; the rest is retried) and counts it down;
//! * a record containing `oversize` is never delivered: the others of its
//!   batch are, and it is refused for good (a partial delivery whose rest
//!   is dead-lettered);
//! * with `stop_at` set, a record containing it stops delivery: the
//!   records before it in the batch are delivered (a configuration error
//!   met halfway).
//!
//! It records the attempts' times and the outbox's events.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outbox::{Entry, Event, Outcome, Transport};

#[derive(Debug, Default)]
pub struct State {
    pub outage: u32,
    pub retry_after: Option<Duration>,
    /// Wait this long in each send (a slow server).
    pub slowness: Duration,
    pub halves: u32,
    pub stop_at: Option<&'static str>,
    pub attempts: Vec<Instant>,
    pub events: Vec<String>,
}

#[derive(Clone)]
pub struct Sink {
    pub file: PathBuf,
    pub state: Arc<Mutex<State>>,
}

impl Sink {
    pub fn new(file: &Path) -> Self {
        Sink {
            file: file.to_owned(),
            state: Arc::default(),
        }
    }

    /// What was delivered, one record per element.
    pub fn delivered(&self) -> Vec<String> {
        std::fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn events(&self) -> Vec<String> {
        self.state.lock().unwrap().events.clone()
    }

    fn append(&self, recs: &[&[u8]]) -> std::io::Result<()> {
        let mut f: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)?;
        // One write: a kill leaves the whole batch or none of it.
        let mut buf = Vec::new();
        for r in recs {
            buf.extend_from_slice(r);
            buf.push(b'\n');
        }
        f.write_all(&buf)?;
        f.sync_all()
    }
}

impl Sink {
    /// The partial outcomes: the records of `recs` at `sent` delivered, the
    /// others as `rest` says.
    fn deliver_some(&self, recs: &[&[u8]], sent: &[usize], rest: Outcome) -> Outcome {
        let some: Vec<&[u8]> = sent.iter().map(|&i| recs[i]).collect();
        if let Err(e) = self.append(&some) {
            return Outcome::Retry {
                after: None,
                error: e.to_string(),
            };
        }
        Outcome::Partial {
            delivered: sent.to_vec(),
            rest: Box::new(rest),
        }
    }

    fn partial(&self, recs: &[&[u8]]) -> Option<Outcome> {
        let stop_at = {
            let mut st = self.state.lock().unwrap();
            if st.halves > 0 && recs.len() > 1 {
                st.halves -= 1;
                drop(st);
                let half: Vec<usize> = (0..recs.len() / 2).collect();
                let rest = Outcome::Retry {
                    after: None,
                    error: "half acknowledged".into(),
                };
                return Some(self.deliver_some(recs, &half, rest));
            }
            st.stop_at
        };
        if let Some(at) = stop_at.and_then(|w| recs.iter().position(|r| has(r, w))) {
            let before: Vec<usize> = (0..at).collect();
            return Some(self.deliver_some(recs, &before, Outcome::Stop("misconfigured".into())));
        }
        if recs.iter().any(|r| has(r, "oversize")) {
            let fit: Vec<usize> = (0..recs.len())
                .filter(|&i| !has(recs[i], "oversize"))
                .collect();
            return Some(self.deliver_some(recs, &fit, Outcome::Permanent("oversize".into())));
        }
        None
    }
}

fn has(rec: &[u8], word: &str) -> bool {
    String::from_utf8_lossy(rec).contains(word)
}

impl Transport for Sink {
    fn send(&mut self, entry: &Entry) -> Outcome {
        let slowness = {
            let mut st = self.state.lock().unwrap();
            st.attempts.push(Instant::now());
            if st.outage > 0 {
                st.outage -= 1;
                return Outcome::Retry {
                    after: st.retry_after,
                    error: "server down".into(),
                };
            }
            st.slowness
        };
        std::thread::sleep(slowness);
        let data = entry.read().expect("reading the entry");
        let recs: Vec<&[u8]> = outbox::lines(&data).collect();
        if let Some(partial) = self.partial(&recs) {
            return partial;
        }
        if recs.iter().any(|r| has(r, "refuse")) {
            return Outcome::Permanent("refused".into());
        }
        if recs.iter().any(|r| has(r, "huge"))
            || (recs.len() > 1 && recs.iter().any(|r| has(r, "big")))
        {
            return Outcome::TooLarge("too large".into());
        }
        match self.append(&recs) {
            Ok(()) => Outcome::Delivered,
            Err(e) => Outcome::Retry {
                after: None,
                error: e.to_string(),
            },
        }
    }

    fn report(&mut self, event: Event<'_>) {
        if let Event::Partial {
            delivered, left, ..
        } = event
        {
            let e = format!("partial {delivered}, {left} left");
            return self.state.lock().unwrap().events.push(e);
        }
        let e = match event {
            Event::Delivered { records, .. } => format!("delivered {records}"),
            Event::Spooled { records, .. } => format!("spooled {records}"),
            Event::Down { error } => format!("down: {error}"),
            Event::Up => "up".into(),
            Event::Split { halves, .. } => format!("split {} + {}", halves[0], halves[1]),
            Event::Failed { records, error, .. } => format!("failed {records}: {error}"),
            Event::Left { records, .. } => format!("left {records}"),
            Event::Stopped { error, .. } => format!("stopped: {error}"),
            Event::Partial { .. } => unreachable!("told above"),
        };
        self.state.lock().unwrap().events.push(e);
    }
}
