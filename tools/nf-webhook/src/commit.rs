//! Group commit: the threads that write accepted results to the spool.
//!
//! An fsync costs the same for one notification as for a hundred, so
//! handler threads do not write the spool themselves. They verify a
//! request and queue a [`Ticket`] (the spool line plus what to do once it
//! is durable, normally: answer the connection). A committer blocks for
//! the first ticket, takes whatever else is already queued (up to
//! [`Limits::max_items`] / [`Limits::max_bytes`]), writes all of it as ONE
//! spool entry (one fsync, rename, directory fsync), and only then runs
//! every ticket's completion: 200 when the entry is on disk, 503 when the
//! write failed. Nothing is answered 200 before its bytes are durable.
//!
//! Handler threads do not wait for the disk, so the batch size is set by
//! how many requests arrive during one fsync, not by the handler count.
//! Two committers share the queue (see `COMMITTERS` in lib.rs), so one
//! batch is written while the other waits for its fsync; each ticket is
//! still answered only after its own batch is durable.

use std::io;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};

use crate::batch::{self, Batch};
use crate::worker::Job;
use crate::Ctx;

/// What to do with a ticket's outcome: `Ok` once its line is durable,
/// `Err` when it could not be stored.
pub type Completion = Box<dyn FnOnce(Result<(), &io::Error>) + Send>;

/// One accepted notification waiting for the disk.
pub struct Ticket {
    /// The spool line (a compact JSON [`crate::worker::SpoolEntry`], no newline).
    pub line: Vec<u8>,
    /// The signature to remember durably (persisted replay cache).
    pub seen: Option<crate::replay::Seen>,
    pub done: Completion,
}

/// Batch bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_items: usize,
    pub max_bytes: usize,
    /// Test hook (hidden `--commit-min-batch`, feature `test-hooks` only): wait for this many tickets
    /// (at most [`MIN_BATCH_WAIT`]) before writing, so tests can observe a
    /// multi-item batch without depending on timing.
    pub min_items: usize,
}

/// Longest a batch waits for `min_items`.
const MIN_BATCH_WAIT: Duration = Duration::from_secs(10);

/// Totals for the shutdown log line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub items: u64,
    pub writes: u64,
    pub largest: usize,
}

/// Commits until every sender is gone and the queue is empty (run by
/// each committer thread on a clone of the queue).
pub fn run(ctx: &Ctx, tickets: Receiver<Ticket>, lim: Limits) -> Stats {
    let mut stats = Stats::default();
    while let Ok(first) = tickets.recv() {
        let batch = gather(first, &tickets, lim);
        stats.items += batch.len() as u64;
        stats.writes += 1;
        stats.largest = stats.largest.max(batch.len());
        commit(ctx, batch);
    }
    stats
}

fn gather(first: Ticket, tickets: &Receiver<Ticket>, lim: Limits) -> Vec<Ticket> {
    let mut bytes = first.line.len() + 1;
    let mut batch = vec![first];
    let hold_until = Instant::now() + MIN_BATCH_WAIT;
    while batch.len() < lim.max_items && bytes < lim.max_bytes {
        let next = match tickets.try_recv() {
            Ok(t) => t,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) if batch.len() >= lim.min_items => break,
            Err(TryRecvError::Empty) => {
                match tickets.recv_timeout(hold_until.saturating_duration_since(Instant::now())) {
                    Ok(t) => t,
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
        };
        bytes += next.line.len() + 1;
        batch.push(next);
    }
    batch
}

fn commit(ctx: &Ctx, batch: Vec<Ticket>) {
    let seen: Vec<_> = batch.iter().filter_map(|t| t.seen).collect();
    let (lines, dones): (Vec<_>, Vec<_>) = batch.into_iter().map(|t| (t.line, t.done)).unzip();
    // Signatures first: a result is never answered 200 while its
    // signature could be forgotten by a restart.
    let stored = match ctx.replay.append(&seen) {
        Ok(compact) => {
            if compact {
                let live = ctx.verifier.live(dlp_record::time::unix_now());
                if let Err(e) = ctx.replay.compact(&live) {
                    ctx.log(&format!("compacting the replay cache: {e}"));
                }
            }
            ctx.spool.put(&batch::join(lines.iter().map(Vec::as_slice)))
        }
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("recording signatures in the replay cache: {e}"),
        )),
    };
    match stored {
        Ok(key) => {
            let n = lines.len();
            let b = Batch::new(key, lines);
            for index in 0..n {
                // Durable now: queue it even if the workers are shutting
                // down (the entry is replayed on the next start).
                let _ = ctx.jobs.send(Job {
                    batch: b.clone(),
                    index,
                });
            }
            for done in dones {
                done(Ok(()));
            }
        }
        Err(e) => {
            ctx.log(&format!(
                "storing {} result(s) in the spool {}: {e}",
                lines.len(),
                ctx.spool.dir().display()
            ));
            for done in dones {
                done(Err(&e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(n: usize) -> Ticket {
        Ticket {
            line: vec![b'x'; n],
            seen: None,
            done: Box::new(|_| {}),
        }
    }

    fn lim(max_items: usize, max_bytes: usize, min_items: usize) -> Limits {
        Limits {
            max_items,
            max_bytes,
            min_items,
        }
    }

    #[test]
    fn gather_takes_what_is_queued_up_to_the_limits() {
        let (tx, rx) = crossbeam_channel::unbounded();
        for _ in 0..10 {
            tx.send(ticket(9)).unwrap();
        }
        let sizes = |b: Vec<Ticket>| b.len();
        // Item cap.
        assert_eq!(sizes(gather(ticket(9), &rx, lim(4, 1 << 20, 1))), 4);
        // Byte cap (10 bytes a line with its newline): stops once reached.
        assert_eq!(sizes(gather(ticket(9), &rx, lim(100, 25, 1))), 3);
        // The rest, without waiting for more.
        assert_eq!(sizes(gather(ticket(9), &rx, lim(100, 1 << 20, 1))), 6);
        // A first item over the byte cap still goes alone.
        tx.send(ticket(9)).unwrap();
        assert_eq!(sizes(gather(ticket(100), &rx, lim(100, 10, 1))), 1);
    }

    #[test]
    fn gather_waits_for_min_items() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let late = std::thread::spawn(move || {
            for _ in 0..2 {
                std::thread::sleep(Duration::from_millis(20));
                tx.send(ticket(1)).unwrap();
            }
        });
        assert_eq!(gather(ticket(1), &rx, lim(100, 1 << 20, 3)).len(), 3);
        late.join().unwrap();
        // Senders gone: what there is.
        assert_eq!(gather(ticket(1), &rx, lim(100, 1 << 20, 3)).len(), 1);
    }
}
