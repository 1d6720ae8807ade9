//! Scanning inputs larger than memory in overlapping windows.
//!
//! Each window owns the findings that *start* in its owned part; the
//! overlap after it lets a finding that starts there end (and have its
//! after-context) inside the same buffer, and the buffer keeps at least a
//! quarter of the overlap before the owned part (cut at a line start when
//! there is one) so boundary checks, hotword windows and before-context see
//! the same bytes as a whole-file scan. So a finding across a window edge
//! is reported exactly once, with global offsets and line numbers.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex, PoisonError};

use crate::engine::{Candidate, Engine, Position, SCAN_MARGIN};
use crate::gate::Gate;
use crate::structure::ScanState;
use crate::Match;

/// What [`Engine::scan_stream`] saw besides the findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamSummary {
    /// Bytes read.
    pub bytes: u64,
    /// Findings of rules that fired but were not passed on: more than
    /// [`HELD_LIMIT`](crate::HELD_LIMIT) findings were waiting for an ALL rule.
    pub withheld: u64,
}

/// Window sizes for [`Engine::scan_reader`], and how a large input is
/// split across threads.
#[derive(Debug, Clone, Copy)]
pub struct StreamOptions {
    /// Bytes owned per window and thread (any size from 1; small windows
    /// only cost time, never findings). A window of `threads` threads owns
    /// `threads` times this much: each window ends with threads waiting for
    /// its last steps, so it is not made smaller than the threads' share.
    pub window: usize,
    /// Bytes after a window's owned part that it may look into (raised to
    /// the engine's minimum, see [`Engine::min_overlap`]).
    pub overlap: usize,
    /// Bytes of a window whose candidates are built at once (a step). A
    /// dense window holds hundreds of thousands of findings, which must not
    /// be built all at once; steps are also what threads share.
    pub step: usize,
    /// Threads that build a window's steps at the same time (1: all in the
    /// caller's thread). Findings come out in input order, the same as
    /// with one thread.
    pub threads: usize,
    /// An input is split across `threads` only from this many bytes (its
    /// first window holds at least this much): below it the threads cost
    /// more than they save.
    pub split_from: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            window: 8 << 20,
            overlap: 64 << 10,
            step: 256 << 10,
            threads: 1,
            split_from: 4 << 20,
        }
    }
}

/// One step of a window: the bytes it sees (`lo..hi` of the buffer), the
/// part it owns (relative to `lo`), and where `lo` is in the input (offsets
/// and line, and the table parser's state).
struct Step {
    lo: usize,
    hi: usize,
    owned: std::ops::Range<usize>,
    pos: Position,
    state: ScanState,
}

/// Reads until `buf` holds `want` bytes or the input ends (true at EOF).
/// The buffer grows with what is read (never zero-filled ahead), so a
/// small input costs a small buffer.
fn fill(r: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    while buf.len() < want {
        let need = (want - buf.len()) as u64;
        match (&mut *r).take(need).read_to_end(buf) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

impl Engine {
    /// The overlap a stream window needs: the longest finding plus room
    /// for boundary and context checks on either side.
    pub fn min_overlap(&self) -> usize {
        (self.max_finding_len() + 2 * 1024).max(4 * (self.context_bytes() + SCAN_MARGIN + 1024))
    }

    /// Scans everything `r` yields, a window at a time, and applies the
    /// rules once at the end, as [`Engine::scan`] does to one buffer.
    /// Memory grows with the findings; [`Engine::scan_stream`] does not.
    pub fn scan_reader(&self, r: impl Read, opts: StreamOptions) -> io::Result<Vec<Match>> {
        let mut cands: Vec<Candidate> = Vec::new();
        self.windows(r, opts, |c| {
            cands.extend(c);
            Ok(())
        })?;
        Ok(self.finish(cands))
    }

    /// Scans everything `r` yields, a window at a time, and passes each
    /// finding of a firing rule to `emit` as soon as one of its rules has
    /// fired. A rule that needs several findings (`minNumFindings` > 1, or
    /// ALL across detectors) holds them until it fires, at most
    /// [`HELD_LIMIT`](crate::HELD_LIMIT) per input. Memory is bounded by the
    /// window and overlap, not by the input's size or its number of
    /// findings.
    pub fn scan_stream(
        &self,
        r: impl Read,
        opts: StreamOptions,
        mut emit: impl FnMut(Match) -> io::Result<()>,
    ) -> io::Result<StreamSummary> {
        let mut gate = Gate::new(self);
        let bytes = self.windows(r, opts, |c| gate.push(c, &mut emit))?;
        Ok(StreamSummary {
            bytes,
            withheld: gate.finish(),
        })
    }

    /// The window loop: calls `each` with the candidates of each window, in
    /// input order, and returns the number of bytes read.
    fn windows(
        &self,
        mut r: impl Read,
        opts: StreamOptions,
        mut each: impl FnMut(Vec<Candidate>) -> io::Result<()>,
    ) -> io::Result<u64> {
        let overlap = opts.overlap.max(self.min_overlap());
        let window = opts.window.max(1).saturating_mul(opts.threads.max(1));
        let mut buf: Vec<u8> = Vec::new();
        let mut base = Position::default();
        let mut owned_start = 0usize;
        // Structural context (a table's header and delimiter, the parser
        // position) at the first byte of `buf`.
        let mut state = ScanState::new();
        // Once an input is split across threads, it stays split.
        let mut split = false;
        loop {
            let eof = fill(&mut r, &mut buf, owned_start + window + overlap)?;
            let owned_end = if eof { buf.len() } else { owned_start + window };
            state.prepare(&buf, base.byte == 0);
            // Candidates a step at a time. Each step sees `overlap / 4`
            // bytes before it and `overlap` after it, as a window does (so
            // per-step work, including the table parser's, stays
            // proportional to the step).
            let plan = Plan::new(
                &buf,
                owned_start..owned_end,
                base,
                &state,
                overlap,
                opts.step,
            );
            let threads = if split || buf.len() >= opts.split_from {
                split = true;
                opts.threads.min(plan.len())
            } else {
                1
            };
            self.run_steps(&buf, plan, threads, &mut each)?;
            if eof {
                return Ok(base.byte + buf.len() as u64);
            }
            // Keep between overlap/4 and overlap/2 (plus one window, so
            // small windows do not move the buffer at every step) before
            // the next owned part, cut after a newline when there is one.
            if owned_end < overlap / 2 + window {
                owned_start = owned_end;
                continue;
            }
            let lo = owned_end - overlap / 2;
            let hi = owned_end - overlap / 4;
            let cut = memchr::memchr(b'\n', &buf[lo..hi]).map_or(lo, |i| lo + i + 1);
            base = base.advanced(&buf[..cut]);
            state.advance(&buf[..cut]);
            buf.drain(..cut);
            owned_start = owned_end - cut;
        }
    }

    /// Builds the candidates of the steps of `plan` and passes them to
    /// `each` in order: in this thread, or on `threads` threads of which
    /// this is one (it passes on what is done, and builds a step itself
    /// when nothing is ready, so `threads` threads run, never more). Each
    /// step is planned when it is claimed, so planning one step overlaps
    /// building others. A panic in a thread ends here as a panic (the
    /// caller's), never as a wait.
    fn run_steps(
        &self,
        buf: &[u8],
        mut plan: Plan<'_>,
        threads: usize,
        each: &mut impl FnMut(Vec<Candidate>) -> io::Result<()>,
    ) -> io::Result<()> {
        let build = |st: &Step| {
            let mut state = st.state.clone();
            self.candidates_with(&buf[st.lo..st.hi], st.pos, st.owned.clone(), &mut state)
        };
        if threads <= 1 {
            while let Some((_, st)) = plan.next() {
                each(build(&st))?;
            }
            return Ok(());
        }
        let n = plan.len();
        let plan = Mutex::new(plan);
        let stop = AtomicBool::new(false);
        // The next unclaimed step, built: by a thread, or by this one.
        let claim = || {
            let (i, st) = plan.lock().unwrap_or_else(PoisonError::into_inner).next()?;
            Some((i, build(&st)))
        };
        std::thread::scope(|scope| {
            // Room for each thread's next result while this one builds.
            let (tx, rx) = mpsc::sync_channel::<(usize, Vec<Candidate>)>(2 * threads);
            for _ in 1..threads {
                let tx = tx.clone();
                let (stop, claim) = (&stop, &claim);
                scope.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let Some(done) = claim() else { break };
                        if tx.send(done).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let r = in_order(rx, n, each, claim);
            // On an error the threads stop at their next step (and a send
            // fails now that the receiver is gone).
            stop.store(true, Ordering::Relaxed);
            r
        })
    }
}

/// The steps of the owned part of a window, each `step` bytes, made one
/// at a time: a step's start position and table-parser state follow from
/// the step before it.
struct Plan<'b> {
    buf: &'b [u8],
    owned_end: usize,
    overlap: usize,
    step: usize,
    /// Where the next step's owned part starts.
    start: usize,
    /// Steps made so far.
    made: usize,
    /// The offset that `pos` and `state` are at.
    at: usize,
    pos: Position,
    state: ScanState,
}

impl<'b> Plan<'b> {
    /// The plan of the owned part `owned` of `buf` (which starts at
    /// `base` with the table parser at `state`).
    fn new(
        buf: &'b [u8],
        owned: std::ops::Range<usize>,
        base: Position,
        state: &ScanState,
        overlap: usize,
        step: usize,
    ) -> Self {
        Plan {
            buf,
            owned_end: owned.end,
            overlap,
            step: step.max(1),
            start: owned.start,
            made: 0,
            at: 0,
            pos: base,
            state: state.clone(),
        }
    }

    /// How many steps there are in all.
    fn len(&self) -> usize {
        self.made
            + self
                .owned_end
                .saturating_sub(self.start)
                .div_ceil(self.step)
    }

    /// The next step and its number.
    fn next(&mut self) -> Option<(usize, Step)> {
        if self.start >= self.owned_end {
            return None;
        }
        let end = (self.start + self.step).min(self.owned_end);
        let lo = self.start.saturating_sub(self.overlap / 4);
        let hi = (end + self.overlap).min(self.buf.len());
        self.pos = self.pos.advanced(&self.buf[self.at..lo]);
        self.state.advance(&self.buf[self.at..lo]);
        self.at = lo;
        let st = Step {
            lo,
            hi,
            owned: self.start - lo..end - lo,
            pos: self.pos,
            state: self.state.clone(),
        };
        self.start = end;
        self.made += 1;
        Some((self.made - 1, st))
    }
}

/// Passes the steps' candidates to `each` in order: those the threads
/// send (numbered, in any order), and those `claim` builds in this thread
/// when nothing is ready. Stops at the first error, or when every step is
/// claimed and the senders are gone (a thread panicked: the scope's join
/// reports it).
fn in_order(
    rx: mpsc::Receiver<(usize, Vec<Candidate>)>,
    n: usize,
    each: &mut impl FnMut(Vec<Candidate>) -> io::Result<()>,
    claim: impl Fn() -> Option<(usize, Vec<Candidate>)>,
) -> io::Result<()> {
    let mut early: BTreeMap<usize, Vec<Candidate>> = BTreeMap::new();
    let mut want = 0;
    let mut claimed_all = false;
    while want < n {
        if let Some(c) = early.remove(&want) {
            each(c)?;
            want += 1;
            continue;
        }
        let got = match rx.try_recv() {
            Ok(done) => Some(done),
            Err(_) if !claimed_all => {
                let mine = claim();
                claimed_all = mine.is_none();
                mine
            }
            Err(_) => match rx.recv() {
                Ok(done) => Some(done),
                Err(_) => break,
            },
        };
        if let Some((i, c)) = got {
            early.insert(i, c);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A step numbered `i`, told apart by its capacity.
    fn step(i: usize) -> (usize, Vec<Candidate>) {
        (i, Vec::with_capacity(i + 1))
    }

    /// This thread builds what it claims and the others send, in order.
    #[test]
    fn in_order_mixes_claimed_and_sent_steps() {
        let (tx, rx) = mpsc::sync_channel(4);
        let sender = std::thread::spawn(move || {
            for i in [3, 1] {
                tx.send(step(i)).unwrap();
            }
        });
        let mine = Mutex::new(vec![0, 2]);
        let claim = || mine.lock().unwrap().pop().map(step);
        let mut order = Vec::new();
        let mut each = |c: Vec<Candidate>| {
            order.push(c.capacity() - 1);
            Ok(())
        };
        in_order(rx, 4, &mut each, claim).unwrap();
        sender.join().unwrap();
        assert_eq!(order, [0, 1, 2, 3]);
    }

    /// A thread that dies holding a step (a panic) ends the wait once every
    /// step is claimed: the caller returns, the scope's join reports it.
    #[test]
    fn a_lost_step_ends_the_wait() {
        let (tx, rx) = mpsc::sync_channel(4);
        let sender = std::thread::spawn(move || {
            tx.send(step(2)).unwrap();
            // Step 1 was this thread's; it is gone without sending it.
        });
        let claim = {
            let left = Mutex::new(vec![0]);
            move || left.lock().unwrap().pop().map(step)
        };
        let mut n = 0;
        in_order(
            rx,
            3,
            &mut |_: Vec<Candidate>| {
                n += 1;
                Ok(())
            },
            claim,
        )
        .unwrap();
        sender.join().unwrap();
        assert_eq!(n, 1, "step 0 only: 1 never came, so 2 is not passed on");
    }
}
