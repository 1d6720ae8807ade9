//! Distinct findings and the state of each: the heart of the report.
//!
//! Each finding (its [`Key`]) keeps the state of its newest record: newest
//! by trusted timestamp, ties (and records without one) by input order,
//! so an older record that arrives later does not undo a newer state, and
//! `new`, `resolved`, `new` again reads as open. What a finding is shown
//! with (host, file, detector, masked text) comes from that same record;
//! its first-seen time is the earliest of all its records.
//!
//! Up to `cap` findings are tracked exactly (about 110 bytes each). Past
//! that, further findings are only counted, approximately ([`Hll`]), and
//! are left out of the open figures, which the page says.

use std::collections::HashMap;

use crate::hll::Hll;
use crate::key::Key;
use crate::rec::Status;
use crate::shown::Shown;
use crate::when::{earliest, Micros};

/// What a finding is shown with: interned ids ([`crate::intern`]).
#[derive(Debug, Clone)]
pub struct Details {
    pub host: u32,
    pub path: u32,
    pub archive: u32,
    pub copied_from: u32,
    pub line: u32,
    pub detector: u16,
    pub confidence: u16,
    /// The wire value, for a status this version does not know.
    pub status_label: u16,
    pub status: Status,
    pub removable: bool,
    pub shown: Shown,
}

/// One finding's state.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Trusted time of the newest record ([`crate::when::NO_TIME`] if none).
    pub at: Micros,
    /// Input position of the newest record.
    pub seq: u64,
    /// Earliest trusted first-seen or timestamp of any record.
    pub first: Micros,
    pub d: Details,
}

/// Every finding seen, by key.
#[derive(Debug)]
pub struct Ledger {
    index: HashMap<Key, u32>,
    entries: Vec<Entry>,
    cap: usize,
    all: Hll,
    /// Records of findings past the cap.
    pub untracked: u64,
}

impl Ledger {
    /// A ledger tracking at most `cap` findings exactly.
    pub fn new(cap: usize) -> Ledger {
        Ledger {
            index: HashMap::new(),
            entries: Vec::new(),
            cap,
            all: Hll::default(),
            untracked: 0,
        }
    }

    /// Notes a record of finding `key` made at `at` (input position `seq`,
    /// first seen `first`); `details` is called only when the record
    /// becomes the finding's state.
    pub fn observe(
        &mut self,
        key: Key,
        at: Micros,
        seq: u64,
        first: Micros,
        details: impl FnOnce() -> Details,
    ) {
        self.all.add(key.0);
        if let Some(&i) = self.index.get(&key) {
            let e = &mut self.entries[i as usize];
            e.first = earliest(e.first, first);
            if (at, seq) > (e.at, e.seq) {
                e.at = at;
                e.seq = seq;
                e.d = details();
            }
        } else if self.entries.len() < self.cap {
            self.index.insert(key, self.entries.len() as u32);
            self.entries.push(Entry {
                at,
                seq,
                first,
                d: details(),
            });
        } else {
            self.untracked += 1;
        }
    }

    /// Every tracked finding with its key.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &Entry)> {
        self.index
            .iter()
            .map(|(k, &i)| (*k, &self.entries[i as usize]))
    }

    /// Tracked findings.
    pub fn tracked(&self) -> usize {
        self.entries.len()
    }

    /// Distinct findings, and whether that is an estimate (past the cap).
    pub fn distinct(&self) -> (u64, bool) {
        let n = self.entries.len() as u64;
        if self.untracked == 0 {
            (n, false)
        } else {
            (self.all.estimate().max(n + 1), true)
        }
    }

    /// The most findings tracked exactly.
    pub fn cap(&self) -> usize {
        self.cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::when::NO_TIME;

    fn d(status: Status, line: u32) -> Details {
        Details {
            host: 0,
            path: 0,
            archive: 0,
            copied_from: 0,
            line,
            detector: 0,
            confidence: 0,
            status_label: 0,
            status,
            removable: false,
            shown: Shown::new("x", false),
        }
    }

    fn state(l: &Ledger, k: Key) -> (Status, u32, Micros) {
        let e = l.iter().find(|(key, _)| *key == k).unwrap().1;
        (e.d.status, e.d.line, e.first)
    }

    #[test]
    fn the_newest_record_wins_whatever_the_order() {
        let mut l = Ledger::new(10);
        let k = (1, 1);
        l.observe(k, 300, 1, 300, || d(Status::Resolved, 3));
        l.observe(k, 100, 2, 100, || d(Status::New, 1));
        assert_eq!(state(&l, k), (Status::Resolved, 3, 100), "older, later");
        l.observe(k, 300, 3, 300, || d(Status::New, 4));
        assert_eq!(
            state(&l, k).0,
            Status::New,
            "a tie goes to the later record"
        );
        l.observe(k, NO_TIME, 4, NO_TIME, || d(Status::Resolved, 5));
        assert_eq!(state(&l, k).0, Status::New, "untimed ranks below timed");
        assert_eq!(l.distinct(), (1, false));
    }

    #[test]
    fn past_the_cap_findings_are_estimated() {
        let mut l = Ledger::new(2);
        for i in 0..100u64 {
            l.observe((i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i), 1, i, 1, || {
                d(Status::New, 0)
            });
        }
        assert_eq!(l.tracked(), 2);
        assert_eq!(l.untracked, 98);
        let (n, est) = l.distinct();
        assert!(est && (90..=110).contains(&n), "{n}");
    }
}
