//! Parallel scanning with ordered, streamed output: jobs are numbered as
//! they are submitted and scanned by a pool of workers; each job streams
//! its events (findings, notes) through a small bounded channel, and the
//! calling thread releases them strictly in submission order, the job at
//! the head as it runs. Output is stable per file and follows the order of
//! input events, and memory is bounded by the jobs in flight times their
//! channel, whatever the files hold: a worker whose job is not at the head
//! waits once its channel is full.

use std::collections::VecDeque;
use std::io;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use detect::Engine;

use crate::scan::{scan_file, Event, Limits, Report};

/// Events sent per channel message.
const BATCH: usize = 64;
/// Messages a job's channel holds before its worker waits.
const DEPTH: usize = 8;

/// Whether a worker hashes a file before scanning it (`--state`).
#[derive(Debug, Clone)]
pub enum Hashing {
    No,
    /// Hash first; skip the scan when the hash is this one.
    Yes(Option<String>),
}

/// A file to scan.
struct Job {
    path: PathBuf,
    /// Content hash from the input event, when it carried one.
    sha256: Option<String>,
    hashing: Hashing,
    events: Sender<Vec<Event>>,
}

enum Slot {
    Ready(Vec<Event>),
    Running(Receiver<Vec<Event>>),
}

/// Submits scans and releases their events in order.
pub struct Ordered {
    tx: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    slots: VecDeque<Slot>,
    max_in_flight: usize,
}

impl Ordered {
    /// Starts `jobs` workers.
    pub fn new(engine: Arc<Engine>, limits: Limits, jobs: usize) -> Self {
        let (tx, work_rx) = crossbeam_channel::unbounded::<Job>();
        let workers = (0..jobs.max(1))
            .map(|i| {
                let (work_rx, engine) = (work_rx.clone(), Arc::clone(&engine));
                std::thread::Builder::new()
                    .name(format!("scan-{i}"))
                    .spawn(move || {
                        for job in work_rx {
                            run_job(&engine, &limits, job);
                        }
                    })
                    .expect("spawning a scan thread")
            })
            .collect();
        Ordered {
            tx: Some(tx),
            workers,
            slots: VecDeque::new(),
            max_in_flight: 4 * jobs.max(1) + 8,
        }
    }

    /// Queues a file scan, hashing the file first when asked.
    pub fn submit(&mut self, path: PathBuf, sha256: Option<String>, hashing: Hashing) {
        let (events, rx) = crossbeam_channel::bounded(DEPTH);
        self.tx
            .as_ref()
            .expect("pool open")
            .send(Job {
                path,
                sha256,
                hashing,
                events,
            })
            .expect("workers alive");
        self.slots.push_back(Slot::Running(rx));
    }

    /// Queues a note known without scanning (a skip or an error).
    pub fn submit_note(&mut self, msg: String, rejected: bool) {
        self.submit_events(vec![Event::Note {
            msg,
            rejected,
            routine: false,
        }]);
    }

    /// Queues events known without scanning (a routine skip, a path gone).
    pub fn submit_events(&mut self, events: Vec<Event>) {
        self.slots.push_back(Slot::Ready(events));
    }

    /// Releases events that are ready, in order, to `sink`. With `wait`,
    /// blocks until everything submitted has been released; otherwise
    /// blocks only while too many jobs are in flight.
    pub fn release(
        &mut self,
        wait: bool,
        sink: &mut impl FnMut(Event) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        loop {
            let must_wait = wait || self.slots.len() > self.max_in_flight;
            let batch = match self.slots.front_mut() {
                None => return Ok(()),
                Some(Slot::Ready(events)) => Some(std::mem::take(events)),
                Some(Slot::Running(rx)) if must_wait => rx.recv().ok(),
                Some(Slot::Running(rx)) => match rx.try_recv() {
                    Ok(b) => Some(b),
                    Err(TryRecvError::Empty) => return Ok(()),
                    Err(TryRecvError::Disconnected) => None,
                },
            };
            match batch {
                Some(events) => {
                    if matches!(self.slots.front(), Some(Slot::Ready(_))) {
                        self.slots.pop_front();
                    }
                    for e in events {
                        sink(e)?;
                    }
                }
                // The job's worker is done with it.
                None => {
                    self.slots.pop_front();
                }
            }
        }
    }

    /// Stops the workers: queued scans whose events are no longer wanted
    /// end at their next event.
    pub fn close(mut self) {
        self.slots.clear();
        self.tx.take();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Scans one job's file, sending its events in batches. A panic in the
/// scan becomes that file's failure (a note, exit status 1) and the worker
/// goes on with the next file.
fn run_job(engine: &Engine, limits: &Limits, job: Job) {
    let mut batch = Vec::with_capacity(BATCH);
    let events = &job.events;
    let mut send = |e: Event| -> io::Result<()> {
        batch.push(e);
        if batch.len() >= BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            events
                .send(full)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "output closed"))?;
        }
        Ok(())
    };
    let mut report = Report::new(&job.path, job.sha256.as_deref(), &mut send);
    let unchanged = match &job.hashing {
        Hashing::No => false,
        Hashing::Yes(known) => {
            let sha = hash(&job.path, limits);
            let unchanged = sha.is_some() && sha == *known;
            report.hashed(sha, unchanged);
            unchanged
        }
    };
    let panicked = std::panic::catch_unwind(AssertUnwindSafe(|| {
        if !unchanged {
            inject_panic(&job.path);
            scan_file(engine, &job.path, limits, &mut report);
        }
    }));
    if let Err(p) = panicked {
        report.reject(format!(
            "{}: failed: internal error: {}",
            job.path.display(),
            dlp_core::par::panic_message(&*p)
        ));
    }
    report.done();
    drop(report);
    if !batch.is_empty() {
        let _ = events.send(batch);
    }
}

/// With --state: the file's SHA-256, unless it is not a regular file, is
/// over --max-size, or cannot be read (then it is scanned, and the state
/// left as it was for it).
fn hash(path: &Path, limits: &Limits) -> Option<String> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file() && !matches!(limits.max_size, Some(max) if m.len() > max))
        .and_then(|_| dlp_core::hash::sha256_file(path).ok())
}

/// Debug builds only (tests): panics while scanning a file named by
/// `PII_SCAN_TEST_PANIC`. Release builds have no such hook.
#[cfg(debug_assertions)]
fn inject_panic(path: &Path) {
    if let Some(name) = std::env::var_os("PII_SCAN_TEST_PANIC") {
        if path.file_name() == Some(name.as_os_str()) {
            panic!("injected test panic");
        }
    }
}

#[cfg(not(debug_assertions))]
fn inject_panic(_: &Path) {}
