//! `--state FILE`: the hooks that put `dlp_core::finding_state` around the
//! scan pool, so each finding is reported once (`"status":"new"`) and
//! again only when it is gone (`"status":"resolved"`).
//!
//! Three hooks, all on the main thread and in input order:
//! [`Tracker::hashing`] when a file is submitted (the worker hashes it and
//! skips the scan when the content is the one last scanned),
//! [`Tracker::apply`] when its outcome is released (findings filtered in
//! file order, resolved records appended), and a `gone` outcome for deleted
//! and moved-away paths. A file submitted again before its previous scan
//! was released is always scanned, so a stale hash never skips a scan.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dlp_core::finding_state::FindingState;
use dlp_core::Finding;

use crate::pool::Hashing;
use crate::scan::Outcome;

/// Finding state plus the files whose scans are in flight.
pub struct Tracker {
    state: RefCell<FindingState>,
    in_flight: RefCell<HashMap<PathBuf, u32>>,
}

impl Tracker {
    /// Opens the state (errors name the file and what is wrong with it).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Ok(Tracker {
            state: RefCell::new(FindingState::open(path)?),
            in_flight: RefCell::new(HashMap::new()),
        })
    }

    /// Resolved records for remembered files that are gone from disk
    /// (deleted while nothing was watching); written at start.
    pub fn sweep(&self) -> Vec<Finding> {
        self.state.borrow_mut().sweep_missing()
    }

    /// Hook 1, at submission: hash the file first, and skip its scan when
    /// the hash is the one the state knows.
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

    /// Hooks 2 and 3, at release: keep only new findings (in file order),
    /// append resolved ones; a `gone` path resolves all it held.
    pub fn apply(&self, o: &mut Outcome) {
        let mut st = self.state.borrow_mut();
        if let Some(p) = o.gone.take() {
            o.findings = st.forget(&p);
            o.findings.extend(st.forget_under(&p));
            return;
        }
        let Some(path) = o.subject.as_deref() else {
            return;
        };
        {
            let mut fl = self.in_flight.borrow_mut();
            if let Some(n) = fl.get_mut(path) {
                *n -= 1;
                if *n == 0 {
                    fl.remove(path);
                }
            }
        }
        if o.unchanged {
            o.routine = true;
            o.notes
                .push(format!("{}: unchanged since the last scan", path.display()));
            return;
        }
        let mut scan = st.begin(path);
        o.findings.retain_mut(|f| scan.observe(f));
        // Only a complete scan of hashed content replaces what is known.
        if let (Some(sha), false) = (o.sha256.as_deref(), o.rejected) {
            let resolved = st.finish(scan, sha);
            o.findings.extend(resolved);
        }
    }

    /// Saves the state if it changed (call after output was flushed, so
    /// a crash repeats a record rather than losing one).
    pub fn save(&self) -> anyhow::Result<()> {
        self.state.borrow_mut().save()
    }
}
