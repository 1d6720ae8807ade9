//! Parallel scanning with ordered output: jobs are numbered as they are
//! submitted, scanned by a pool of workers on all cores, and their results
//! released strictly in submission order, so output is stable per file and
//! follows the order of input events.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use detect::Engine;

use crate::scan::{scan_file, Limits, Outcome};

/// Submits scans and releases their outcomes in order.
pub struct Ordered {
    tx: Option<Sender<(u64, PathBuf)>>,
    rx: Receiver<(u64, Outcome)>,
    workers: Vec<JoinHandle<()>>,
    submitted: u64,
    next: u64,
    ready: BTreeMap<u64, Outcome>,
    max_in_flight: u64,
}

impl Ordered {
    /// Starts `jobs` workers.
    pub fn new(engine: Arc<Engine>, limits: Limits, jobs: usize) -> Self {
        let (tx, work_rx) = crossbeam_channel::unbounded::<(u64, PathBuf)>();
        let (done_tx, rx) = crossbeam_channel::unbounded();
        let workers = (0..jobs.max(1))
            .map(|i| {
                let (work_rx, done_tx, engine) =
                    (work_rx.clone(), done_tx.clone(), Arc::clone(&engine));
                std::thread::Builder::new()
                    .name(format!("scan-{i}"))
                    .spawn(move || {
                        for (seq, path) in work_rx {
                            let out = scan_guarded(&engine, &path, &limits);
                            if done_tx.send((seq, out)).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("spawning a scan thread")
            })
            .collect();
        Ordered {
            tx: Some(tx),
            rx,
            workers,
            submitted: 0,
            next: 0,
            ready: BTreeMap::new(),
            max_in_flight: 4 * jobs.max(1) as u64 + 8,
        }
    }

    /// Number of submitted outcomes not yet released.
    pub fn in_flight(&self) -> u64 {
        self.submitted - self.next
    }

    /// Queues a file scan.
    pub fn submit(&mut self, path: PathBuf) {
        let seq = self.submitted;
        self.submitted += 1;
        self.tx
            .as_ref()
            .expect("pool open")
            .send((seq, path))
            .expect("workers alive");
    }

    /// Queues an outcome known without scanning (a skip or an error).
    pub fn submit_outcome(&mut self, o: Outcome) {
        self.ready.insert(self.submitted, o);
        self.submitted += 1;
    }

    /// Releases outcomes that are ready, in order, to `sink`. With `wait`,
    /// blocks until everything submitted has been released; otherwise
    /// blocks only while too many scans are in flight.
    pub fn release(
        &mut self,
        wait: bool,
        sink: &mut impl FnMut(Outcome) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        loop {
            while let Some(o) = self.ready.remove(&self.next) {
                self.next += 1;
                sink(o)?;
            }
            let must_wait = if wait {
                self.in_flight() > 0
            } else {
                self.in_flight() > self.max_in_flight
            };
            let got = if must_wait {
                self.rx.recv().ok()
            } else {
                match self.rx.try_recv() {
                    Ok(x) => Some(x),
                    Err(_) => return Ok(()),
                }
            };
            match got {
                Some((seq, o)) => {
                    self.ready.insert(seq, o);
                }
                None if must_wait => anyhow::bail!("internal error: the scan workers stopped"),
                None => return Ok(()),
            }
        }
    }

    /// Stops the workers after the queued scans.
    pub fn close(mut self) {
        self.tx.take();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Scans one file; a panic in the scan becomes that file's failure (a note,
/// exit status 1) and the worker goes on with the next file.
fn scan_guarded(engine: &Engine, path: &Path, limits: &Limits) -> Outcome {
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        inject_panic(path);
        scan_file(engine, path, limits)
    }))
    .unwrap_or_else(|p| {
        Outcome::note(
            format!(
                "{}: failed: internal error: {}",
                path.display(),
                dlp_core::par::panic_message(&*p)
            ),
            true,
        )
    })
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
