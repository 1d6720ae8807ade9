//! Offline detection engine for dlp-pipes. It compiles Nightfall's
//! detection rules (`nfapi::rules`: from a file, [`load_rules`]; from
//! `--detector` names, [`shorthand_rules`] over the built-in [`Kind`]s; or
//! the default, [`default_rules`]) into an [`Engine`] that scans a buffer
//! ([`Engine::scan`]) or, in overlapping windows, a reader of any size
//! ([`Engine::scan_stream`] with [`StreamOptions`]), and reports each
//! finding as a [`Match`].
//!
//! Inside: the built-in detectors (`builtin`: one table row each, with
//! their shape checks), the evidence around a value (`evidence`, from
//! `context`: bound labels and keywords, and `structure`: table column
//! headers), the one place where shape and evidence become a confidence
//! level (`decide`, whose docs hold the table), custom regex / word-list
//! detectors (`custom`), the rule engine (`engine`), windowed scanning of
//! large inputs (`stream`) and rule semantics applied while streaming
//! (`gate`).
//!
//! ```
//! let engine = detect::Engine::new(&detect::default_rules()).unwrap();
//! let found = engine.scan(b"card 5433-9502-3725-7862\n");
//! assert_eq!(found[0].detector, "Credit Card Number");
//! assert_eq!((found[0].byte_range.start, found[0].byte_range.end), (5, 24));
//! ```

mod builtin;
mod context;
mod custom;
mod decide;
mod engine;
mod evidence;
mod gate;
mod load;
mod stream;
mod structure;

use std::path::Path;

use dlp_record::{Confidence, Finding, Range};

pub use builtin::Kind;
pub use engine::{Engine, DEFAULT_CONTEXT_BYTES};
pub use gate::HELD_LIMIT;
pub use load::{default_rules, load_rules, rule_warnings, shorthand_rules};
pub use stream::{StreamOptions, StreamSummary};

/// One finding of a firing rule, in Nightfall's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// `displayName` if given, else the `nightfallDetector` enum name.
    pub detector: String,
    pub detector_uuid: String,
    pub finding: String,
    pub redacted_finding: Option<String>,
    pub confidence: Confidence,
    /// 0-based, end-exclusive.
    pub byte_range: Range,
    /// 0-based, end-exclusive, in Unicode code points.
    pub codepoint_range: Range,
    /// 1-based, inclusive.
    pub line_range: Range,
    pub before_context: String,
    pub after_context: String,
    /// Names of the rules that reported this finding.
    pub matched_rules: Vec<String>,
}

impl Match {
    /// The Finding record for this match in file `path`.
    pub fn to_finding(
        &self,
        path: &Path,
        index: u64,
        timestamp: &str,
        archive_path: &str,
    ) -> Finding {
        self.clone()
            .into_finding(path, index, timestamp, archive_path)
    }

    /// [`Match::to_finding`], moving this match's strings into the
    /// finding instead of copying them (a dense file makes hundreds of
    /// thousands of findings a second).
    pub fn into_finding(
        self,
        path: &Path,
        index: u64,
        timestamp: &str,
        archive_path: &str,
    ) -> Finding {
        let (path, path_b64) = dlp_record::path_field(path);
        let mut f = Finding {
            path,
            path_b64,
            index,
            timestamp: timestamp.to_owned(),
            ..Finding::new("", self.confidence, "")
        };
        self.refill(&mut f, index, archive_path);
        f
    }

    /// Makes `f`, a finding of this match's file, this match's finding:
    /// its own fields are moved in, what the file's findings share (path,
    /// timestamp, host, ...) is kept. A writer that formats many findings
    /// of one file refills one finding instead of making one each time.
    pub fn refill(self, f: &mut Finding, index: u64, archive_path: &str) {
        f.index = index;
        f.detector = self.detector;
        f.detector_uuid = self.detector_uuid;
        f.confidence = self.confidence;
        f.finding = self.finding;
        f.redacted_finding = self.redacted_finding;
        f.before_context = self.before_context;
        f.after_context = self.after_context;
        f.byte_range = self.byte_range;
        f.codepoint_range = self.codepoint_range;
        f.line_range = Some(self.line_range);
        if f.archive_path != archive_path {
            archive_path.clone_into(&mut f.archive_path);
        }
        f.detection_rules = self.matched_rules;
    }
}
