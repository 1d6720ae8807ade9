//! `--summary`: what this run wrote, said once at the end of input.
//!
//! The counts are kept here, in the stage that appends the rows, so a
//! pipeline needs no second pass over its findings (no `tee` to a
//! temporary file and `grep` of the JSON): every valid Finding record read
//! is counted, written or left out (see the status rule in `lib.rs`);
//! malformed lines are rejected by the reading loop and not counted.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use dlp_record::text::escape_hidden;

use crate::FindingView;

/// How the summary is worded (`--summary-label`, `--summary-new`,
/// `--summary-under`).
#[derive(Debug, Clone, Copy)]
pub struct Wording<'a> {
    /// What each summary line starts with (`LABEL: `).
    pub label: &'a str,
    /// Call the open findings "new": they were not reported before.
    pub new: bool,
    /// What was scanned: the first line ends `under UNDER`.
    pub under: Option<&'a str>,
}

/// The counts of the records read.
#[derive(Debug, Default)]
pub struct Tally {
    /// Open findings: no status, or `new`.
    open: u64,
    resolved: u64,
    quarantined: u64,
    /// The files of the open findings.
    files: HashSet<Vec<u8>>,
    /// Open findings per detector.
    detectors: HashMap<Vec<u8>, u64>,
}

impl Tally {
    /// Counts one Finding record.
    pub fn add(&mut self, f: &FindingView<'_>) {
        match f.status.as_deref().unwrap_or_default() {
            b"" | b"new" => {
                self.open += 1;
                if !self.files.contains(f.path.as_ref()) {
                    self.files.insert(f.path.to_vec());
                }
                *self.detectors.entry(f.detector.to_vec()).or_default() += 1;
            }
            b"resolved" => self.resolved += 1,
            b"quarantined" => self.quarantined += 1,
            _ => {}
        }
    }

    /// Adds the counts of `other` (a block counted on another thread).
    pub fn merge(&mut self, other: Tally) {
        self.open += other.open;
        self.resolved += other.resolved;
        self.quarantined += other.quarantined;
        self.files.extend(other.files);
        for (d, n) in other.detectors {
            *self.detectors.entry(d).or_default() += n;
        }
    }

    /// Open findings per detector, the most frequent first (equal counts:
    /// the names in descending byte order).
    fn by_detector(&self) -> Vec<(u64, String)> {
        let mut v: Vec<(u64, &Vec<u8>)> = self.detectors.iter().map(|(d, n)| (*n, d)).collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.into_iter()
            .map(|(n, d)| (n, escape_hidden(&String::from_utf8_lossy(d)).into_owned()))
            .collect()
    }

    /// Writes the summary:
    ///
    /// ```text
    /// LABEL: N [new ]finding(s) in F file(s)[ under UNDER]
    ///   COUNT DETECTOR                (per detector, when N > 0)
    /// LABEL: R finding(s) resolved (gone from their files since the last scan)
    /// LABEL: Q finding(s) quarantined (their files are in the vault)
    /// ```
    ///
    /// The last two lines only when R or Q is not zero.
    pub fn write(&self, w: Wording<'_>, out: &mut impl Write) -> io::Result<()> {
        let label = w.label;
        let new = if w.new { "new " } else { "" };
        let under = w.under.map(|u| format!(" under {u}")).unwrap_or_default();
        writeln!(
            out,
            "{label}: {} {new}finding(s) in {} file(s){under}",
            self.open,
            self.files.len()
        )?;
        for (n, d) in self.by_detector() {
            writeln!(out, "  {n} {d}")?;
        }
        if self.resolved > 0 {
            writeln!(
                out,
                "{label}: {} finding(s) resolved (gone from their files since the last scan)",
                self.resolved
            )?;
        }
        if self.quarantined > 0 {
            writeln!(
                out,
                "{label}: {} finding(s) quarantined (their files are in the vault)",
                self.quarantined
            )?;
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Needed;

    fn tally(lines: &[&str]) -> Tally {
        let mut t = Tally::default();
        for l in lines {
            t.add(&FindingView::parse(l.as_bytes(), Needed::all()).unwrap());
        }
        t
    }

    fn rec(path: &str, det: &str, status: Option<&str>) -> String {
        let mut v = serde_json::json!({"path": path, "detector": det, "confidence": "LIKELY", "finding": "x"});
        if let Some(s) = status {
            v["status"] = s.into();
        }
        v.to_string()
    }

    #[test]
    fn counts_open_findings_per_file_and_detector_and_the_closed_ones() {
        let lines = [
            rec("/a", "B", None),
            rec("/a", "A", Some("new")),
            rec("/b", "B", Some("")),
            rec("/c", "A", Some("resolved")),
            rec("/c", "A", Some("quarantined")),
            rec("/d", "C", Some("later")),
            rec("/e", "C", None),
        ];
        let t = tally(&lines.iter().map(String::as_str).collect::<Vec<_>>());
        let mut out = Vec::new();
        let w = Wording {
            label: "x",
            new: true,
            under: Some("/d1 /d2"),
        };
        t.write(w, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "x: 4 new finding(s) in 3 file(s) under /d1 /d2\n  2 B\n  1 C\n  1 A\n\
             x: 1 finding(s) resolved (gone from their files since the last scan)\n\
             x: 1 finding(s) quarantined (their files are in the vault)\n"
        );
    }

    #[test]
    fn merged_blocks_count_a_file_once_and_hidden_characters_show() {
        let mut t = tally(&[&rec("/a", "A\u{1b}[31m", None)]);
        t.merge(tally(&[&rec("/a", "A\u{1b}[31m", None)]));
        let mut out = Vec::new();
        let w = Wording {
            label: "findings-csv",
            new: false,
            under: None,
        };
        t.write(w, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "findings-csv: 2 finding(s) in 1 file(s)\n  2 A\\u001b[31m\n"
        );
    }
}
