//! A sink's run around the delivery thread, the same for every tool: open
//! the spool (saying what an earlier run left), let the thread deliver
//! after input ends (until `--max-retry-time`, or `--grace` after a
//! signal), and say what stays in the spool and whether that makes the
//! exit status 1.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use dlp_store::spool::Spool;

use crate::{Ctl, Report};

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What a tool calls itself and its deliveries in its messages.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    /// The tool's name, prefixing every message.
    pub tool: &'static str,
    /// What it does to a batch: "delivering", "publishing".
    pub doing: &'static str,
    /// What a batch left behind was not: "delivered", "acknowledged".
    pub not_done: &'static str,
}

/// Opens (and so locks) the spool, so two instances never deliver the same
/// entries, and lists what an earlier run left in it (said on stderr).
pub fn open(dir: &Path, words: Words) -> anyhow::Result<(Spool, Vec<String>)> {
    let spool = Spool::open(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock => anyhow::anyhow!("{e}"),
        _ => anyhow::anyhow!("opening spool {}: {e}", dir.display()),
    })?;
    let pending = spool
        .list()
        .map_err(|e| anyhow::anyhow!("listing spool {}: {e}", dir.display()))?;
    if !pending.is_empty() {
        eprintln!(
            "{}: {} from an earlier run pending in {}; {} them first",
            words.tool,
            count(pending.len() as u64, "batch", "batches"),
            dir.display(),
            words.doing
        );
    }
    Ok((spool, pending))
}

/// How long delivery goes on once input has ended.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// At end of input (`--max-retry-time`).
    pub retry: Duration,
    /// After a signal or a closed stdout (`--grace`).
    pub grace: Duration,
    /// How long an attempt in flight at the deadline may still take
    /// (waited for at end of input, not after a signal).
    pub in_flight: Duration,
}

/// Lets the delivery thread deliver what is queued: for `budget.retry` at
/// end of input, for `budget.grace` once interrupted (also when
/// `interrupt()` turns true while draining: a signal, a closed stdout).
/// Returns the thread's report (`None`: still delivering at the hard
/// deadline) and whether the run was interrupted.
pub fn drain(
    ctl: &Sender<Ctl>,
    worker: JoinHandle<Report>,
    budget: Budget,
    mut interrupted: bool,
    interrupt: impl Fn() -> bool,
) -> (Option<Report>, bool) {
    let drain_for = |interrupted: bool| {
        let (time, slack) = if interrupted {
            (budget.grace, Duration::from_millis(500))
        } else {
            (budget.retry, budget.in_flight)
        };
        let deadline = Instant::now() + time;
        let _ = ctl.send(Ctl::Drain(deadline));
        deadline + slack
    };
    let mut hard = drain_for(interrupted);
    let report = loop {
        if worker.is_finished() {
            break worker.join().ok();
        }
        if !interrupted && interrupt() {
            interrupted = true;
            hard = hard.min(drain_for(true));
        }
        if Instant::now() >= hard {
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (report, interrupted)
}

/// Says on stderr what stays in `spool` after the run; true when that makes
/// the exit status 1: a batch failed for good, or batches were left at end
/// of input (after a signal, leaving them is the expected outcome).
pub fn left_behind(words: Words, spool: &Path, report: Option<&Report>, interrupted: bool) -> bool {
    let Some(r) = report else {
        eprintln!(
            "{}: a delivery was still in progress at exit; undelivered batches stay in {}",
            words.tool,
            spool.display()
        );
        return !interrupted;
    };
    let early = interrupted || r.stopped.is_some();
    if r.left_entries > 0 {
        eprintln!(
            "{}: {} in {} not {}{}; they stay in {} and are sent first on the next start",
            words.tool,
            count(r.left_records, "record", "records"),
            count(r.left_entries, "batch", "batches"),
            words.not_done,
            if early {
                ""
            } else {
                " within --max-retry-time"
            },
            spool.display()
        );
    }
    r.failed_entries > 0 || (r.left_entries > 0 && !early)
}
