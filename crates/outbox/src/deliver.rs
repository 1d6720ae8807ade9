//! The delivery thread: the spool's entries through the transport, oldest
//! first, one at a time.
//!
//! While the entry in front is retried, the rest wait behind it on disk
//! (the sink goes on spooling and sending keys); the halves of a split
//! entry take its place at the front.

use std::collections::{HashSet, VecDeque};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use dlp_runtime::backoff::Backoff;
use dlp_store::spool::Spool;

use crate::{Attempt, Entry, Event, Outcome, Transport};

/// Messages to the delivery thread.
#[derive(Debug)]
pub enum Ctl {
    /// A new entry was spooled under this key.
    New(String),
    /// No more entries: deliver what is queued until this deadline, then
    /// stop (an earlier deadline sent later wins).
    Drain(Instant),
}

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// The tool's name, prefixing the spool problems said on stderr.
    pub name: &'static str,
    /// First back-off delay (doubling up to `max_backoff`, with jitter).
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// An entry still failing this long after it was spooled is
    /// dead-lettered (the tools' `--dead-letter-after`); `None`: never.
    pub dead_letter_after: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            name: "outbox",
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            dead_letter_after: None,
        }
    }
}

/// What the thread did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Entries moved to the dead-letter directory.
    pub failed_entries: u64,
    /// Entries (and their records) still in the spool at the end.
    pub left_entries: u64,
    pub left_records: u64,
    /// Why delivery stopped early ([`Outcome::Stop`]), if it did.
    pub stopped: Option<String>,
}

/// Starts the delivery thread with the keys already pending in the spool
/// (from [`Spool::list`]); it ends after a [`Ctl::Drain`] once the queue
/// is empty or the deadline has passed, or at once when every sender is
/// dropped without one.
pub fn spawn<T: Transport + Send + 'static>(
    spool: Spool,
    transport: T,
    pending: Vec<String>,
    opts: Options,
) -> (Sender<Ctl>, JoinHandle<Report>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let w = Worker {
        backoff: Backoff::new(opts.first_backoff, opts.max_backoff),
        spool,
        transport,
        rx,
        queue: pending.into(),
        drain: None,
        opts,
        report: Report::default(),
        announced: HashSet::new(),
        attempts: 0,
        down: false,
    };
    let h = std::thread::Builder::new()
        .name("delivery".into())
        .spawn(move || w.run())
        .expect("spawning the delivery thread");
    (tx, h)
}

struct Worker<T> {
    spool: Spool,
    transport: T,
    rx: Receiver<Ctl>,
    queue: VecDeque<String>,
    drain: Option<Instant>,
    opts: Options,
    report: Report,
    backoff: Backoff,
    /// Entries already told as spooled (told once, not per retry).
    announced: HashSet<String>,
    /// Attempts on the queue front.
    attempts: u32,
    /// Deliveries are failing (told once, and once when they work again).
    down: bool,
}

/// What comes after an attempt.
enum Next {
    /// The entry is done with: next one.
    Settled,
    /// The entry was replaced by its two halves at the queue front.
    Split,
    /// Retry the same entry after this delay.
    Retry(Duration),
    /// Deliver nothing more ([`Outcome::Stop`]).
    Stop,
}

impl<T: Transport> Worker<T> {
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
                // The sink is gone without a Drain: stop now.
                Err(RecvTimeoutError::Disconnected) => self.drain = Some(Instant::now()),
            }
        }
    }

    fn run(mut self) -> Report {
        // The front entry while it is retried: an entry never changes once
        // spooled, so it is read and counted once, not once per attempt
        // (an entry removed meanwhile is loaded again, and skipped).
        let mut retried: Option<Entry> = None;
        while let Some(key) = self.next_key() {
            let entry = match retried.take() {
                Some(e) if e.key() == key && e.still_spooled() => e,
                _ => match self.load(&key) {
                    Some(e) => e,
                    None => {
                        self.queue.pop_front();
                        continue;
                    }
                },
            };
            let (next, entry) = self.attempt(entry);
            match next {
                Next::Settled => {
                    self.queue.pop_front();
                    self.settled(&key);
                }
                Next::Split => self.settled(&key),
                Next::Retry(delay) => {
                    if !self.wait_until(Instant::now() + delay) {
                        break;
                    }
                    retried = Some(entry);
                }
                Next::Stop => break,
            }
        }
        self.report_left()
    }

    /// The queue front is done with (delivered, dead-lettered or split).
    fn settled(&mut self, key: &str) {
        self.announced.remove(key);
        self.attempts = 0;
        self.backoff.reset();
    }

    /// The entry to deliver next; `None` when it is time to stop.
    fn next_key(&mut self) -> Option<String> {
        loop {
            while let Ok(m) = self.rx.try_recv() {
                self.handle(m);
            }
            let Some(key) = self.queue.front().cloned() else {
                if self.drain.is_some() {
                    return None;
                }
                match self.rx.recv() {
                    Ok(m) => self.handle(m),
                    Err(_) => return None,
                }
                continue;
            };
            if self.drain.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            return Some(key);
        }
    }

    /// The entry; `None` (with a note) when it is corrupt (moved aside),
    /// already handled, or unreadable.
    fn load(&self, key: &str) -> Option<Entry> {
        let name = self.opts.name;
        match Entry::load(&self.spool, key) {
            Ok(Some(e)) => Some(e),
            Ok(None) => {
                let bad = Entry::set_aside(&self.spool, key);
                eprintln!(
                    "{name}: spool entry {key} is corrupt; moved aside to {}",
                    bad.display()
                );
                None
            }
            // Listed twice (a split interrupted by a crash) and already handled.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                eprintln!("{name}: spool entry {key} unreadable ({e}); skipped");
                None
            }
        }
    }

    /// Sends the entry and acts on the outcome; returns the entry as it
    /// now is (rewritten after a partial delivery).
    fn attempt(&mut self, entry: Entry) -> (Next, Entry) {
        self.attempts += 1;
        let t0 = Instant::now();
        let outcome = self.transport.send(&entry);
        let attempt = Attempt {
            number: self.attempts,
            latency: t0.elapsed(),
        };
        self.act(entry, attempt, outcome)
    }

    fn act(&mut self, entry: Entry, attempt: Attempt, outcome: Outcome) -> (Next, Entry) {
        let next = match outcome {
            Outcome::Delivered => self.delivered(&entry, attempt),
            Outcome::Partial { delivered, rest } => {
                return self.partial(entry, attempt, &delivered, *rest)
            }
            Outcome::TooLarge(error) if entry.is_lines() && entry.records() > 1 => {
                self.split(&entry, attempt, &error)
            }
            Outcome::TooLarge(error) | Outcome::Permanent(error) => {
                self.give_up(&entry, attempt, &error)
            }
            Outcome::Retry { after, error } => self.retry(&entry, attempt, after, &error),
            Outcome::Stop(error) => {
                self.transport.report(Event::Stopped {
                    key: entry.key(),
                    error: &error,
                });
                self.report.stopped = Some(error);
                Next::Stop
            }
        };
        (next, entry)
    }

    fn delivered(&mut self, entry: &Entry, attempt: Attempt) -> Next {
        let key = entry.key();
        if let Err(e) = self.spool.remove(key) {
            eprintln!(
                "{}: delivered batch {key} but cannot remove it from the spool: {e}",
                self.opts.name
            );
        }
        if std::mem::take(&mut self.down) {
            self.transport.report(Event::Up);
        }
        self.transport.report(Event::Delivered {
            key,
            records: entry.records(),
            attempt,
        });
        Next::Settled
    }

    /// Rewrites the entry without the `delivered` records, then acts on
    /// `rest` for those left.
    fn partial(
        &mut self,
        entry: Entry,
        attempt: Attempt,
        delivered: &[usize],
        rest: Outcome,
    ) -> (Next, Entry) {
        if delivered.is_empty() || !entry.is_lines() {
            return self.act(entry, attempt, rest);
        }
        match entry.without(&self.spool, delivered) {
            Ok(None) => self.act(entry, attempt, Outcome::Delivered),
            Ok(Some(left)) => {
                self.transport.report(Event::Partial {
                    key: left.key(),
                    delivered: entry.records() - left.records(),
                    left: left.records(),
                    attempt,
                });
                self.act(left, attempt, rest)
            }
            Err(e) => {
                eprintln!(
                    "{}: cannot rewrite spool entry {} without its delivered records: {e}; it is sent whole again",
                    self.opts.name,
                    entry.key()
                );
                self.act(entry, attempt, rest)
            }
        }
    }

    fn retry(
        &mut self,
        entry: &Entry,
        attempt: Attempt,
        after: Option<Duration>,
        error: &str,
    ) -> Next {
        let age = Spool::key_time(entry.key())
            .and_then(|t| t.elapsed().ok())
            .unwrap_or_default();
        if self.opts.dead_letter_after.is_some_and(|max| age > max) {
            let why = format!(
                "{error}; undeliverable for {}s (--dead-letter-after)",
                age.as_secs()
            );
            return self.give_up(entry, attempt, &why);
        }
        if !self.down {
            self.transport.report(Event::Down { error });
            self.down = true;
        }
        if self.announced.insert(entry.key().to_owned()) {
            self.transport.report(Event::Spooled {
                key: entry.key(),
                records: entry.records(),
                attempt,
                error,
            });
        }
        Next::Retry(after.unwrap_or_else(|| self.backoff.next_delay()))
    }

    /// Replaces the front entry by its two halves at the queue front.
    fn split(&mut self, entry: &Entry, attempt: Attempt, error: &str) -> Next {
        match entry.split(&self.spool) {
            Ok([(k0, a), (k1, b)]) => {
                self.queue.pop_front();
                self.queue.retain(|k| *k != k0 && *k != k1);
                self.queue.push_front(k1);
                self.queue.push_front(k0);
                self.transport.report(Event::Split {
                    key: entry.key(),
                    records: entry.records(),
                    attempt,
                    error,
                    halves: [a, b],
                });
                Next::Split
            }
            Err(e) => {
                eprintln!(
                    "{}: splitting batch {}: {e}; retrying",
                    self.opts.name,
                    entry.key()
                );
                Next::Retry(self.backoff.next_delay())
            }
        }
    }

    /// Moves the front entry to the dead-letter directory; when even that
    /// fails it stays and is retried.
    fn give_up(&mut self, entry: &Entry, attempt: Attempt, error: &str) -> Next {
        match entry.dead_letter(&self.spool) {
            Ok(path) => {
                self.report.failed_entries += 1;
                self.transport.report(Event::Failed {
                    key: entry.key(),
                    records: entry.records(),
                    attempt,
                    error,
                    dead_letter: &path,
                });
                Next::Settled
            }
            Err(e) => {
                eprintln!(
                    "{}: batch {} rejected ({error}) but cannot be moved to the dead-letter directory: {e}; it stays in the spool",
                    self.opts.name,
                    entry.key()
                );
                Next::Retry(self.opts.max_backoff)
            }
        }
    }

    /// Counts (and tells, unless told before) the entries still queued,
    /// with those whose keys have been sent meanwhile.
    fn report_left(mut self) -> Report {
        while let Ok(m) = self.rx.try_recv() {
            self.handle(m);
        }
        for key in std::mem::take(&mut self.queue) {
            let records = Entry::load(&self.spool, &key)
                .ok()
                .flatten()
                .map_or(0, |e| e.records());
            self.report.left_entries += 1;
            self.report.left_records += records;
            if !self.announced.contains(&key) {
                self.transport.report(Event::Left { key: &key, records });
            }
        }
        self.report
    }
}
