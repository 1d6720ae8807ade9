//! Findings raised and resolved over time, in at most [`MAX_BUCKETS`]
//! buckets whatever the span: the bucket is the first of an hour, 6 hours,
//! a day, a week (from Monday), a month, a year, or several years, that
//! covers the span in [`MAX_BUCKETS`] or fewer. Only trusted times are
//! charted ([`crate::when`]), so the chart's memory is two counters a
//! bucket.

use crate::when::{self, Micros};

/// The most bars per series.
pub const MAX_BUCKETS: i64 = 120;

const HOUR: Micros = 3_600_000_000;
const DAY: Micros = 24 * HOUR;
/// 1970-01-01 was a Thursday: weeks start 3 days later, on a Monday.
const MONDAY: Micros = 4 * DAY;

/// A bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A fixed number of microseconds, from the epoch (or a Monday).
    Fixed { width: Micros, name: &'static str },
    /// `n` calendar months.
    Months(i64),
}

impl Unit {
    /// The bucket number of `t`.
    fn index(self, t: Micros) -> i64 {
        match self {
            Unit::Fixed { width, name } => {
                let origin = if name == "week" { MONDAY } else { 0 };
                (t - origin).div_euclid(width)
            }
            Unit::Months(n) => month(t).div_euclid(n),
        }
    }

    /// How a bucket is named (`hour`, `6 hours`, `day`, `week`, `month`, `year`, `5 years`).
    pub fn name(self) -> String {
        match self {
            Unit::Fixed { name, .. } => name.to_owned(),
            Unit::Months(1) => "month".to_owned(),
            Unit::Months(12) => "year".to_owned(),
            Unit::Months(n) => format!("{} years", n / 12),
        }
    }

    /// The label of bucket number `i`.
    fn label(self, i: i64) -> String {
        match self {
            Unit::Fixed { width, name } => {
                let origin = if name == "week" { MONDAY } else { 0 };
                let s = when::format(origin + i * width);
                if width < DAY {
                    format!("{} {}", &s[..10], &s[11..16])
                } else {
                    s[..10].to_owned()
                }
            }
            Unit::Months(1) => {
                let m = i;
                format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
            }
            Unit::Months(n) => format!("{:04}", (i * n).div_euclid(12)),
        }
    }
}

/// Months since year 0 of `t` (year × 12 + month − 1).
fn month(t: Micros) -> i64 {
    let s = when::format(t);
    let y: i64 = s[..4].parse().unwrap_or(0);
    let m: i64 = s[5..7].parse().unwrap_or(1);
    y * 12 + m - 1
}

/// The smallest unit that covers `lo..=hi` in at most [`MAX_BUCKETS`].
pub fn unit_for(lo: Micros, hi: Micros) -> Unit {
    let fixed = [
        (HOUR, "hour"),
        (6 * HOUR, "6 hours"),
        (DAY, "day"),
        (7 * DAY, "week"),
    ];
    for (width, name) in fixed {
        let u = Unit::Fixed { width, name };
        if u.index(hi) - u.index(lo) < MAX_BUCKETS {
            return u;
        }
    }
    let months = month(hi) - month(lo) + 1;
    if months <= MAX_BUCKETS {
        return Unit::Months(1);
    }
    let years = months / 12 + 1;
    Unit::Months(12 * ((years + MAX_BUCKETS - 2) / (MAX_BUCKETS - 1)).max(1))
}

/// Which series a time belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Series {
    Raised = 0,
    Resolved = 1,
}

/// The counts per bucket.
#[derive(Debug)]
pub struct Chart {
    pub unit: Unit,
    first: i64,
    /// `[raised, resolved]` per bucket.
    pub buckets: Vec<[u64; 2]>,
}

impl Chart {
    /// An empty chart over `lo..=hi`.
    pub fn new(lo: Micros, hi: Micros) -> Chart {
        let unit = unit_for(lo, hi);
        let first = unit.index(lo);
        let n = (unit.index(hi) - first + 1).clamp(1, MAX_BUCKETS) as usize;
        Chart {
            unit,
            first,
            buckets: vec![[0, 0]; n],
        }
    }

    /// Counts one finding raised or resolved at `t` (a time outside the
    /// span given to [`Chart::new`] is clamped into it).
    pub fn add(&mut self, t: Micros, s: Series) {
        let i = (self.unit.index(t) - self.first).clamp(0, self.buckets.len() as i64 - 1);
        self.buckets[i as usize][s as usize] += 1;
    }

    /// The label of bucket `i` (its start, UTC).
    pub fn label(&self, i: usize) -> String {
        self.unit.label(self.first + i as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::when::parse;

    fn t(s: &str) -> Micros {
        parse(s).unwrap()
    }

    #[test]
    fn the_unit_grows_with_the_span() {
        let lo = t("2026-11-27T10:30:00Z");
        for (hi, name) in [
            ("2026-11-27T23:00:00Z", "hour"),
            ("2026-12-01T00:00:00Z", "hour"),
            ("2026-12-10T00:00:00Z", "6 hours"),
            ("2027-02-01T00:00:00Z", "day"),
            ("2028-06-01T00:00:00Z", "week"),
            ("2034-01-01T00:00:00Z", "month"),
            ("2060-01-01T00:00:00Z", "year"),
            ("2400-01-01T00:00:00Z", "4 years"),
        ] {
            let c = Chart::new(lo, t(hi));
            assert_eq!(c.unit.name(), name, "{hi}");
            assert!(
                c.buckets.len() as i64 <= MAX_BUCKETS,
                "{hi}: {}",
                c.buckets.len()
            );
        }
    }

    #[test]
    fn counts_land_in_labelled_buckets() {
        let mut c = Chart::new(t("2026-11-24T05:00:00Z"), t("2026-11-27T23:00:00Z"));
        assert_eq!(c.unit.name(), "hour");
        c.add(t("2026-11-24T05:59:59Z"), Series::Raised);
        c.add(t("2026-11-27T23:10:00Z"), Series::Resolved);
        assert_eq!(c.label(0), "2026-11-24 05:00");
        assert_eq!(c.buckets[0], [1, 0]);
        let last = c.buckets.len() - 1;
        assert_eq!(c.label(last), "2026-11-27 23:00");
        assert_eq!(c.buckets[last], [0, 1]);

        let mut w = Chart::new(t("2026-01-01T00:00:00Z"), t("2027-06-01T00:00:00Z"));
        assert_eq!(w.unit.name(), "week");
        w.add(t("2026-11-25T12:00:00Z"), Series::Raised);
        let i = w.buckets.iter().position(|b| b[0] == 1).unwrap();
        assert_eq!(w.label(i), "2026-11-23", "weeks start on Monday");

        let m = Chart::new(t("2026-01-15T00:00:00Z"), t("2030-03-01T00:00:00Z"));
        assert_eq!(
            (m.label(0), m.label(1)),
            ("2026-01".into(), "2026-02".into())
        );
    }
}
