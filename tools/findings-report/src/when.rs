//! Which timestamps the report trusts.
//!
//! One record stamped `9999-12-31T23:59:59Z` (a wrong clock, a hand-made
//! record, an attacker) must not stretch the chart over eight thousand
//! years, sit at the top of "last seen" forever or decide which of a
//! finding's records is the newest. A timestamp more than a day after the
//! report's time, or before 2000-01-01, is flagged: counted, a few shown
//! (escaped) in a note, and otherwise treated as absent. So is one that
//! does not parse.

use std::time::UNIX_EPOCH;

use dlp_record::text::cut_middle;

/// Microseconds since the epoch; [`NO_TIME`] when there is none.
pub type Micros = i64;

/// No usable time: sorts before every real one.
pub const NO_TIME: Micros = i64::MIN;

/// 2000-01-01T00:00:00Z.
const Y2K: Micros = 946_684_800 * 1_000_000;
const DAY: Micros = 86_400 * 1_000_000;
/// Flagged values shown in the note.
const SAMPLES: usize = 5;
/// Bytes of a flagged value kept for the note.
const SAMPLE_BYTES: usize = 80;

/// RFC 3339 text to microseconds since the epoch.
pub fn parse(s: &str) -> Option<Micros> {
    let d = dlp_record::time::parse_rfc3339(s)?
        .duration_since(UNIX_EPOCH)
        .ok()?;
    i64::try_from(d.as_micros()).ok()
}

/// Microseconds to `2026-11-27T10:00:00Z` (seconds, UTC).
pub fn format(t: Micros) -> String {
    let secs = u64::try_from(t.max(0) / 1_000_000).unwrap_or(0);
    let s = dlp_record::time::format_rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(secs));
    format!("{}Z", &s[..19])
}

/// The trusted span and what fell outside it.
#[derive(Debug)]
pub struct Window {
    lo: Micros,
    hi: Micros,
    /// Timestamps after `now + 1 day` or before 2000.
    pub far: u64,
    /// Timestamps that do not parse.
    pub unreadable: u64,
    /// The first few flagged values, cut.
    pub samples: Vec<String>,
}

impl Window {
    /// The window of a report made at `now`.
    pub fn new(now: Micros) -> Window {
        Window {
            lo: Y2K,
            hi: now.saturating_add(DAY),
            far: 0,
            unreadable: 0,
            samples: Vec::new(),
        }
    }

    /// The time of `s` when it is trusted, else [`NO_TIME`] (flagged when
    /// it was there but wrong).
    pub fn time(&mut self, s: &str) -> Micros {
        if s.is_empty() {
            return NO_TIME;
        }
        match parse(s) {
            Some(t) if (self.lo..=self.hi).contains(&t) => t,
            Some(_) => self.flag(s, true),
            None => self.flag(s, false),
        }
    }

    fn flag(&mut self, s: &str, far: bool) -> Micros {
        if far {
            self.far += 1;
        } else {
            self.unreadable += 1;
        }
        if self.samples.len() < SAMPLES {
            self.samples.push(cut_middle(s, SAMPLE_BYTES).into_owned());
        }
        NO_TIME
    }

    /// Timestamps flagged in all.
    pub fn flagged(&self) -> u64 {
        self.far + self.unreadable
    }
}

/// The earlier of two times, [`NO_TIME`] counting as none.
pub fn earliest(a: Micros, b: Micros) -> Micros {
    match (a, b) {
        (NO_TIME, x) | (x, NO_TIME) => x,
        (a, b) => a.min(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_and_unreadable_times_are_flagged_not_used() {
        let now = parse("2026-11-27T10:00:00Z").unwrap();
        let mut w = Window::new(now);
        assert_eq!(w.time("2026-11-27T09:00:00Z"), now - 3_600_000_000);
        assert_eq!(w.time("2026-11-28T09:59:59Z"), now + DAY - 1_000_000);
        assert_eq!(w.time(""), NO_TIME);
        assert_eq!(w.time("9999-12-31T23:59:59Z"), NO_TIME);
        assert_eq!(w.time("1999-12-31T23:59:59Z"), NO_TIME);
        assert_eq!(w.time("yesterday\u{202e}"), NO_TIME);
        assert_eq!((w.far, w.unreadable, w.flagged()), (2, 1, 3));
        assert_eq!(w.samples[0], "9999-12-31T23:59:59Z");
        assert_eq!(format(now), "2026-11-27T10:00:00Z");
    }

    #[test]
    fn earliest_ignores_missing() {
        assert_eq!(earliest(NO_TIME, 5), 5);
        assert_eq!(earliest(7, NO_TIME), 7);
        assert_eq!(earliest(7, 5), 5);
        assert_eq!(earliest(NO_TIME, NO_TIME), NO_TIME);
    }
}
