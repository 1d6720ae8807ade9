//! Parallel scanning with ordered, streamed output, on dlp-runtime's ordered
//! pool: one job per file, its events (findings, notes) streamed through a
//! small bounded channel and released strictly in submission order, so
//! output is stable per file, follows the order of input events, and
//! memory stays bounded whatever the files hold.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use detect::Engine;
use dlp_runtime::pool::{self, Emitter};

use crate::scan::{scan_file, Delivery, Event, Limits, Origin, Report};

/// Whether a worker hashes a file before scanning it (`--state`).
#[derive(Debug, Clone)]
pub enum Hashing {
    No,
    /// Hash first; skip the scan when the hash is this one.
    Yes(Option<String>),
}

/// Submits scans and releases their events in order (on dlp-runtime's
/// ordered pool: one job per file).
pub struct Ordered {
    pool: pool::Ordered<'static, Event>,
    engine: Arc<Engine>,
    limits: Limits,
    delivery: Delivery,
}

impl Ordered {
    /// Starts `jobs` workers, whose findings come as `delivery` says.
    pub fn new(engine: Arc<Engine>, limits: Limits, delivery: Delivery, jobs: usize) -> Self {
        // A panic outside the scan itself (which `run_job` turns into the
        // file's failure) still ends as a failure note, never as a hang.
        let pool = pool::Ordered::new("scan", jobs, |why| Event::Note {
            msg: format!("failed: internal error: {why}"),
            rejected: true,
            routine: false,
        })
        .expect("spawning a scan thread");
        Ordered {
            pool,
            engine,
            limits,
            delivery,
        }
    }

    /// Queues a file scan, hashing the file first when asked.
    pub fn submit(&mut self, path: PathBuf, source: Origin, hashing: Hashing) {
        let (engine, limits, delivery) = (Arc::clone(&self.engine), self.limits, self.delivery);
        self.pool.submit(move |events| {
            let job = Job {
                engine: &engine,
                limits: &limits,
                delivery,
            };
            run_job(&job, &path, &source, &hashing, events)
        });
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
        self.pool.submit_ready(events);
    }

    /// Releases events that are ready, in order, to `sink`. With `wait`,
    /// blocks until everything submitted has been released; otherwise
    /// blocks only while too many jobs are in flight.
    pub fn release(
        &mut self,
        wait: bool,
        sink: &mut impl FnMut(Event) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.pool.release(wait, sink)
    }

    /// Stops the workers: queued scans whose events are no longer wanted
    /// end at their next event.
    pub fn close(self) {
        self.pool.close();
    }
}

/// What every scan job is given.
struct Job<'a> {
    engine: &'a Engine,
    limits: &'a Limits,
    delivery: Delivery,
}

/// Scans one file, sending its events as they come. A panic in the scan
/// becomes that file's failure (a note, exit status 1).
fn run_job(
    job: &Job,
    path: &Path,
    source: &Origin,
    hashing: &Hashing,
    events: &mut Emitter<Event>,
) {
    let (engine, limits) = (job.engine, job.limits);
    // A batch of lines is a message of its own (a message of many batches
    // would hold megabytes).
    let mut send = |e: Event| match e {
        Event::Lines { .. } => events.send_now(e),
        _ => events.send(e),
    };
    let mut report = Report::new(path, source, job.delivery, &mut send);
    let unchanged = match hashing {
        Hashing::No => false,
        Hashing::Yes(known) => {
            let sha = hash(path, limits);
            let unchanged = sha.is_some() && sha == *known;
            report.hashed(sha, unchanged);
            unchanged
        }
    };
    let panicked = std::panic::catch_unwind(AssertUnwindSafe(|| {
        if !unchanged {
            inject_panic(path);
            scan_file(engine, path, limits, &mut report);
        }
    }));
    if let Err(p) = panicked {
        report.reject(format!(
            "{}: failed: internal error: {}",
            path.display(),
            dlp_runtime::par::panic_message(&*p)
        ));
    }
    report.done();
}

/// With --state: the file's SHA-256, unless it is not a regular file, is
/// over --max-size, or cannot be read (then it is scanned, and the state
/// left as it was for it).
fn hash(path: &Path, limits: &Limits) -> Option<String> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file() && !matches!(limits.extract.max_size, Some(max) if m.len() > max))
        .and_then(|_| dlp_record::hash::sha256_file(path).ok())
}

/// Test builds only (feature `test-hooks`): panics while scanning a file named by
/// `PII_SCAN_TEST_PANIC`. Release builds have no such hook.
#[cfg(feature = "test-hooks")]
fn inject_panic(path: &Path) {
    if let Some(name) = std::env::var_os("PII_SCAN_TEST_PANIC") {
        if path.file_name() == Some(name.as_os_str()) {
            panic!("injected test panic");
        }
    }
}

#[cfg(not(feature = "test-hooks"))]
fn inject_panic(_: &Path) {}
