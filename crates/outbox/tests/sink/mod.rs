//! A test transport: "delivers" each record by appending it to a file
//! (fsynced, so what it acknowledged survives a `kill -9`), keeps the
//! attempts' times and the outbox's events, and answers by its state and
//! the records' text, the first rule that applies ([`judge`]):
//!
//! * `outage` above zero: the attempt fails (after `retry_after` when
//!   set), and it is counted down;
//! * `halves` above zero, more than one record: the first half goes, the
//!   rest is retried (a partial acknowledgement), and it is counted down;
//! * a record containing `stop_at`: the records before it go, then
//!   delivery stops (a configuration error met halfway);
//! * records containing `oversize`: the others go, they are refused for
//!   good (a partial delivery whose rest is dead-lettered);
//! * a record containing `refuse`: the batch is refused for good;
//! * `huge` in a record, or `big` in a batch of more than one: too large.

use std::fs::OpenOptions;
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

/// Which records of a batch go, and what becomes of the others (`None`:
/// there are none).
type Answer = (Vec<usize>, Option<Outcome>);

fn has(rec: &[u8], word: &str) -> bool {
    String::from_utf8_lossy(rec).contains(word)
}

fn retry(after: Option<Duration>, error: &str) -> Outcome {
    let error = error.to_owned();
    Outcome::Retry { after, error }
}

/// The server's answer to `recs` (the module notes' rules, in order).
fn judge(st: &mut State, recs: &[&[u8]]) -> Answer {
    let any = |word: &str| recs.iter().position(|r| has(r, word));
    if st.outage > 0 {
        st.outage -= 1;
        return (vec![], Some(retry(st.retry_after, "server down")));
    }
    if st.halves > 0 && recs.len() > 1 {
        st.halves -= 1;
        let half = (0..recs.len() / 2).collect();
        return (half, Some(retry(None, "half acknowledged")));
    }
    if let Some(at) = st.stop_at.and_then(any) {
        let stop = Outcome::Stop("misconfigured".into());
        return ((0..at).collect(), Some(stop));
    }
    if any("oversize").is_some() {
        let fit = (0..recs.len()).filter(|&i| !has(recs[i], "oversize"));
        return (fit.collect(), Some(Outcome::Permanent("oversize".into())));
    }
    if any("refuse").is_some() {
        return (vec![], Some(Outcome::Permanent("refused".into())));
    }
    if any("huge").is_some() || (recs.len() > 1 && any("big").is_some()) {
        return (vec![], Some(Outcome::TooLarge("too large".into())));
    }
    ((0..recs.len()).collect(), None)
}

impl Sink {
    pub fn new(file: &Path) -> Self {
        let state = Arc::default();
        let file = file.to_owned();
        Sink { file, state }
    }

    /// Appends `recs` with one write: a kill leaves all of them or none.
    fn append(&self, recs: &[&[u8]]) -> std::io::Result<()> {
        let buf = recs.iter().flat_map(|r| [*r, b"\n"]).collect::<Vec<_>>();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)?;
        f.write_all(&buf.concat())?;
        f.sync_all()
    }
}

impl Transport for Sink {
    fn send(&mut self, entry: &Entry) -> Outcome {
        let slowness = {
            let mut st = self.state.lock().unwrap();
            st.attempts.push(Instant::now());
            st.slowness
        };
        std::thread::sleep(slowness);
        let data = entry.read().expect("reading the entry");
        let recs: Vec<&[u8]> = outbox::lines(&data).collect();
        let (sent, rest) = judge(&mut self.state.lock().unwrap(), &recs);
        let some: Vec<&[u8]> = sent.iter().map(|&i| recs[i]).collect();
        if let Err(e) = self.append(&some) {
            return retry(None, &e.to_string());
        }
        match rest {
            None => Outcome::Delivered,
            Some(rest) if sent.is_empty() => rest,
            Some(rest) => Outcome::Partial {
                delivered: sent,
                rest: Box::new(rest),
            },
        }
    }

    fn report(&mut self, event: Event<'_>) {
        let e = match event {
            Event::Delivered { records, .. } => format!("delivered {records}"),
            Event::Spooled { records, .. } => format!("spooled {records}"),
            Event::Down { error } => format!("down: {error}"),
            Event::Up => "up".into(),
            Event::Split { halves, .. } => format!("split {} + {}", halves[0], halves[1]),
            Event::Failed { records, error, .. } => format!("failed {records}: {error}"),
            Event::Left { records, .. } => format!("left {records}"),
            Event::Stopped { error, .. } => format!("stopped: {error}"),
            Event::Partial {
                delivered: d, left, ..
            } => format!("partial {d}, {left} left"),
        };
        self.state.lock().unwrap().events.push(e);
    }
}
