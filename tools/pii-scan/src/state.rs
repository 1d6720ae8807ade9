//! `--state FILE`: the hooks that put `dlp_store::finding_state` around the
//! scan pool, so each finding is reported once (`"status":"new"`) and
//! again only when it is gone (`"status":"resolved"`).
//!
//! All hooks run on the main thread, in input order, as the pool releases
//! each file's events: [`Tracker::hashing`] when a file is submitted (the
//! worker hashes it and skips the scan when the content is the one last
//! scanned); [`Tracker::begin`] when its hash comes out, then
//! [`FileScan::keep`] for each finding as it streams out (known ones are
//! dropped, new ones marked), and [`Tracker::end`] when the file is done
//! (resolved records for findings no longer there); [`Tracker::gone`] for
//! deleted and moved-away paths. Nothing is held per finding beyond what
//! the state keeps anyway. A file submitted again before its previous
//! scan was released is always scanned, so a stale hash never skips a
//! scan.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dlp_record::Finding;
use dlp_store::finding_state::{self, FindingState};

use crate::pool::Hashing;

/// Finding state plus the files whose scans are in flight.
pub struct Tracker {
    state: RefCell<FindingState>,
    in_flight: RefCell<HashMap<PathBuf, u32>>,
}

/// One file's scan as its events are released.
pub struct FileScan {
    path: PathBuf,
    /// `None` when the file was unchanged and not scanned.
    scan: Option<finding_state::FileScan>,
    sha256: Option<String>,
    /// False once the scan hit an error: then what is known is kept.
    complete: bool,
}

impl FileScan {
    /// Keeps `f` (marked new) when the file did not hold it at its last
    /// scan; false for a finding already reported.
    pub fn keep(&mut self, f: &mut Finding) -> bool {
        self.scan.as_mut().is_none_or(|s| s.observe(f))
    }

    /// The scan did not complete (an unreadable file or member, a failure).
    pub fn incomplete(&mut self) {
        self.complete = false;
    }
}

impl Tracker {
    /// Opens the state, or with `reset` starts it over empty (errors name
    /// the file and what is wrong with it).
    pub fn open(path: &Path, reset: bool) -> anyhow::Result<Self> {
        let state = match reset {
            true => FindingState::open_reset(path)?,
            false => FindingState::open(path)?,
        };
        Ok(Tracker {
            state: RefCell::new(state),
            in_flight: RefCell::new(HashMap::new()),
        })
    }

    /// Resolved records for remembered files that are gone from disk
    /// (deleted while nothing was watching); written at start.
    pub fn sweep(&self) -> Vec<Finding> {
        self.state.borrow_mut().sweep_missing()
    }

    /// At submission: hash the file first, and skip its scan when the hash
    /// is the one the state knows.
    pub fn hashing(&self, path: &Path) -> Hashing {
        let mut fl = self.in_flight.borrow_mut();
        let n = fl.entry(path.to_path_buf()).or_insert(0);
        let known = if *n == 0 {
            self.state.borrow().known_sha256(path).map(str::to_owned)
        } else {
            None
        };
        *n += 1;
        Hashing::Yes(known)
    }

    /// When the file's hash is released: its findings follow.
    pub fn begin(&self, path: PathBuf, sha256: Option<String>, unchanged: bool) -> FileScan {
        let scan = (!unchanged).then(|| self.state.borrow().begin(&path));
        FileScan {
            path,
            scan,
            sha256,
            complete: true,
        }
    }

    /// When the file is done: only a complete scan of hashed content
    /// replaces what is known; returns the resolved records.
    pub fn end(&self, file: FileScan) -> Vec<Finding> {
        {
            let mut fl = self.in_flight.borrow_mut();
            if let Some(n) = fl.get_mut(&file.path) {
                *n -= 1;
                if *n == 0 {
                    fl.remove(&file.path);
                }
            }
        }
        match (file.scan, file.sha256, file.complete) {
            (Some(scan), Some(sha), true) => self.state.borrow_mut().finish(scan, &sha),
            _ => Vec::new(),
        }
    }

    /// A path deleted or moved away: it, and all under it if it was a
    /// directory, is resolved.
    pub fn gone(&self, path: &Path) -> Vec<Finding> {
        let mut st = self.state.borrow_mut();
        let mut resolved = st.forget(path);
        resolved.extend(st.forget_under(path));
        resolved
    }

    /// Saves the state if it changed (call after output was flushed, so
    /// a crash repeats a record rather than losing one).
    pub fn save(&self) -> anyhow::Result<()> {
        self.state.borrow_mut().save()
    }
}
