//! The report's figures, computed once at the end of input from the
//! findings' final states: the headline counts, the open findings ranked
//! by severity then last seen (the best `rows` kept in a bounded heap),
//! open findings per host and severity, per detector and per file, and the
//! chart. "New since the previous report" compares the open keys with the
//! previous run's ([`crate::state`]).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use dlp_record::Severity;

use crate::agg::Agg;
use crate::chart::{Chart, Series};
use crate::key::Key;
use crate::ledger::Entry;
use crate::rec::Status;
use crate::when::{Micros, NO_TIME};

/// Severities, most severe first (the column order of the host table).
pub const SEVERITIES: [Severity; 4] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
];

/// One open finding to show.
#[derive(Debug)]
pub struct Row<'a> {
    pub severity: Severity,
    pub e: &'a Entry,
    /// Open now and not at the previous report.
    pub new_since: bool,
}

/// What the headline says.
#[derive(Debug, Default)]
pub struct Counts {
    pub open: u64,
    pub resolved: u64,
    pub quarantined: u64,
    pub other: u64,
    /// Open findings that were not open at the previous report.
    pub new_since: u64,
}

/// Open findings of one host.
#[derive(Debug, Clone, Default)]
pub struct HostOpen {
    /// By [`SEVERITIES`] order.
    pub by_severity: [u64; 4],
}

/// Everything the page shows, computed from an [`Agg`].
#[derive(Debug)]
pub struct Summary<'a> {
    pub counts: Counts,
    /// The best `rows` open findings, ranked.
    pub rows: Vec<Row<'a>>,
    pub host_open: HashMap<u32, HostOpen>,
    /// (detector label, open findings).
    pub by_detector: HashMap<u16, u64>,
    /// (host, path) → open findings.
    pub by_file: HashMap<(u32, u32), u64>,
    /// Status label → findings left with a status this version does not know.
    pub other_statuses: HashMap<u16, u64>,
    pub chart: Option<Chart>,
    /// Severity of each detector label.
    sev: Vec<Severity>,
}

/// Orders open findings: most severe, then most recently seen, then latest in input.
#[derive(Debug)]
struct Ranked<'a>(Severity, Micros, u64, &'a Entry, bool);

impl PartialEq for Ranked<'_> {
    fn eq(&self, o: &Self) -> bool {
        (self.0, self.1, self.2) == (o.0, o.1, o.2)
    }
}
impl Eq for Ranked<'_> {}
impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ranked<'_> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.0, self.1, self.2).cmp(&(o.0, o.1, o.2))
    }
}

impl<'a> Summary<'a> {
    /// The figures of `a`; `previous` holds the previous report's open keys, sorted.
    pub fn new(a: &'a Agg, previous: Option<&[Key]>, rows: usize) -> Summary<'a> {
        let sev = (0..a.labels.len() + 2)
            .map(|i| Severity::of(a.labels.name(i as u32)))
            .collect();
        let mut s = Summary {
            counts: Counts::default(),
            rows: Vec::new(),
            host_open: HashMap::new(),
            by_detector: HashMap::new(),
            by_file: HashMap::new(),
            other_statuses: HashMap::new(),
            chart: None,
            sev,
        };
        let mut best = BinaryHeap::with_capacity(rows + 1);
        let (mut lo, mut hi) = (Micros::MAX, Micros::MIN);
        for (k, e) in a.ledger.iter() {
            s.tally(e);
            if e.first != NO_TIME {
                (lo, hi) = (lo.min(e.first), hi.max(e.first));
            }
            if e.d.status == Status::Resolved && e.at != NO_TIME {
                (lo, hi) = (lo.min(e.at), hi.max(e.at));
            }
            if !e.d.status.is_open() {
                continue;
            }
            let new_since = previous.is_some_and(|p| p.binary_search(&k).is_err());
            s.counts.new_since += u64::from(new_since);
            best.push(Reverse(Ranked(s.severity(e), e.at, e.seq, e, new_since)));
            if best.len() > rows {
                best.pop();
            }
        }
        s.rows = best
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse(Ranked(severity, _, _, e, new_since))| Row {
                severity,
                e,
                new_since,
            })
            .collect();
        if lo <= hi {
            s.chart = Some(chart(a, lo, hi));
        }
        s
    }

    /// The severity of a finding (from its detector).
    pub fn severity(&self, e: &Entry) -> Severity {
        self.sev[e.d.detector as usize]
    }

    /// The severity of a detector label.
    pub fn detector_severity(&self, detector: u16) -> Severity {
        self.sev[detector as usize]
    }

    fn tally(&mut self, e: &Entry) {
        let c = &mut self.counts;
        match e.d.status {
            Status::Held | Status::New => c.open += 1,
            Status::Resolved => c.resolved += 1,
            Status::Quarantined => c.quarantined += 1,
            Status::Other => {
                c.other += 1;
                *self.other_statuses.entry(e.d.status_label).or_default() += 1;
            }
        }
        if !e.d.status.is_open() {
            return;
        }
        let sev = self.severity(e);
        let col = SEVERITIES.iter().position(|&x| x == sev).unwrap_or(3);
        self.host_open.entry(e.d.host).or_default().by_severity[col] += 1;
        *self.by_detector.entry(e.d.detector).or_default() += 1;
        *self.by_file.entry((e.d.host, e.d.path)).or_default() += 1;
    }
}

/// Raised (by first seen) and resolved findings per bucket.
fn chart(a: &Agg, lo: Micros, hi: Micros) -> Chart {
    let mut c = Chart::new(lo, hi);
    for (_, e) in a.ledger.iter() {
        if e.first != NO_TIME {
            c.add(e.first, Series::Raised);
        }
        if e.d.status == Status::Resolved && e.at != NO_TIME {
            c.add(e.at, Series::Resolved);
        }
    }
    c
}
