//! `--max-per-minute`: noise suppression that never drops silently.
//!
//! Records are counted in one-minute windows (starting with the first
//! record after the previous window closed). Past the cap, records are not
//! posted; the window instead ends with one summary record that says how
//! many were held back and where ("412 more events under /srv/user_pii in
//! the last minute", the common directory of their paths). Falco removed
//! its rate limiter and watchdog simply drops; this keeps the operator
//! informed at a bounded message rate.

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The per-minute cap's state.
pub struct Limiter {
    max: u64,
    window: Duration,
    start: Option<Instant>,
    passed: u64,
    held: u64,
    prefix: Option<PathBuf>,
    same_path: bool,
    any_without_path: bool,
}

/// Records held back in one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub prefix: Option<PathBuf>,
    pub same_path: bool,
    pub max: u64,
}

impl Limiter {
    /// A cap of `max` records a minute.
    pub fn new(max: u64) -> Self {
        Self::with_window(max, Duration::from_secs(60))
    }

    /// A cap of `max` records per `window` (tests).
    pub fn with_window(max: u64, window: Duration) -> Self {
        Limiter {
            max,
            window,
            start: None,
            passed: 0,
            held: 0,
            prefix: None,
            same_path: true,
            any_without_path: false,
        }
    }

    /// When the current window closes with a summary to send, if any.
    pub fn due(&self) -> Option<Instant> {
        (self.held > 0)
            .then(|| self.start.map(|s| s + self.window))
            .flatten()
    }

    /// Closes the window if it is over (or `force`), returning its summary
    /// when records were held back. Call before [`Limiter::admit`] and on timer wake-ups.
    pub fn poll(&mut self, now: Instant, force: bool) -> Option<Summary> {
        let start = self.start?;
        if !force && now < start + self.window {
            return None;
        }
        let summary = (self.held > 0).then(|| Summary {
            count: self.held,
            prefix: if self.any_without_path {
                None
            } else {
                self.prefix.take()
            },
            same_path: self.same_path && !self.any_without_path,
            max: self.max,
        });
        *self = Limiter::with_window(self.max, self.window);
        summary
    }

    /// True when a record about `path` may be posted now; otherwise it is counted for the summary.
    pub fn admit(&mut self, now: Instant, path: Option<&str>) -> bool {
        if self.start.is_none() {
            self.start = Some(now);
        }
        if self.passed < self.max {
            self.passed += 1;
            return true;
        }
        self.held += 1;
        match path {
            None => self.any_without_path = true,
            Some(p) => {
                let p = Path::new(p);
                self.prefix = Some(match self.prefix.take() {
                    None => p.to_path_buf(),
                    Some(old) => {
                        if old != p {
                            self.same_path = false;
                        }
                        common_prefix(&old, p)
                    }
                });
            }
        }
        false
    }
}

/// The longest common leading sequence of path components.
pub fn common_prefix(a: &Path, b: &Path) -> PathBuf {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

impl Summary {
    /// The human sentence.
    pub fn message(&self) -> String {
        let n = self.count;
        let what = if n == 1 { "event" } else { "events" };
        match &self.prefix {
            Some(p) if self.same_path => {
                format!("{n} more {what} on {} in the last minute", p.display())
            }
            Some(p) if !p.as_os_str().is_empty() && p.components().ne([Component::RootDir]) => {
                format!("{n} more {what} under {} in the last minute", p.display())
            }
            _ => format!("{n} more {what} in the last minute"),
        }
    }

    /// The summary as a record: FsEvent-shaped (`event_type` "suppressed",
    /// `src_path` the common prefix) so Slack lines and templates work on it.
    pub fn record(&self) -> Value {
        json!({
            "event_type": "suppressed",
            "src_path": self.prefix.as_ref().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default(),
            "count": self.count,
            "max_per_minute": self.max,
            "message": format!("{} (--max-per-minute {})", self.message(), self.max),
            "timestamp": dlp_record::time::now_rfc3339(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_then_summarises_with_common_prefix() {
        let t0 = Instant::now();
        let mut l = Limiter::with_window(2, Duration::from_secs(60));
        assert!(l.admit(t0, Some("/srv/pii/a")));
        assert!(l.admit(t0, Some("/srv/pii/b")));
        assert!(!l.admit(t0, Some("/srv/pii/x/c")));
        assert!(!l.admit(t0, Some("/srv/pii/y")));
        assert_eq!(l.due(), Some(t0 + Duration::from_secs(60)));
        assert_eq!(l.poll(t0 + Duration::from_secs(1), false), None);
        let s = l.poll(t0 + Duration::from_secs(60), false).unwrap();
        assert_eq!(s.count, 2);
        assert_eq!(
            s.message(),
            "2 more events under /srv/pii in the last minute"
        );
        assert_eq!(s.record()["src_path"], "/srv/pii");
        assert!(l.admit(t0 + Duration::from_secs(61), Some("/z")));
        assert_eq!(l.poll(t0 + Duration::from_secs(200), false), None);
    }

    #[test]
    fn one_path_and_no_common_prefix() {
        let t0 = Instant::now();
        let mut l = Limiter::with_window(1, Duration::from_secs(60));
        l.admit(t0, Some("/a/f"));
        l.admit(t0, Some("/a/f"));
        assert_eq!(
            l.poll(t0, true).unwrap().message(),
            "1 more event on /a/f in the last minute"
        );
        l.admit(t0, Some("/a/f"));
        l.admit(t0, Some("/a/f"));
        l.admit(t0, Some("/b/g"));
        assert_eq!(
            l.poll(t0, true).unwrap().message(),
            "2 more events in the last minute"
        );
    }
}
