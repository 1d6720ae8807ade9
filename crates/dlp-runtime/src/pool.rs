//! The ordered worker pool: jobs are numbered as they are submitted and run
//! on a few worker threads; each job streams its results in small batches
//! through a bounded channel of its own, and the owner releases them
//! strictly in submission order, the job at the head while it still runs.
//!
//! Output so follows the input's order whatever the timing, and memory is
//! bounded by the jobs in flight times their channel, whatever a job
//! produces: a worker whose job is not at the head waits once its channel
//! is full. A job that panics ends with the result `on_panic` makes of the
//! panic message, and its worker goes on with the next job, so the owner
//! never waits for a result that cannot come.
//!
//! Used by [`crate::par`] (line blocks of path-filter and findings-csv)
//! and by pii-scan (one job per file).

use std::collections::VecDeque;
use std::io;
use std::panic::AssertUnwindSafe;
use std::thread::{JoinHandle, Scope};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

/// Results sent per channel message.
const BATCH: usize = 64;
/// Messages a job's channel holds before its worker waits.
const DEPTH: usize = 8;

/// Where a running job sends its results.
pub struct Emitter<E> {
    batch: Vec<E>,
    tx: Sender<Vec<E>>,
}

impl<E> Emitter<E> {
    /// Sends one result. An error means the results are no longer wanted
    /// (the pool was closed): the job should stop.
    pub fn send(&mut self, e: E) -> io::Result<()> {
        self.batch.push(e);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends one result and what is batched before it at once: for a
    /// result that is itself a large batch (many records written out), so
    /// that a channel message never holds many of them.
    pub fn send_now(&mut self, e: E) -> io::Result<()> {
        self.batch.push(e);
        self.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.tx
            .send(full)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "results no longer wanted"))
    }
}

impl<E> Drop for Emitter<E> {
    fn drop(&mut self) {
        if !self.batch.is_empty() {
            let _ = self.tx.send(std::mem::take(&mut self.batch));
        }
    }
}

type Run<'a, E> = Box<dyn FnOnce(&mut Emitter<E>) + Send + 'a>;

struct Task<'a, E> {
    run: Run<'a, E>,
    emitter: Emitter<E>,
}

enum Slot<E> {
    Ready(Vec<E>),
    Running(Receiver<Vec<E>>),
}

/// Submits jobs and releases their results in order. `'a` is what jobs
/// may borrow: `'static` from [`Ordered::new`], a thread scope's lifetime
/// from [`Ordered::scoped`].
pub struct Ordered<'a, E: Send + 'a> {
    tx: Option<Sender<Task<'a, E>>>,
    workers: Vec<JoinHandle<()>>,
    slots: VecDeque<Slot<E>>,
    max_in_flight: usize,
}

fn work<'a, E: Send + 'a>(rx: Receiver<Task<'a, E>>, on_panic: fn(String) -> E) {
    for task in rx {
        let Task { run, mut emitter } = task;
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| run(&mut emitter)));
        if let Err(p) = ran {
            let _ = emitter.send(on_panic(crate::par::panic_message(&*p)));
        }
    }
}

impl<E: Send + 'static> Ordered<'static, E> {
    /// Starts `jobs` worker threads named `name-N`; jobs own what they use.
    pub fn new(name: &str, jobs: usize, on_panic: fn(String) -> E) -> io::Result<Self> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let workers = (0..jobs.max(1))
            .map(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || work(rx, on_panic))
            })
            .collect::<io::Result<_>>()?;
        Ok(Ordered::with(tx, workers, jobs))
    }
}

impl<'a, E: Send + 'a> Ordered<'a, E> {
    /// Starts `jobs` worker threads in `scope`; jobs may borrow from it. The
    /// scope joins the workers once the pool is dropped or closed.
    pub fn scoped<'env>(
        scope: &'a Scope<'a, 'env>,
        name: &str,
        jobs: usize,
        on_panic: fn(String) -> E,
    ) -> io::Result<Self> {
        let (tx, rx) = crossbeam_channel::unbounded();
        for i in 0..jobs.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn_scoped(scope, move || work(rx, on_panic))?;
        }
        Ok(Ordered::with(tx, Vec::new(), jobs))
    }

    fn with(tx: Sender<Task<'a, E>>, workers: Vec<JoinHandle<()>>, jobs: usize) -> Self {
        Ordered {
            tx: Some(tx),
            workers,
            slots: VecDeque::new(),
            max_in_flight: 4 * jobs.max(1) + 8,
        }
    }

    /// Queues a job; its results come out after those of every job
    /// submitted before it.
    pub fn submit(&mut self, run: impl FnOnce(&mut Emitter<E>) + Send + 'a) {
        let (tx, rx) = crossbeam_channel::bounded(DEPTH);
        let task = Task {
            run: Box::new(run),
            emitter: Emitter {
                batch: Vec::with_capacity(BATCH),
                tx,
            },
        };
        // The workers hold the receiver until the pool is dropped.
        let _ = self.tx.as_ref().map(|t| t.send(task));
        self.slots.push_back(Slot::Running(rx));
    }

    /// Queues results known without running anything, in their place.
    pub fn submit_ready(&mut self, results: Vec<E>) {
        self.slots.push_back(Slot::Ready(results));
    }

    /// True when every submitted result has been released.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Releases results that are ready, in order, to `sink`. With `wait`,
    /// blocks until everything submitted has been released; otherwise
    /// blocks only while too many jobs are in flight.
    pub fn release<T>(
        &mut self,
        wait: bool,
        sink: &mut impl FnMut(E) -> Result<(), T>,
    ) -> Result<(), T> {
        loop {
            let must_wait = wait || self.slots.len() > self.max_in_flight;
            let batch = match self.slots.front_mut() {
                None => return Ok(()),
                Some(Slot::Ready(results)) => Some(std::mem::take(results)),
                Some(Slot::Running(rx)) if must_wait => rx.recv().ok(),
                Some(Slot::Running(rx)) => match rx.try_recv() {
                    Ok(b) => Some(b),
                    Err(TryRecvError::Empty) => return Ok(()),
                    Err(TryRecvError::Disconnected) => None,
                },
            };
            match batch {
                Some(results) => {
                    if matches!(self.slots.front(), Some(Slot::Ready(_))) {
                        self.slots.pop_front();
                    }
                    for e in results {
                        sink(e)?;
                    }
                }
                // The job is done.
                None => {
                    self.slots.pop_front();
                }
            }
        }
    }

    /// Stops the workers: queued jobs whose results are no longer wanted
    /// end at their next result. Joins the workers of [`Ordered::new`].
    pub fn close(mut self) {
        self.slots.clear();
        self.tx.take();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_out_in_submission_order() {
        let mut pool = Ordered::new("t", 4, |_| u64::MAX).unwrap();
        for job in 0..50u64 {
            // Later jobs finish first.
            pool.submit(move |em| {
                std::thread::sleep(std::time::Duration::from_micros(50 * (50 - job)));
                for k in 0..200 {
                    em.send(job * 1000 + k).unwrap();
                }
            });
            if job % 10 == 0 {
                pool.submit_ready(vec![job * 1000 + 999]);
            }
        }
        let mut got = Vec::new();
        pool.release(true, &mut |e| {
            got.push(e);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert!(pool.is_empty());
        pool.close();
        let mut want = Vec::new();
        for job in 0..50u64 {
            want.extend((0..200).map(|k| job * 1000 + k));
            if job % 10 == 0 {
                want.push(job * 1000 + 999);
            }
        }
        assert_eq!(got, want);
    }

    #[test]
    fn a_panicking_job_ends_with_its_panic_result_and_the_pool_goes_on() {
        let data = [1u32, 2, 3];
        let got = std::thread::scope(|s| {
            let mut pool = Ordered::scoped(s, "t", 2, |_| 0).unwrap();
            for x in &data {
                pool.submit(move |em| {
                    em.send(*x).unwrap();
                    if *x == 2 {
                        panic!("job two");
                    }
                });
            }
            let mut got = Vec::new();
            pool.release(true, &mut |e| {
                got.push(e);
                Ok::<(), ()>(())
            })
            .unwrap();
            got
        });
        assert_eq!(got, [1, 2, 0, 3]);
    }

    #[test]
    fn memory_is_bounded_by_the_channels_not_by_what_jobs_produce() {
        let produced = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut pool = Ordered::new("t", 2, |_| 0u8).unwrap();
        for _ in 0..2 {
            let produced = produced.clone();
            pool.submit(move |em| {
                while em.send(1).is_ok() {
                    produced.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        // Neither job is released: each stops at its channel's depth.
        let n = produced.load(std::sync::atomic::Ordering::SeqCst);
        assert!(n <= 2 * (DEPTH + 1) * BATCH, "{n} results held");
        pool.close();
    }
}
