//! The outbox: delivery of spooled batches, written once for every sink.
//!
//! A sink (webhook-post's HTTP POST; a Kafka, S3 or batch API one is one
//! more file implementing [`Transport`]) stores each batch durably in a
//! [`dlp_store::spool::Spool`] ([`store`], a [`Batch`], or a draft
//! starting with [`HEADER`]; a [`Batch::addressed`] keeps with each record
//! what the transport worked out for it at input) and hands its key to the
//! outbox ([`spawn`], [`Ctl::New`]). The outbox's thread delivers the
//! batches strictly in order, oldest first, through the sink's
//! [`Transport`]:
//!
//! * an entry is removed only once delivered, split or dead-lettered, so a
//!   crash at any point loses nothing (at-least-once: a batch sent just
//!   before a crash may be sent again after the restart);
//! * [`Outcome::Retry`] waits the server's retry-after, else an exponential
//!   back-off with jitter, while later batches wait on disk behind it; one
//!   failing longer than [`Options::dead_letter_after`] is dead-lettered;
//! * [`Outcome::Permanent`] moves the batch to `dead-letter/` in the spool
//!   and the next one goes;
//! * [`Outcome::TooLarge`] replaces the batch by its two halves, which take
//!   its place (a single record still too large is dead-lettered);
//! * [`Outcome::Partial`] (a transport that learns the fate of each record,
//!   such as JetStream's per-message acknowledgements) rewrites the entry
//!   to hold only the records that did not go, so a restart neither sends
//!   the others again nor loses any, then treats the rest as it says;
//! * [`Outcome::Stop`] (a configuration no retry can fix) ends delivery:
//!   the entry and those behind it stay in the spool, and the
//!   [`Report`] says why;
//! * [`Ctl::Drain`] gives a deadline: what is not delivered by then stays
//!   in the spool and is counted in the [`Report`].
//!
//! What happens is told to the transport as [`Event`]s, so each tool keeps
//! its own delivery records and messages.
//!
//! # Example: a transport
//!
//! ```
//! use outbox::{Entry, Event, Options, Outcome, Transport};
//!
//! /// Appends each batch's records to a vector; refuses a record "bad".
//! struct Collect(std::sync::Arc<std::sync::Mutex<Vec<String>>>);
//!
//! impl Transport for Collect {
//!     fn send(&mut self, entry: &Entry) -> Outcome {
//!         let data = match entry.read() {
//!             Ok(d) => d,
//!             Err(e) => return Outcome::Retry { after: None, error: e.to_string() },
//!         };
//!         let recs: Vec<String> = outbox::lines(&data)
//!             .map(|l| String::from_utf8_lossy(l).into_owned())
//!             .collect();
//!         if recs.iter().any(|r| r == "bad") {
//!             return Outcome::Permanent("refused".into());
//!         }
//!         self.0.lock().unwrap().extend(recs);
//!         Outcome::Delivered
//!     }
//!
//!     fn report(&mut self, event: Event<'_>) {
//!         if let Event::Failed { key, dead_letter, .. } = event {
//!             eprintln!("batch {key} kept in {}", dead_letter.display());
//!         }
//!     }
//! }
//!
//! let dir = std::env::temp_dir().join(format!("outbox-doc-{}", std::process::id()));
//! let spool = dlp_store::spool::Spool::open(&dir)?;
//! let got = std::sync::Arc::default();
//! let (ctl, done) = outbox::spawn(spool.clone(), Collect(std::sync::Arc::clone(&got)), vec![], Options::default());
//! for batch in [&[&b"a"[..], b"b"][..], &[b"bad"], &[b"c"]] {
//!     ctl.send(outbox::Ctl::New(outbox::store(&spool, batch)?)).unwrap();
//! }
//! let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
//! ctl.send(outbox::Ctl::Drain(deadline)).unwrap();
//! let report = done.join().unwrap();
//! assert_eq!(*got.lock().unwrap(), ["a", "b", "c"]);
//! assert_eq!((report.failed_entries, report.left_entries), (1, 0));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod deliver;
mod entry;
pub mod finish;

use std::path::Path;
use std::time::Duration;

pub use deliver::{spawn, Ctl, Options, Report};
pub use entry::{lines, split_address, store, Batch, Entry, ADDRESSED, DEAD_LETTER, HEADER};

/// A sink's way of sending one batch.
pub trait Transport {
    /// Sends one spooled entry and says how it went.
    fn send(&mut self, entry: &Entry) -> Outcome;

    /// Hears what the outbox did (to log it); by default nothing.
    fn report(&mut self, event: Event<'_>) {
        let _ = event;
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered: the entry is removed.
    Delivered,
    /// Not now (unreachable, busy, overloaded): retried after `after` when
    /// the server said so, else after a back-off.
    Retry {
        after: Option<Duration>,
        error: String,
    },
    /// Refused for good: the entry goes to the dead-letter directory.
    Permanent(String),
    /// Too large: the entry is halved (one record: dead-lettered).
    TooLarge(String),
    /// Some records went and the others did not: the records at
    /// `delivered` (indexes among the entry's lines) leave the entry, which
    /// is rewritten durably to hold the others, and `rest` decides what
    /// becomes of those (retried, dead-lettered, split, or delivery
    /// stopped; a `Partial` there counts indexes among the records left).
    /// No index: the same as `rest`. An entry that is not one line per
    /// record is never rewritten: `rest` applies to all of it, so what went
    /// is sent again.
    Partial {
        delivered: Vec<usize>,
        rest: Box<Outcome>,
    },
    /// A problem no retry can fix and no batch is to blame for (the
    /// destination belongs to someone else, a setting is refused): delivery
    /// stops, this entry and every later one stay in the spool, and
    /// [`Report::stopped`] holds the reason for the tool to exit with.
    Stop(String),
}

/// One attempt at the entry in front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// Attempts made on this entry, this one included.
    pub number: u32,
    /// How long [`Transport::send`] took.
    pub latency: Duration,
}

/// What the outbox did, for the transport to log.
#[derive(Debug)]
pub enum Event<'a> {
    /// Delivered and removed from the spool.
    Delivered {
        key: &'a str,
        records: u64,
        attempt: Attempt,
    },
    /// The entry's first failed attempt (told once per entry): it waits
    /// in the spool and is retried.
    Spooled {
        key: &'a str,
        records: u64,
        attempt: Attempt,
        error: &'a str,
    },
    /// Deliveries started failing (told once per outage).
    Down { error: &'a str },
    /// A delivery went through after [`Event::Down`].
    Up,
    /// Too large: replaced by two entries of `halves` records.
    Split {
        key: &'a str,
        records: u64,
        attempt: Attempt,
        error: &'a str,
        halves: [usize; 2],
    },
    /// Refused for good, or failing past the dead-letter age: kept in
    /// `dead_letter` and removed from the spool.
    Failed {
        key: &'a str,
        records: u64,
        attempt: Attempt,
        error: &'a str,
        dead_letter: &'a Path,
    },
    /// Still in the spool when the outbox stopped, never told before.
    Left { key: &'a str, records: u64 },
    /// Part of the entry was delivered ([`Outcome::Partial`]): the entry
    /// now holds only the `left` others.
    Partial {
        key: &'a str,
        delivered: u64,
        left: u64,
        attempt: Attempt,
    },
    /// Delivery stopped ([`Outcome::Stop`]) at this entry; it and the rest
    /// stay in the spool.
    Stopped { key: &'a str, error: &'a str },
}
