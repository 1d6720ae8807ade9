//! Parallel scanning with ordered output: jobs are numbered as they are
//! submitted, scanned by a pool of workers on all cores, and their results
//! released strictly in submission order, so output is stable per file and
//! follows the order of input events.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use detect::Engine;

use crate::scan::{scan_file, Limits, Outcome};

/// Whether a worker hashes a file before scanning it (`--state`).
#[derive(Debug, Clone)]
pub enum Hashing {
    No,
    /// Hash first; skip the scan when the hash is this one.
    Yes(Option<String>),
}

/// With `--state`: hashes the file (unless over `--max-size`), skips the
/// scan when the content is the one the state knows, and notes the hash.
fn hash_then_scan(engine: &Engine, path: PathBuf, limits: &Limits, known: Option<&str>) -> Outcome {
    let sha = std::fs::metadata(&path)
        .ok()
        .filter(|m| m.is_file() && !matches!(limits.max_size, Some(max) if m.len() > max))
        .and_then(|_| dlp_core::hash::sha256_file(&path).ok());
    let mut out = if sha.is_some() && sha.as_deref() == known {
        Outcome {
            unchanged: true,
            ..Outcome::default()
        }
    } else {
        scan_file(engine, &path, limits)
    };
    out.sha256 = sha;
    out.subject = Some(path);
    out
}

/// Submits scans and releases their outcomes in order.
pub struct Ordered {
    tx: Option<Sender<(u64, PathBuf, Hashing)>>,
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
        let (tx, work_rx) = crossbeam_channel::unbounded::<(u64, PathBuf, Hashing)>();
        let (done_tx, rx) = crossbeam_channel::unbounded();
        let workers = (0..jobs.max(1))
            .map(|i| {
                let (work_rx, done_tx, engine) =
                    (work_rx.clone(), done_tx.clone(), Arc::clone(&engine));
                std::thread::Builder::new()
                    .name(format!("scan-{i}"))
                    .spawn(move || {
                        for (seq, path, hashing) in work_rx {
                            let out = match hashing {
                                Hashing::No => scan_file(&engine, &path, &limits),
                                Hashing::Yes(known) => {
                                    hash_then_scan(&engine, path, &limits, known.as_deref())
                                }
                            };
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
        self.submit_hashed(path, Hashing::No);
    }

    /// Queues a file scan, hashing the file first when asked.
    pub fn submit_hashed(&mut self, path: PathBuf, hashing: Hashing) {
        let seq = self.submitted;
        self.submitted += 1;
        self.tx
            .as_ref()
            .expect("pool open")
            .send((seq, path, hashing))
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
