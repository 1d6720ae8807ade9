//! One finding record as the report reads it, borrowed from the input line
//! or CSV row: the same view whichever format it came in, so NDJSON and the
//! CSV findings-csv writes give the same numbers.

/// The fields of one Finding record the report uses (empty when absent).
#[derive(Debug, Default, Clone)]
pub struct Rec<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub archive_path: &'a str,
    pub detector: &'a str,
    pub confidence: &'a str,
    pub timestamp: &'a str,
    pub finding: &'a str,
    pub status: &'a str,
    pub finding_id: &'a str,
    pub first_seen: &'a str,
    /// `byte_range.start`, the finding's place when it has no `finding_id`.
    pub byte_start: Option<u64>,
    /// `line_range.start` (the CSV's `line` column).
    pub line: Option<u64>,
    pub removable: bool,
    pub copied_from: &'a str,
}

/// The text fields of a Finding the report reads, by their NDJSON and
/// CSV name, in the order [`Rec::from_text`] takes them.
pub const TEXT_FIELDS: [&str; 11] = [
    "host",
    "path",
    "archive_path",
    "detector",
    "confidence",
    "timestamp",
    "finding",
    "status",
    "finding_id",
    "first_seen",
    "copied_from",
];

/// Index of `detector` in [`TEXT_FIELDS`]: a record without one is not a Finding.
pub const DETECTOR: usize = 3;

impl<'a> Rec<'a> {
    /// A record from its [`TEXT_FIELDS`] and the three that are not text.
    pub fn from_text(
        t: [&'a str; 11],
        byte_start: Option<u64>,
        line: Option<u64>,
        removable: bool,
    ) -> Rec<'a> {
        let [host, path, archive_path, detector, confidence, timestamp, finding, status, finding_id, first_seen, copied_from] =
            t;
        Rec {
            host,
            path,
            archive_path,
            detector,
            confidence,
            timestamp,
            finding,
            status,
            finding_id,
            first_seen,
            byte_start,
            line,
            removable,
            copied_from,
        }
    }
}

/// What a record says about its finding (the `status` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No status: a finding the file holds now.
    Held,
    /// `new`: first reported by an endpoint that keeps finding state.
    New,
    /// `resolved`: gone from the file.
    Resolved,
    /// `quarantined`: the file was moved into a vault.
    Quarantined,
    /// Any other value: not open, shown as given.
    Other,
}

impl Status {
    /// Reads a wire value (`""`: no status).
    pub fn of(s: &str) -> Status {
        match s {
            "" => Status::Held,
            "new" => Status::New,
            "resolved" => Status::Resolved,
            "quarantined" => Status::Quarantined,
            _ => Status::Other,
        }
    }

    /// Open findings need attention: no status, or `new` (the test below
    /// holds this to dlp-record's `FindingStatus::is_open_str`).
    pub fn is_open(self) -> bool {
        matches!(self, Status::Held | Status::New)
    }
}

/// `"12-40"` (the CSV's byte_range) to its start.
pub fn range_start(cell: &str) -> Option<u64> {
    let (start, end) = cell.split_once('-')?;
    end.trim().parse::<u64>().ok()?;
    start.trim().parse().ok()
}

/// `"true"` / `"false"` / `""` (the CSV's removable column).
pub fn flag(cell: &str) -> bool {
    cell.eq_ignore_ascii_case("true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_contract() {
        for (wire, st, open) in [
            ("", Status::Held, true),
            ("new", Status::New, true),
            ("resolved", Status::Resolved, false),
            ("quarantined", Status::Quarantined, false),
            ("open", Status::Other, false),
            ("NEW", Status::Other, false),
        ] {
            assert_eq!(Status::of(wire), st, "{wire}");
            assert_eq!(st.is_open(), open, "{wire}");
            assert_eq!(dlp_record::FindingStatus::is_open_str(wire), open, "{wire}");
        }
    }

    #[test]
    fn csv_cells() {
        assert_eq!(range_start("12-40"), Some(12));
        assert_eq!(range_start(""), None);
        assert_eq!(range_start("x-1"), None);
        assert!(flag("true") && !flag("false") && !flag(""));
    }
}
