//! What pii-scan tells the person at the terminal, apart from the records.
//!
//! Expected skips (a binary file, a directory, a file that vanished or did
//! not change, a FIFO or device) are counted by reason and said in one line
//! at the end, as ripgrep keeps quiet about binary files; `-v` lists each.
//! Real problems (unreadable, corrupt, over a limit, encrypted) keep a line
//! each. With `--announce`, each record written is also said in one short
//! line (new, resolved or quarantined; file, detector, line), with a count
//! at the end: the watch mode of `local-dlp.sh` uses it when stderr is a
//! terminal.

use std::collections::BTreeMap;

use dlp_record::{Finding, FindingStatus};

/// The reason of a `PATH: skipped: REASON` note when it is an expected
/// skip, or of a routine note.
fn expected_reason(msg: &str) -> Option<&str> {
    if msg.ends_with(": unchanged since the last scan") {
        return Some("unchanged since the last scan");
    }
    let reason = msg.rsplit_once(": skipped: ")?.1;
    matches!(
        reason,
        "binary"
            | "vanished"
            | "directory"
            | "deleted"
            | "FIFO"
            | "socket"
            | "device"
            | "not a regular file"
    )
    .then_some(reason)
}

/// Expected skips, counted by reason.
#[derive(Default)]
pub struct Tally {
    by_reason: BTreeMap<String, u64>,
}

impl Tally {
    /// Counts `msg` when it is an expected skip (`routine` notes are);
    /// false when it is something to say on its own line.
    pub fn count(&mut self, msg: &str, routine: bool) -> bool {
        let reason = match expected_reason(msg) {
            Some(r) => r,
            None if routine => "other",
            None => return false,
        };
        *self.by_reason.entry(reason.to_owned()).or_default() += 1;
        true
    }

    /// `skipped 15,726 files: 15,700 binary, 26 unchanged (-v lists them)`,
    /// or nothing when nothing was skipped.
    pub fn line(&self) -> Option<String> {
        let total: u64 = self.by_reason.values().sum();
        if total == 0 {
            return None;
        }
        let mut parts: Vec<(&String, &u64)> = self.by_reason.iter().collect();
        parts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let parts: Vec<String> = parts.iter().map(|(r, n)| format!("{n} {r}")).collect();
        Some(format!(
            "skipped {total} file(s): {} (-v lists them)",
            parts.join(", ")
        ))
    }
}

/// `--announce`: one line per record written, and counts.
#[derive(Default)]
pub struct Announce {
    counts: BTreeMap<&'static str, u64>,
}

impl Announce {
    /// The line for `f`: `new: US Social Security Number (LIKELY) in /a/b.csv line 3`.
    pub fn line(&mut self, f: &Finding) -> String {
        let what = match f.status {
            None => "found",
            Some(FindingStatus::New) => "new",
            Some(FindingStatus::Resolved) => "resolved",
            Some(FindingStatus::Quarantined) => "quarantined",
            Some(FindingStatus::Other) => "other",
        };
        *self.counts.entry(what).or_default() += 1;
        let mut s = format!(
            "{what}: {} ({}) in {}",
            f.detector,
            f.confidence.as_str(),
            f.path
        );
        if !f.archive_path.is_empty() {
            s.push_str(&format!(" ({})", f.archive_path));
        }
        if let Some(l) = f.line_range {
            s.push_str(&format!(" line {}", l.start));
        }
        dlp_record::text::escape_hidden(&s).into_owned()
    }

    /// `3 new, 1 resolved finding(s) while running`, or nothing.
    pub fn summary(&self) -> Option<String> {
        if self.counts.is_empty() {
            return Some("no new or resolved finding while running".into());
        }
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        Some(format!("{} finding(s) while running", parts.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_skips_are_counted_and_problems_are_not() {
        let mut t = Tally::default();
        assert!(t.count("/a/lib.so: skipped: binary", false));
        assert!(t.count("/a/b.so: skipped: binary", false));
        assert!(t.count("/a/fifo: skipped: FIFO", false));
        assert!(t.count("/a/x.txt: unchanged since the last scan", true));
        assert!(!t.count("/a/z.zip: skipped: corrupt: bad header", false));
        assert!(!t.count("/a/big: skipped: 9 bytes exceeds --max-size 1", false));
        assert!(!t.count("/a/secret: Permission denied (os error 13)", false));
        assert_eq!(
            t.line().unwrap(),
            "skipped 4 file(s): 2 binary, 1 FIFO, 1 unchanged since the last scan (-v lists them)"
        );
        assert_eq!(Tally::default().line(), None);
    }
}
