//! Rate-limited logging of refused requests, so one client hammering the
//! receiver cannot flood a log that nobody rotates. In each interval the
//! first `burst` refusals from a source address are logged in full; the
//! rest are only counted, by kind, and one summary line per interval says
//! how many were suppressed and why. Memory is bounded: at most
//! [`MAX_SOURCES`] addresses are tracked per interval (later ones are only
//! counted).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Source addresses remembered per interval.
pub const MAX_SOURCES: usize = 10_000;

/// The limiter.
pub struct RejectLog {
    burst: u32,
    interval: Duration,
    state: Mutex<State>,
}

struct State {
    /// Start of the current interval (None until the first refusal).
    since: Option<Instant>,
    logged: HashMap<IpAddr, u32>,
    /// Suppressed refusals by kind.
    suppressed: BTreeMap<&'static str, u64>,
    sources: HashMap<IpAddr, ()>,
}

impl RejectLog {
    pub fn new(burst: u32, interval: Duration) -> Self {
        RejectLog {
            burst,
            interval: interval.max(Duration::from_millis(100)),
            state: Mutex::new(State {
                since: None,
                logged: HashMap::new(),
                suppressed: BTreeMap::new(),
                sources: HashMap::new(),
            }),
        }
    }

    /// Notes one refusal of `kind` from `ip`; returns the lines to log now
    /// (the full line, a due summary, or nothing).
    pub fn note(&self, ip: IpAddr, kind: &str, line: &str, now: Instant) -> Vec<String> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        out.extend(self.roll(&mut st, now));
        let tracked = st.logged.len() < MAX_SOURCES || st.logged.contains_key(&ip);
        let n = if tracked {
            let n = st.logged.entry(ip).or_insert(0);
            *n += 1;
            *n
        } else {
            u32::MAX
        };
        if n <= self.burst {
            out.push(line.to_owned());
        } else {
            *st.suppressed.entry(intern(kind)).or_insert(0) += 1;
            if st.sources.len() < MAX_SOURCES {
                st.sources.insert(ip, ());
            }
        }
        out
    }

    /// The summary line, if an interval has ended with refusals suppressed
    /// (called periodically, so a summary does not wait for the next refusal).
    pub fn tick(&self, now: Instant) -> Option<String> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.since?;
        self.roll(&mut st, now)
    }

    fn roll(&self, st: &mut State, now: Instant) -> Option<String> {
        let Some(since) = st.since else {
            st.since = Some(now);
            return None;
        };
        if now.duration_since(since) < self.interval {
            return None;
        }
        let secs = now.duration_since(since).as_secs_f64();
        st.since = if st.suppressed.is_empty() && st.logged.is_empty() {
            None
        } else {
            Some(now)
        };
        st.logged.clear();
        let sources = std::mem::take(&mut st.sources).len();
        let kinds = std::mem::take(&mut st.suppressed);
        if kinds.is_empty() {
            return None;
        }
        let total: u64 = kinds.values().sum();
        let by_kind: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        Some(format!(
            "suppressed {total} more rejection line(s) from {sources} source(s) in the last {secs:.0}s: {}",
            by_kind.join(", ")
        ))
    }
}

/// Kinds are a small fixed set of static names; unknown ones are folded.
fn intern(kind: &str) -> &'static str {
    const KINDS: &[&str] = &[
        "missing headers",
        "malformed timestamp",
        "stale timestamp",
        "future timestamp",
        "malformed signature",
        "signature mismatch",
        "replayed",
        "replay cache full",
        "not a result notification",
        "method not allowed",
        "not found",
        "too slow",
        "body too large",
        "head too large",
        "busy",
        "unsupported protocol",
        "malformed request",
    ];
    KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_per_source_then_one_summary_per_interval() {
        let log = RejectLog::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let mut lines = Vec::new();
        for i in 0..50 {
            let kind = if i % 2 == 0 {
                "signature mismatch"
            } else {
                "too slow"
            };
            lines.extend(log.note(a, kind, &format!("a {i}"), t0));
        }
        lines.extend(log.note(b, "not found", "b 0", t0));
        assert_eq!(lines, ["a 0", "a 1", "b 0"]);
        assert_eq!(log.tick(t0 + Duration::from_secs(5)), None);
        let summary = log.tick(t0 + Duration::from_secs(10)).unwrap();
        assert!(
            summary.contains("suppressed 48 more")
                && summary.contains("from 1 source(s)")
                && summary.contains("signature mismatch 24")
                && summary.contains("too slow 24"),
            "{summary}"
        );
        // A new interval: the source gets its burst again; quiet intervals say nothing.
        assert_eq!(
            log.note(a, "replayed", "a again", t0 + Duration::from_secs(11)),
            ["a again"]
        );
        assert_eq!(log.tick(t0 + Duration::from_secs(30)), None);
    }
}
