//! Gathering records, one at a time, into what the report needs: the
//! findings and their states ([`Ledger`]), the hosts with the newest time
//! each was heard from, the names to show ([`Interner`]) and the flagged
//! timestamps ([`Window`]). Nothing holds the records themselves, and every
//! table has a cap (below), so memory is bounded whatever the input.

use crate::hll::Hll;
use crate::intern::{Interner, EMPTY};
use crate::key;
use crate::ledger::{Details, Ledger};
use crate::rec::{Rec, Status};
use crate::shown::Shown;
use crate::when::{earliest, Micros, Window, NO_TIME};

/// Bytes of a host or path kept for display.
pub const NAME_BYTES: usize = 512;
/// Hosts with their own row.
pub const MAX_HOSTS: usize = 10_000;
/// Paths (files, containers, `copied_from`) kept for display.
pub const MAX_PATHS: usize = 200_000;
/// Bytes of path text kept in all.
pub const MAX_PATH_BYTES: usize = 64 << 20;
/// Detector, confidence and unknown status names (ids are `u16`).
pub const MAX_LABELS: usize = 10_000;

/// Everything gathered from the input.
#[derive(Debug)]
pub struct Agg {
    pub window: Window,
    pub ledger: Ledger,
    pub hosts: Interner,
    /// Per host id: `None` never seen, else the newest trusted time.
    pub host_last: Vec<Option<Micros>>,
    host_hll: Hll,
    pub paths: Interner,
    pub labels: Interner,
    /// Records read.
    pub records: u64,
    pub unmasked: bool,
}

impl Agg {
    /// An empty report made at `now`, tracking `max_findings` exactly.
    pub fn new(now: Micros, max_findings: usize, unmasked: bool) -> Agg {
        Agg {
            window: Window::new(now),
            ledger: Ledger::new(max_findings),
            hosts: Interner::new("(other hosts)", NAME_BYTES, MAX_HOSTS, usize::MAX),
            host_last: Vec::new(),
            host_hll: Hll::default(),
            paths: Interner::new(
                "(not kept: too many distinct paths)",
                NAME_BYTES,
                MAX_PATHS,
                MAX_PATH_BYTES,
            ),
            labels: Interner::new("(other)", 128, MAX_LABELS, usize::MAX),
            records: 0,
            unmasked,
        }
    }

    /// Adds one record.
    pub fn add(&mut self, r: &Rec<'_>) {
        self.records += 1;
        let seq = self.records;
        let at = self.window.time(r.timestamp);
        let status = Status::of(r.status);
        // A resolved record's own time is when the finding went, not when
        // it was first seen: only its first_seen field says that.
        let raised_at = if status.is_open() { at } else { NO_TIME };
        let first = earliest(self.window.time(r.first_seen), raised_at);
        let key = key::of(r);
        self.host_hll.add(self.hosts.hash(r.host));
        let host = self.hosts.intern(r.host);
        self.see_host(host, at);
        let (paths, labels, unmasked) = (&mut self.paths, &mut self.labels, self.unmasked);
        self.ledger.observe(key, at, seq, first, || {
            let mut label = |s: &str| labels.intern(s) as u16;
            Details {
                host,
                path: paths.intern(r.path),
                archive: paths.intern(r.archive_path),
                copied_from: paths.intern(r.copied_from),
                line: r.line.map_or(0, |l| u32::try_from(l).unwrap_or(u32::MAX)),
                detector: label(r.detector),
                confidence: label(r.confidence),
                status_label: if status == Status::Other {
                    label(r.status)
                } else {
                    0
                },
                status,
                removable: r.removable,
                shown: Shown::new(r.finding, unmasked),
            }
        });
    }

    fn see_host(&mut self, host: u32, at: Micros) {
        let i = host as usize;
        if self.host_last.len() <= i {
            self.host_last.resize(i + 1, None);
        }
        let last = self.host_last[i].get_or_insert(at);
        *last = (*last).max(at);
    }

    /// Distinct hosts (records without one count as one), and whether
    /// that is an estimate (past [`MAX_HOSTS`]).
    pub fn host_count(&self) -> (u64, bool) {
        if self.hosts.overflowed() {
            return (self.host_hll.estimate(), true);
        }
        let seen = self.host_last.iter().filter(|h| h.is_some()).count();
        (seen as u64, false)
    }

    /// The name shown for host `id`.
    pub fn host_name(&self, id: u32) -> &str {
        match id {
            EMPTY => "(no host)",
            id => self.hosts.name(id),
        }
    }

    /// True when a path shown may be the placeholder.
    pub fn paths_overflowed(&self) -> bool {
        self.paths.overflowed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::when::parse;

    fn rec<'a>(host: &'a str, ts: &'a str, status: &'a str) -> Rec<'a> {
        Rec {
            host,
            path: "/p",
            detector: "SSN",
            finding: "536-22-8726",
            finding_id: "f1",
            timestamp: ts,
            status,
            ..Rec::default()
        }
    }

    #[test]
    fn hosts_keep_their_newest_trusted_time() {
        let now = parse("2026-11-27T12:00:00Z").unwrap();
        let mut a = Agg::new(now, 100, false);
        a.add(&rec("a", "2026-11-27T10:00:00Z", "new"));
        a.add(&rec("a", "2026-11-27T09:00:00Z", ""));
        a.add(&rec("a", "9999-12-31T23:59:59Z", "resolved"));
        a.add(&rec("", "", ""));
        assert_eq!(a.host_count(), (2, false));
        let id = a.hosts.intern("a");
        assert_eq!(a.host_last[id as usize], parse("2026-11-27T10:00:00Z"));
        assert_eq!(a.host_last[EMPTY as usize], Some(NO_TIME));
        assert_eq!(a.window.far, 1);
        assert_eq!(a.ledger.distinct(), (2, false));
        let states: Vec<Status> = a.ledger.iter().map(|(_, e)| e.d.status).collect();
        assert!(
            states.contains(&Status::New),
            "the far record is not newest"
        );
    }

    #[test]
    fn first_seen_comes_from_open_records_or_the_field() {
        let now = parse("2026-11-27T12:00:00Z").unwrap();
        let mut a = Agg::new(now, 100, false);
        let gone = Rec {
            finding_id: "gone",
            ..rec("h", "2026-11-27T10:00:00Z", "resolved")
        };
        a.add(&gone);
        a.add(&Rec {
            finding_id: "told",
            first_seen: "2026-11-20T10:00:00Z",
            ..gone.clone()
        });
        let mut firsts: Vec<Micros> = a.ledger.iter().map(|(_, e)| e.first).collect();
        firsts.sort();
        assert_eq!(firsts, [NO_TIME, parse("2026-11-20T10:00:00Z").unwrap()]);
    }
}
