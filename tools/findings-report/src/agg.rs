//! The report's numbers, gathered record by record in bounded memory:
//! nothing holds all the records. Hosts, detectors, confidence levels and
//! files are counted with [`Lossy`]; findings over time are counted per
//! hour (a year of data is 8,760 counters); the latest findings are a
//! fixed-size heap.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use crate::count::{Distinct, Lossy};

/// The fields of one finding the report uses.
#[derive(Debug, Default, Clone)]
pub struct Rec<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub detector: &'a str,
    pub confidence: &'a str,
    pub timestamp: &'a str,
    pub finding: &'a str,
    pub status: &'a str,
}

/// One line of the "latest findings" table, finding already masked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Latest {
    /// Nanoseconds since the epoch (the order).
    pub at: u128,
    pub timestamp: String,
    pub seq: u64,
    pub host: String,
    pub path: String,
    pub detector: String,
    pub confidence: String,
    pub finding: String,
    pub status: String,
}

/// Per-host lifecycle counts.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostState {
    pub open: u64,
    pub resolved: u64,
}

/// Everything the report shows.
#[derive(Debug)]
pub struct Agg {
    pub total: u64,
    pub hosts: Lossy,
    pub host_state: HashMap<String, HostState>,
    pub detectors: Lossy,
    pub confidences: Lossy,
    /// Keyed `host \x1f path`.
    pub files: Lossy,
    pub distinct_hosts: Distinct,
    pub distinct_files: Distinct,
    pub open: u64,
    pub resolved: u64,
    /// Hours since the epoch -> findings.
    pub hours: BTreeMap<i64, u64>,
    pub untimed: u64,
    latest: BinaryHeap<Reverse<Latest>>,
    latest_n: usize,
    unmasked: bool,
}

/// Hosts with their own lifecycle row; the rest are summed as "(other)".
const HOST_STATE_CAP: usize = 10_000;
/// Distinct keys counted exactly.
const CAP: usize = 10_000;

/// The name shown for records without a host.
pub const NO_HOST: &str = "(no host)";

impl Agg {
    /// An empty report keeping the `latest_n` newest findings.
    pub fn new(latest_n: usize, unmasked: bool) -> Agg {
        Agg {
            total: 0,
            hosts: Lossy::new(CAP),
            host_state: HashMap::new(),
            detectors: Lossy::new(CAP),
            confidences: Lossy::new(64),
            files: Lossy::new(CAP),
            distinct_hosts: Distinct::new(CAP),
            distinct_files: Distinct::new(CAP),
            open: 0,
            resolved: 0,
            hours: BTreeMap::new(),
            untimed: 0,
            latest: BinaryHeap::new(),
            latest_n,
            unmasked,
        }
    }

    /// Adds one finding.
    pub fn add(&mut self, r: &Rec<'_>) {
        self.total += 1;
        let host = if r.host.is_empty() { NO_HOST } else { r.host };
        self.hosts.add(host);
        self.detectors.add(r.detector);
        self.confidences.add(r.confidence);
        let mut key = String::with_capacity(host.len() + 1 + r.path.len());
        key.push_str(host);
        key.push('\x1f');
        key.push_str(r.path);
        self.files.add(&key);
        self.distinct_files.add(&key);
        self.distinct_hosts.add(host);
        let (open, resolved) = match r.status {
            "new" | "open" => (1, 0),
            "resolved" => (0, 1),
            _ => (0, 0),
        };
        self.open += open;
        self.resolved += resolved;
        if open + resolved > 0 {
            let k = if self.host_state.len() < HOST_STATE_CAP || self.host_state.contains_key(host)
            {
                host
            } else {
                "(other)"
            };
            let e = self.host_state.entry(k.to_owned()).or_default();
            e.open += open;
            e.resolved += resolved;
        }
        let at = dlp_core::time::parse_rfc3339(r.timestamp)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        let Some(at) = at else {
            self.untimed += 1;
            return;
        };
        *self.hours.entry((at.as_secs() / 3600) as i64).or_insert(0) += 1;
        let at = at.as_nanos();
        if self.latest_n == 0 {
            return;
        }
        let newer = self.latest.len() < self.latest_n
            || self.latest.peek().is_some_and(|Reverse(l)| at > l.at);
        if newer {
            self.latest.push(Reverse(Latest {
                at,
                timestamp: r.timestamp.to_owned(),
                seq: self.total,
                host: host.to_owned(),
                path: r.path.to_owned(),
                detector: r.detector.to_owned(),
                confidence: r.confidence.to_owned(),
                finding: if self.unmasked {
                    r.finding.to_owned()
                } else {
                    findings_csv::mask(r.finding)
                },
                status: r.status.to_owned(),
            }));
            if self.latest.len() > self.latest_n {
                self.latest.pop();
            }
        }
    }

    /// The newest findings, newest first.
    pub fn latest(&self) -> Vec<Latest> {
        let mut v: Vec<Latest> = self.latest.iter().map(|Reverse(l)| l.clone()).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }

    /// True when any record carried a lifecycle status.
    pub fn has_status(&self) -> bool {
        self.open + self.resolved > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_masks() {
        let mut a = Agg::new(2, false);
        for (h, ts, st) in [
            ("a", "2026-11-27T10:00:00Z", "new"),
            ("a", "2026-11-27T10:30:00Z", "resolved"),
            ("b", "2026-11-27T12:00:00Z", ""),
            ("", "bad", ""),
        ] {
            a.add(&Rec {
                host: h,
                path: "/p",
                detector: "SSN",
                confidence: "LIKELY",
                timestamp: ts,
                finding: "536-22-8726",
                status: st,
            });
        }
        assert_eq!(a.total, 4);
        assert_eq!(a.hosts.get("a"), 2);
        assert_eq!(a.hosts.get(NO_HOST), 1);
        assert_eq!((a.open, a.resolved), (1, 1));
        assert_eq!(a.hours.values().sum::<u64>(), 3);
        assert_eq!(a.hours.len(), 2);
        assert_eq!(a.untimed, 1);
        let l = a.latest();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].timestamp, "2026-11-27T12:00:00Z", "newest first");
        assert_eq!(l[1].timestamp, "2026-11-27T10:30:00Z");
        assert_eq!(l[0].finding, "*******8726");
    }
}
