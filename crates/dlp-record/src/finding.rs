//! Finding: one finding in one file (README.md, "Records"), with
//! Nightfall's confidence scale, its lifecycle status and the severity of
//! its detector.

use serde::{Deserialize, Serialize};

/// Nightfall's five confidence levels, in ascending order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Confidence {
    VeryUnlikely,
    Unlikely,
    Possible,
    Likely,
    VeryLikely,
}

impl Confidence {
    /// Wire name, e.g. `VERY_LIKELY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::VeryUnlikely => "VERY_UNLIKELY",
            Confidence::Unlikely => "UNLIKELY",
            Confidence::Possible => "POSSIBLE",
            Confidence::Likely => "LIKELY",
            Confidence::VeryLikely => "VERY_LIKELY",
        }
    }

    /// Parses a wire name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Confidence::VeryUnlikely,
            Confidence::Unlikely,
            Confidence::Possible,
            Confidence::Likely,
            Confidence::VeryLikely,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    /// One level up or down, clamped to the scale.
    pub fn shift(self, levels: i32) -> Self {
        let i = (self as i32 + levels).clamp(0, 4);
        [
            Confidence::VeryUnlikely,
            Confidence::Unlikely,
            Confidence::Possible,
            Confidence::Likely,
            Confidence::VeryLikely,
        ][i as usize]
    }
}

/// A half-open range `[start, end)` (1-based inclusive for lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

/// One finding (Finding in README.md, "Records"), from nf-webhook or pii-scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub upload_id: String,
    #[serde(default)]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_b64: Option<String>,
    #[serde(default)]
    pub index: u64,
    #[serde(default)]
    pub timestamp: String,
    pub detector: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detector_uuid: String,
    pub confidence: Confidence,
    pub finding: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_finding: Option<String>,
    #[serde(default)]
    pub before_context: String,
    #[serde(default)]
    pub after_context: String,
    #[serde(default)]
    pub byte_range: Range,
    #[serde(default)]
    pub codepoint_range: Range,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_range: Option<Range>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_range: Option<Range>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_range: Option<Range>,
    #[serde(default)]
    pub archive_path: String,
    #[serde(default)]
    pub detection_rules: Vec<String>,
    /// SHA-256 of the scanned file, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The machine the scanned file is on (for findings gathered centrally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Lifecycle when finding state is kept (`pii-scan --state`), see
    /// [`FindingStatus`]. Absent otherwise: the record is a finding the
    /// file holds now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<FindingStatus>,
    /// The finding's stable key within its file (with finding state): a
    /// keyed hash of its container path, detector and text, and its
    /// occurrence among equal findings. The `new` record and the later
    /// `resolved` one of a finding carry the same key; with `host` and
    /// `path` it identifies the finding across the fleet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    /// When this occurrence was first reported (with finding state): the
    /// `new` record's timestamp, carried by its `resolved` record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// The scanned file is on removable media (from the FsEvent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removable: Option<bool>,
    /// The scanned file on removable media has the content of this watched
    /// file (from the FsEvent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<String>,
    /// The PDF page the finding is on (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// The finding was read by OCR: the lowest confidence (0-100) the
    /// recogniser had in the words it is made of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_confidence: Option<u8>,
}

impl Finding {
    /// A finding of `detector` at `confidence` whose text is `finding` (the
    /// fields a record cannot be without), every other field empty or
    /// absent: callers set the rest with `Finding { .., ..Finding::new(..) }`.
    pub fn new(
        detector: impl Into<String>,
        confidence: Confidence,
        finding: impl Into<String>,
    ) -> Self {
        Finding {
            upload_id: String::new(),
            path: String::new(),
            path_b64: None,
            index: 0,
            timestamp: String::new(),
            detector: detector.into(),
            detector_uuid: String::new(),
            confidence,
            finding: finding.into(),
            redacted_finding: None,
            before_context: String::new(),
            after_context: String::new(),
            byte_range: Range::default(),
            codepoint_range: Range::default(),
            line_range: None,
            row_range: None,
            column_range: None,
            archive_path: String::new(),
            detection_rules: Vec::new(),
            sha256: None,
            host: None,
            status: None,
            finding_id: None,
            first_seen: None,
            removable: None,
            copied_from: None,
            page: None,
            ocr_confidence: None,
        }
    }

    /// True when the finding still needs attention: no status (a finding
    /// the file holds now) or `new`. `resolved`, `quarantined` and any
    /// status this version does not know are not open.
    pub fn is_open(&self) -> bool {
        FindingStatus::is_open(self.status)
    }
}

/// Where a finding is in its lifecycle (see [`Finding::status`]).
///
/// * `new`: first seen in this file (at this occurrence);
/// * `resolved`: no longer in the file: edited out, or the file was
///   deleted or moved away;
/// * `quarantined`: the file holding it was moved into a quarantine vault
///   (`dlp-remediate`): gone from where it was, but kept, not resolved.
///
/// A status this version does not know reads as [`FindingStatus::Other`]
/// (written back as `"other"`), which no consumer treats as open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    New,
    Resolved,
    Quarantined,
    #[serde(other)]
    Other,
}

impl FindingStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::New => "new",
            FindingStatus::Resolved => "resolved",
            FindingStatus::Quarantined => "quarantined",
            FindingStatus::Other => "other",
        }
    }

    /// Whether a record with this status (or none) is an open finding.
    pub fn is_open(status: Option<FindingStatus>) -> bool {
        matches!(status, None | Some(FindingStatus::New))
    }

    /// The same test on a wire value (`""`: no status), for tools that
    /// read records without deserializing them.
    pub fn is_open_str(status: &str) -> bool {
        matches!(status, "" | "new")
    }
}

/// How bad a leak of what a detector finds is, for ranking: a private key
/// or a live credential above an identity or card number, above contact
/// details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Contact details and network identifiers (email, IP address, URL).
    Low,
    /// Other personal data (phone number, date of birth, address, name),
    /// and custom detectors, whose meaning is not known.
    Medium,
    /// Identity, card and bank numbers (SSN, passport, driver's licence,
    /// tax id, card, IBAN, account and routing numbers).
    High,
    /// Secrets that grant access: private keys, API keys, passwords, tokens.
    Critical,
}

impl Severity {
    /// The severity of a detector, from its name (Nightfall's identifier
    /// such as `US_SOCIAL_SECURITY_NUMBER`, or its display name such as
    /// `US Social Security Number`; case and separators do not matter).
    pub fn of(detector: &str) -> Severity {
        let d: String = detector
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let has = |words: &[&str]| words.iter().any(|w| d.contains(w));
        if has(&[
            "cryptographic",
            "privatekey",
            "apikey",
            "password",
            "secret",
            "token",
            "credential",
        ]) {
            Severity::Critical
        } else if has(&[
            "socialsecurity",
            "ssn",
            "creditcard",
            "cardnumber",
            "debitcard",
            "iban",
            "bank",
            "routing",
            "passport",
            "driver",
            "taxpayer",
            "taxid",
            "taxidentification",
            "nationalid",
            "identitycard",
            "socialinsurance",
            "nationalinsurance",
            "healthplan",
            "medicare",
        ]) {
            Severity::High
        } else if has(&[
            "email",
            "ipaddress",
            "ipv4",
            "ipv6",
            "url",
            "macaddress",
            "domain",
        ]) {
            Severity::Low
        } else {
            Severity::Medium
        }
    }

    /// The name shown (`critical`, `high`, `medium`, `low`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_finding_writes_its_three_fields_and_the_always_present_ones() {
        let f = Finding::new(
            "US_SOCIAL_SECURITY_NUMBER",
            Confidence::Likely,
            "536-22-8726",
        );
        let line = serde_json::to_string(&f).unwrap();
        assert_eq!(
            line,
            r#"{"path":"","index":0,"timestamp":"","detector":"US_SOCIAL_SECURITY_NUMBER","confidence":"LIKELY","finding":"536-22-8726","before_context":"","after_context":"","byte_range":{"start":0,"end":0},"codepoint_range":{"start":0,"end":0},"archive_path":"","detection_rules":[]}"#
        );
        assert_eq!(serde_json::from_str::<Finding>(&line).unwrap(), f);
        assert!(f.is_open());
    }

    #[test]
    fn statuses_and_openness() {
        let f = |s: &str| -> Option<FindingStatus> {
            serde_json::from_str::<Finding>(&format!(
                r#"{{"detector":"d","confidence":"LIKELY","finding":"x"{s}}}"#
            ))
            .unwrap()
            .status
        };
        assert_eq!(f(""), None);
        assert_eq!(f(r#","status":"new""#), Some(FindingStatus::New));
        assert_eq!(
            f(r#","status":"quarantined""#),
            Some(FindingStatus::Quarantined)
        );
        // A status from a later version still reads, and is not open.
        assert_eq!(f(r#","status":"escalated""#), Some(FindingStatus::Other));
        assert!(FindingStatus::is_open(None));
        assert!(FindingStatus::is_open(Some(FindingStatus::New)));
        for s in [
            FindingStatus::Resolved,
            FindingStatus::Quarantined,
            FindingStatus::Other,
        ] {
            assert!(!FindingStatus::is_open(Some(s)));
            assert!(!FindingStatus::is_open_str(s.as_str()));
        }
        assert!(FindingStatus::is_open_str(""));
    }

    #[test]
    fn severity_ranks_detectors() {
        assert_eq!(Severity::of("CRYPTOGRAPHIC_KEY"), Severity::Critical);
        assert_eq!(Severity::of("API Key"), Severity::Critical);
        assert_eq!(Severity::of("US Social Security Number"), Severity::High);
        assert_eq!(Severity::of("CREDIT_CARD_NUMBER"), Severity::High);
        assert_eq!(Severity::of("IBAN_CODE"), Severity::High);
        assert_eq!(Severity::of("PHONE_NUMBER"), Severity::Medium);
        assert_eq!(Severity::of("Email Address"), Severity::Low);
        assert_eq!(Severity::of("my-custom-regex"), Severity::Medium);
        assert!(Severity::Critical > Severity::High && Severity::High > Severity::Low);
    }

    #[test]
    fn confidence_orders_and_shifts() {
        assert!(Confidence::Likely > Confidence::Possible);
        assert_eq!(
            Confidence::parse("very_likely"),
            Some(Confidence::VeryLikely)
        );
        assert_eq!(Confidence::Likely.shift(5), Confidence::VeryLikely);
        assert_eq!(Confidence::Unlikely.shift(-3), Confidence::VeryUnlikely);
        assert_eq!(
            serde_json::to_string(&Confidence::VeryLikely).unwrap(),
            "\"VERY_LIKELY\""
        );
    }
}
