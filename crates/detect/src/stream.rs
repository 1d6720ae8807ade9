//! Scanning inputs larger than memory in overlapping windows.
//!
//! Each window owns the findings that *start* in its owned part; the
//! overlap after it lets a finding that starts there end (and have its
//! after-context) inside the same buffer, and the buffer keeps at least a
//! quarter of the overlap before the owned part (cut at a line start when
//! there is one) so boundary checks, hotword windows and before-context see
//! the same bytes as a whole-file scan. So a finding across a window edge
//! is reported exactly once, with global offsets and line numbers.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};

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
    /// `threads` times this much; once an input is split across threads,
    /// two windows are held (the next is read while the threads build the
    /// current one), each after the first owning half of that.
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
        self.windows(r, opts, |c, text| {
            cands.extend(c.into_iter().map(|mut c| {
                c.fill(text);
                c
            }));
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
        let bytes = self.windows(r, opts, |c, text| gate.push(c, text, &mut emit))?;
        Ok(StreamSummary {
            bytes,
            withheld: gate.finish(),
        })
    }

    /// The window loop: calls `each` with the candidates of each step, in
    /// input order, and the bytes they were found in (their texts are made
    /// from those, see [`Candidate::fill`]); returns the number of bytes
    /// read. Windows are scanned in this thread until the input is split
    /// across threads (see [`Engine::split_windows`]).
    fn windows(
        &self,
        mut r: impl Read,
        opts: StreamOptions,
        mut each: impl FnMut(Vec<Candidate>, &[u8]) -> io::Result<()>,
    ) -> io::Result<u64> {
        let sizes = Sizes::of(self, &opts);
        let mut w = Window::default();
        loop {
            let eof = w.fill(&mut r, &sizes)?;
            if opts.threads > 1 && w.buf.len() >= opts.split_from {
                return self.split_windows(r, w, eof, &sizes, opts.threads, each);
            }
            let owned_end = w.owned_end(eof, &sizes);
            let mut plan = w.plan(owned_end, &sizes);
            while let Some((_, st)) = plan.next(&w.buf) {
                each(self.build(&w.buf, &st), &w.buf[st.lo..st.hi])?;
            }
            if eof {
                return Ok(w.base.byte + w.buf.len() as u64);
            }
            let cut = cut(&w.buf, owned_end, &sizes);
            w.base = w.base.advanced(&w.buf[..cut]);
            w.state.advance(&w.buf[..cut]);
            w.buf.drain(..cut);
            w.owned_start = owned_end - cut;
        }
    }

    /// The candidates of one step of `buf`.
    fn build(&self, buf: &[u8], st: &Step) -> Vec<Candidate> {
        let mut state = st.state.clone();
        self.candidates_with(&buf[st.lo..st.hi], st.pos, st.owned.clone(), &mut state)
    }

    /// A step built: its number, candidates and the bytes they are in.
    fn built(&self, job: Job) -> Built {
        let cands = self.build(&job.buf, &job.step);
        let batch = Batch {
            cands,
            at: job.step.lo..job.step.hi,
            buf: job.buf,
        };
        (job.index, batch)
    }

    /// The rest of the window loop (from `w`, whose buffer is read) on
    /// `threads` threads, of which this is one. The threads take the steps
    /// of the queued windows in order; this thread queues the next window
    /// (reads it and works out where it starts) while the others build the
    /// current one's steps, so no thread waits at a window's end, then
    /// passes the steps' candidates on in order, building a step itself
    /// whenever none is ready. At most two windows are held at once, each
    /// after the first half the size of one window of the loop. A
    /// panic in a thread ends here as a panic (the caller's), never as a
    /// wait; an error from `r` or `each` stops every thread.
    fn split_windows(
        &self,
        mut r: impl Read,
        mut w: Window,
        mut eof: bool,
        sizes: &Sizes,
        threads: usize,
        each: impl FnMut(Vec<Candidate>, &[u8]) -> io::Result<()>,
    ) -> io::Result<u64> {
        let queue = Queue::default();
        std::thread::scope(|scope| {
            // Whatever way this ends, the threads stop waiting for steps.
            let _end = Closing(&queue);
            // Room for each thread's next results while this one reads.
            let (tx, rx) = mpsc::sync_channel::<Built>(2 * threads);
            for _ in 1..threads {
                let (tx, queue) = (tx.clone(), &queue);
                scope.spawn(move || {
                    let _lost = Lost(&tx);
                    while let Some(job) = queue.wait() {
                        #[cfg(test)]
                        tests::panic_on_mark(&job);
                        if tx.send(self.built(job)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let mut order = Order::new(rx, each);
            let claim = || queue.take().map(|job| self.built(job));
            let mut spare = Vec::new();
            let mut owned_end = w.owned_end(eof, sizes);
            let (mut buf, mut end) = queue.push(&mut w, owned_end, sizes, 0);
            // Two windows are held at once from here: each half as large.
            let sizes = &Sizes {
                window: (sizes.window / 2).max(1),
                ..*sizes
            };
            loop {
                if eof {
                    order.until(end, claim)?;
                    return Ok(w.base.byte + buf.len() as u64);
                }
                // The next window, made while the threads build this one.
                let cut = cut(&buf, owned_end, sizes);
                let mut next = Window {
                    buf: std::mem::take(&mut spare),
                    base: w.base.advanced(&buf[..cut]),
                    owned_start: owned_end - cut,
                    state: w.state.clone(),
                };
                next.state.advance(&buf[..cut]);
                next.buf.clear();
                next.buf.extend_from_slice(&buf[cut..]);
                eof = next.fill(&mut r, sizes)?;
                owned_end = next.owned_end(eof, sizes);
                let (next_buf, next_end) = queue.push(&mut next, owned_end, sizes, end);
                order.until(end, claim)?;
                // Every step of this window is passed on: its buffer is
                // free (unless a thread has not dropped its step yet).
                spare = Arc::try_unwrap(std::mem::replace(&mut buf, next_buf)).unwrap_or_default();
                (w, end) = (next, next_end);
            }
        })
    }
}

/// A window's buffer and where it is in the input.
#[derive(Default)]
struct Window {
    buf: Vec<u8>,
    /// Where `buf` starts in the input.
    base: Position,
    /// Where the owned part starts in `buf`.
    owned_start: usize,
    /// Structural context (a table's header and delimiter, the parser
    /// position) at the first byte of `buf`.
    state: ScanState,
}

/// The window loop's sizes, from [`StreamOptions`] and the engine.
#[derive(Clone, Copy)]
struct Sizes {
    window: usize,
    overlap: usize,
    step: usize,
}

impl Sizes {
    fn of(engine: &Engine, opts: &StreamOptions) -> Sizes {
        Sizes {
            window: opts.window.max(1).saturating_mul(opts.threads.max(1)),
            overlap: opts.overlap.max(engine.min_overlap()),
            step: opts.step.max(1),
        }
    }
}

impl Window {
    /// Reads until the buffer holds a window and its overlap after the
    /// owned part's start (true at the end of the input).
    fn fill(&mut self, r: &mut impl Read, sizes: &Sizes) -> io::Result<bool> {
        let eof = fill(
            r,
            &mut self.buf,
            self.owned_start + sizes.window + sizes.overlap,
        )?;
        self.state.prepare(&self.buf, self.base.byte == 0);
        Ok(eof)
    }

    fn owned_end(&self, eof: bool, sizes: &Sizes) -> usize {
        if eof {
            self.buf.len()
        } else {
            self.owned_start + sizes.window
        }
    }

    /// The steps of the owned part, which ends at `owned_end`. Each step
    /// sees `overlap / 4` bytes before it and `overlap` after it, as a
    /// window does (so per-step work, including the table parser's, stays
    /// proportional to the step).
    fn plan(&self, owned_end: usize, sizes: &Sizes) -> Plan {
        Plan {
            owned_end,
            overlap: sizes.overlap,
            step: sizes.step,
            start: self.owned_start,
            made: 0,
            at: 0,
            pos: self.base,
            state: self.state.clone(),
        }
    }
}

/// Where the next window's buffer starts in `buf`, a window's buffer whose
/// owned part ends at `owned_end`: between overlap/2 and overlap/4 before
/// that end, after a newline when there is one; 0 (keep it all) while the
/// buffer holds less than a window plus overlap/2, so small windows do not
/// move the buffer at every step.
fn cut(buf: &[u8], owned_end: usize, sizes: &Sizes) -> usize {
    let overlap = sizes.overlap;
    if owned_end < overlap / 2 + sizes.window {
        return 0;
    }
    let lo = owned_end - overlap / 2;
    let hi = owned_end - overlap / 4;
    memchr::memchr(b'\n', &buf[lo..hi]).map_or(lo, |i| lo + i + 1)
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

/// The steps of the owned part of a window, each `step` bytes, made one
/// at a time: a step's start position and table-parser state follow from
/// the step before it.
struct Plan {
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

impl Plan {
    /// How many steps are left.
    fn left(&self) -> usize {
        self.owned_end
            .saturating_sub(self.start)
            .div_ceil(self.step)
    }

    /// The next step of `buf` (the window's buffer) and its number.
    fn next(&mut self, buf: &[u8]) -> Option<(usize, Step)> {
        if self.start >= self.owned_end {
            return None;
        }
        let end = (self.start + self.step).min(self.owned_end);
        let lo = self.start.saturating_sub(self.overlap / 4);
        let hi = (end + self.overlap).min(buf.len());
        self.pos = self.pos.advanced(&buf[self.at..lo]);
        self.state.advance(&buf[self.at..lo]);
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

/// A step to build: its window's buffer, its number among the input's
/// steps, and the step.
struct Job {
    buf: Arc<Vec<u8>>,
    index: usize,
    step: Step,
}

/// A step's candidates and the bytes they were found in (`buf[at]`), from
/// which the thread that passes them on makes their texts.
#[derive(Default)]
struct Batch {
    cands: Vec<Candidate>,
    buf: Arc<Vec<u8>>,
    at: std::ops::Range<usize>,
}

/// A built step: its number and candidates.
type Built = (usize, Batch);

/// What a thread sends when it panics, in place of its step.
const LOST: usize = usize::MAX;

/// A window whose steps are not all taken: its buffer, the number of its
/// first step, and its plan.
type Queued = (Arc<Vec<u8>>, usize, Plan);

/// The windows whose steps are not all taken, in input order; and whether
/// the loop has ended.
#[derive(Default)]
struct Queue {
    open: Mutex<(VecDeque<Queued>, bool)>,
    ready: Condvar,
}

impl Queue {
    /// Queues the steps of `w`'s owned part (ending at `owned_end`), the
    /// first numbered `first`; returns the buffer (moved out of `w`) and
    /// the number after its last step.
    fn push(
        &self,
        w: &mut Window,
        owned_end: usize,
        sizes: &Sizes,
        first: usize,
    ) -> (Arc<Vec<u8>>, usize) {
        let plan = w.plan(owned_end, sizes);
        let end = first + plan.left();
        let buf = Arc::new(std::mem::take(&mut w.buf));
        if end > first {
            self.lock().0.push_back((Arc::clone(&buf), first, plan));
            self.ready.notify_all();
        }
        (buf, end)
    }

    fn lock(&self) -> MutexGuard<'_, (VecDeque<Queued>, bool)> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next step, if one is queued.
    fn take(&self) -> Option<Job> {
        Self::next(&mut self.lock().0)
    }

    /// The next step, waiting for one to be queued; `None` once the loop
    /// has ended.
    fn wait(&self) -> Option<Job> {
        let mut open = self.lock();
        loop {
            if open.1 {
                return None;
            }
            if let Some(job) = Self::next(&mut open.0) {
                return Some(job);
            }
            open = self
                .ready
                .wait(open)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn next(windows: &mut VecDeque<Queued>) -> Option<Job> {
        let (buf, first, plan) = windows.front_mut()?;
        let (i, step) = plan.next(buf)?;
        let job = Job {
            buf: Arc::clone(buf),
            index: *first + i,
            step,
        };
        if plan.left() == 0 {
            windows.pop_front();
        }
        Some(job)
    }
}

/// Ends the loop when dropped: threads waiting for a step stop.
struct Closing<'q>(&'q Queue);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        self.0.lock().1 = true;
        self.0.ready.notify_all();
    }
}

/// Tells the passing-on thread that this thread panicked (it may have
/// held a step, which would otherwise be waited for forever).
struct Lost<'t>(&'t mpsc::SyncSender<Built>);

impl Drop for Lost<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.send((LOST, Batch::default()));
        }
    }
}

/// Passes built steps on in order: those the threads send (numbered, in
/// any order), and those this thread builds when nothing is ready.
struct Order<E> {
    rx: mpsc::Receiver<Built>,
    each: E,
    early: BTreeMap<usize, Batch>,
    /// The number of the next step to pass on.
    want: usize,
}

impl<E: FnMut(Vec<Candidate>, &[u8]) -> io::Result<()>> Order<E> {
    fn new(rx: mpsc::Receiver<Built>, each: E) -> Self {
        Order {
            rx,
            each,
            early: BTreeMap::new(),
            want: 0,
        }
    }

    /// Passes steps on up to (not including) `end`, building what `claim`
    /// gives while nothing is ready. Every step before `end` must be
    /// queued: once `claim` has none, this waits for the threads. Ends
    /// with an error at `each`'s first error, or when a thread panicked or
    /// every thread is gone.
    fn until(&mut self, end: usize, claim: impl Fn() -> Option<Built>) -> io::Result<()> {
        let mut claimed_all = false;
        while self.want < end {
            if let Some(b) = self.early.remove(&self.want) {
                (self.each)(b.cands, &b.buf[b.at])?;
                self.want += 1;
                continue;
            }
            let got = match self.rx.try_recv() {
                Ok(done) => done,
                Err(_) if !claimed_all => match claim() {
                    Some(mine) => mine,
                    None => {
                        claimed_all = true;
                        continue;
                    }
                },
                Err(_) => self.rx.recv().unwrap_or((LOST, Batch::default())),
            };
            if got.0 == LOST {
                return Err(io::Error::other("a scanning thread stopped"));
            }
            self.early.insert(got.0, got.1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step numbered `i`, told apart by its capacity.
    fn step(i: usize) -> Built {
        let cands = Vec::with_capacity(i + 1);
        (
            i,
            Batch {
                cands,
                ..Batch::default()
            },
        )
    }

    /// An `Order` that records the steps it passes on, and its receiver's
    /// sender.
    fn order(order: &mut Vec<usize>) -> (mpsc::SyncSender<Built>, Order<Each<'_>>) {
        let (tx, rx) = mpsc::sync_channel(4);
        let each = move |c: Vec<Candidate>, _: &[u8]| {
            order.push(c.capacity() - 1);
            Ok(())
        };
        (tx, Order::new(rx, Box::new(each)))
    }

    type Each<'a> = Box<dyn FnMut(Vec<Candidate>, &[u8]) -> io::Result<()> + 'a>;

    /// This thread builds what it claims and the others send, in order;
    /// steps after `end` wait for the next call.
    #[test]
    fn order_mixes_claimed_and_sent_steps() {
        let mut passed = Vec::new();
        let (tx, mut o) = order(&mut passed);
        let sender = std::thread::spawn(move || {
            for i in [3, 1, 5] {
                tx.send(step(i)).unwrap();
            }
        });
        let mine = Mutex::new(vec![4, 0, 2]);
        let claim = || mine.lock().unwrap().pop().map(step);
        o.until(4, claim).unwrap();
        o.until(6, claim).unwrap();
        sender.join().unwrap();
        drop(o);
        assert_eq!(passed, [0, 1, 2, 3, 4, 5]);
    }

    /// A thread that dies holding a step (a panic) ends the wait with an
    /// error once every step is claimed, whether it said so or not.
    #[test]
    fn a_lost_step_ends_the_wait() {
        for says_so in [false, true] {
            let mut passed = Vec::new();
            let (tx, mut o) = order(&mut passed);
            let sender = std::thread::spawn(move || {
                tx.send(step(2)).unwrap();
                // Step 1 was this thread's; it is gone without sending it.
                if says_so {
                    tx.send((LOST, Batch::default())).unwrap();
                }
            });
            let left = Mutex::new(vec![0]);
            let err = o
                .until(3, || left.lock().unwrap().pop().map(step))
                .unwrap_err();
            assert_eq!(err.to_string(), "a scanning thread stopped");
            sender.join().unwrap();
            drop(o);
            assert_eq!(
                passed,
                [0],
                "step 0 only: 1 never came, so 2 is not passed on"
            );
        }
    }

    /// A thread that panics while it builds a step ends the scan as a
    /// panic of the caller's (the scope's join), and nothing waits forever
    /// (the steps are only marked, so this thread never panics itself).
    #[test]
    fn a_panicking_thread_ends_the_scan() {
        let e = Engine::new(&crate::default_rules()).unwrap();
        let line = b"7,Ana Diaz,5433-9502-3725-7862,536-22-8726,ana7@example.org\n";
        let text = line.repeat(20_000);
        let opts = StreamOptions {
            window: 64 << 10,
            step: 4 << 10,
            threads: 3,
            split_from: 0,
            ..StreamOptions::default()
        };
        let scan = |text: &[u8]| {
            std::panic::catch_unwind(|| e.scan_stream(text, opts, |_| Ok(())).map(|s| s.bytes))
        };
        assert_eq!(scan(&text).unwrap().unwrap(), text.len() as u64);
        // Every step holds the mark: the other threads' first steps panic.
        let marked = [&line[..], MARK].concat().repeat(20_000);
        let r = scan(&marked);
        let msg = *r.unwrap_err().downcast::<&str>().unwrap();
        assert_eq!(msg, "a scoped thread panicked");
    }

    /// Makes a thread's step panic (see above).
    const MARK: &[u8] = b"\nPANIC IN A THREAD\n";

    pub(super) fn panic_on_mark(job: &Job) {
        let seen = &job.buf[job.step.lo..job.step.hi];
        if seen.windows(MARK.len()).any(|w| w == MARK) {
            panic!("a thread panics (test)");
        }
    }
}
