//! The record contract between pipeline stages (README.md, "Records"; docs/ARCHITECTURE.md).
//!
//! Field names are snake_case and flat; optional fields are omitted rather
//! than null; timestamps are RFC 3339 UTC. Readers are lenient: unknown
//! fields are ignored and missing booleans default to false, so records
//! written by hand, by `jq` or by Python watchdog adapters are accepted.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What happened to a file (Python watchdog's `event_type` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Created,
    Modified,
    Deleted,
    Moved,
    Opened,
    Closed,
    ClosedNoWrite,
    /// The kernel dropped events; consumers should rescan `src_path`.
    Overflow,
    /// A file system was mounted at `src_path` (`fswatch-json --mounts`).
    Mounted,
    /// The file system at `src_path` was unmounted.
    Unmounted,
    /// Metadata changed, content did not: permissions, owner, group, ACL,
    /// extended attributes, inode or link count (`changed` says which,
    /// `previous` holds the old values). A change of times alone is not one.
    Attrib,
}

impl EventType {
    /// All event types, in documentation order.
    pub const ALL: [EventType; 11] = [
        EventType::Created,
        EventType::Modified,
        EventType::Deleted,
        EventType::Moved,
        EventType::Opened,
        EventType::Closed,
        EventType::ClosedNoWrite,
        EventType::Overflow,
        EventType::Mounted,
        EventType::Unmounted,
        EventType::Attrib,
    ];

    /// The wire name (`closed_no_write`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "created",
            EventType::Modified => "modified",
            EventType::Deleted => "deleted",
            EventType::Moved => "moved",
            EventType::Opened => "opened",
            EventType::Closed => "closed",
            EventType::ClosedNoWrite => "closed_no_write",
            EventType::Overflow => "overflow",
            EventType::Mounted => "mounted",
            EventType::Unmounted => "unmounted",
            EventType::Attrib => "attrib",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// True for events after which a file's content may be new and worth
    /// scanning: created, modified, moved (at its destination), closed.
    pub fn may_have_new_content(self) -> bool {
        matches!(
            self,
            EventType::Created | EventType::Modified | EventType::Moved | EventType::Closed
        )
    }
}

/// One file-system event (FsEvent in README.md, "Records").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FsEvent {
    pub event_type: EventType,
    pub src_path: String,
    #[serde(default)]
    pub dest_path: String,
    #[serde(default)]
    pub is_directory: bool,
    #[serde(default)]
    pub is_synthetic: bool,
    #[serde(default)]
    pub timestamp: String,
    /// Raw bytes of `src_path`, base64, when the path is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_path_b64: Option<String>,
    /// Raw bytes of `dest_path`, base64, when the path is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_path_b64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Modification time, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
    /// Permission bits as an octal string, e.g. `"0644"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_sha256: Option<String>,
    /// Why a synthetic event was emitted (`initial_scan`, `baseline`, `rescan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// File system type of a `mounted`/`unmounted` event (`ext4`, `vfat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fstype: Option<String>,
    /// Mount source of a `mounted`/`unmounted` event (`/dev/sdb1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The mount is removable media; on file events: the file is on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removable: Option<bool>,
    /// A file on removable media has the content of this watched file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<String>,
    /// The machine the event happened on (for records gathered centrally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Group id (with `mode` and `uid` in an `attrib` event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Hard-link count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nlink: Option<u64>,
    /// Inode number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ino: Option<u64>,
    /// POSIX ACL in `getfacl`'s short form (`user:1000:r--,...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    /// Extended attributes: name → value (text, `base64:…` or `sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xattrs: Option<std::collections::BTreeMap<String, String>>,
    /// What an `attrib` event's change was: names of the fields that
    /// changed (`mode`, `uid`, `gid`, `acl`, `xattrs`, `ino`, `nlink`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// The old values of what changed (an `attrib` event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<AttrValues>>,
    /// The process behind the event (`fswatch-json --who`): its pid,
    /// command name, real uid and user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// Metadata values of a file, as an `attrib` event's `previous` holds them
/// (only those that changed are present).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttrValues {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xattrs: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ino: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nlink: Option<u64>,
}

impl FsEvent {
    /// A new event about `src` stamped now, with no optional fields.
    pub fn new(event_type: EventType, src: &Path) -> Self {
        let (src_path, src_path_b64) = path_field(src);
        FsEvent {
            event_type,
            src_path,
            dest_path: String::new(),
            is_directory: false,
            is_synthetic: false,
            timestamp: crate::time::now_rfc3339(),
            src_path_b64,
            dest_path_b64: None,
            size: None,
            mtime: None,
            mode: None,
            uid: None,
            sha256: None,
            previous_sha256: None,
            reason: None,
            fstype: None,
            device: None,
            removable: None,
            copied_from: None,
            host: None,
            gid: None,
            nlink: None,
            ino: None,
            acl: None,
            xattrs: None,
            changed: Vec::new(),
            previous: None,
            pid: None,
            comm: None,
            process_uid: None,
            user: None,
        }
    }

    /// Sets the destination of a move.
    pub fn with_dest(mut self, dest: &Path) -> Self {
        let (d, b) = path_field(dest);
        self.dest_path = d;
        self.dest_path_b64 = b;
        self
    }

    /// The file the event is about ([`subject_bytes`]), with the exact
    /// bytes when the path was not UTF-8.
    pub fn subject(&self) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        let field = |name: &str| match name {
            "dest_path" => Some(self.dest_path.as_str()),
            "dest_path_b64" => self.dest_path_b64.as_deref(),
            "src_path" => Some(self.src_path.as_str()),
            "src_path_b64" => self.src_path_b64.as_deref(),
            _ => None,
        };
        match subject_bytes(field) {
            Some(bytes) => PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)),
            None => PathBuf::from(&self.src_path),
        }
    }
}

/// The fields that can name the file a record is about, in order of
/// precedence, each with its `*_b64` twin that holds the exact bytes of a
/// path that is not UTF-8.
const SUBJECT_FIELDS: [(&str, &str); 3] = [
    ("dest_path", "dest_path_b64"),
    ("src_path", "src_path_b64"),
    ("path", "path_b64"),
];

/// The file a record is about: the first of `dest_path` (a move's
/// destination), `src_path` (an event) and `path` (a finding, a scan
/// request) that is set, as the exact bytes of its `*_b64` twin when that is
/// present and valid, else as its text. `field` looks up one top-level string
/// field of the record; every tool that picks "the record's file" goes
/// through here, so they all agree.
/// Field values are text or its bytes (`&str` or `&[u8]`).
pub fn subject_bytes<'a, S: AsRef<[u8]> + ?Sized + 'a>(
    field: impl Fn(&str) -> Option<&'a S>,
) -> Option<Cow<'a, [u8]>> {
    SUBJECT_FIELDS.iter().find_map(|&(text, raw)| {
        if let Some(bytes) = field(raw).and_then(b64::decode) {
            return Some(Cow::Owned(bytes));
        }
        field(text)
            .map(AsRef::as_ref)
            .filter(|t| !t.is_empty())
            .map(Cow::Borrowed)
    })
}

/// A path as a record field: lossy UTF-8 text, plus the raw bytes as
/// base64 when the path is not valid UTF-8 (so nothing is mangled silently).
pub fn path_field(p: &Path) -> (String, Option<String>) {
    use std::os::unix::ffi::OsStrExt;
    match p.to_str() {
        Some(s) => (s.to_owned(), None),
        None => {
            use b64::encode;
            (
                p.to_string_lossy().into_owned(),
                Some(encode(p.as_os_str().as_bytes())),
            )
        }
    }
}

/// Inverse of [`path_field`]: the exact path bytes when `b64` is present.
pub fn path_from_field(text: &str, b64: Option<&str>) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    if let Some(bytes) = b64.and_then(b64::decode) {
        return PathBuf::from(std::ffi::OsStr::from_bytes(&bytes));
    }
    PathBuf::from(text)
}

/// Base64 as records and detectors use it, on the `base64` crate with the
/// two configurations the project needs.
pub mod b64 {
    use base64::alphabet;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;

    /// Encodes padded, decodes padded or not; trailing bits are tolerated so
    /// that a detector can decode text cut at any length.
    const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

    /// Standard base64 (RFC 4648 §4), padded.
    pub fn encode(input: &[u8]) -> String {
        STANDARD.encode(input)
    }

    /// Decodes padded or unpadded standard base64; `None` if malformed.
    pub fn decode(input: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        STANDARD.decode(input).ok()
    }

    /// Decodes URL-safe base64 (RFC 4648 §5, as in JWTs), padded or not.
    pub fn decode_url(input: &[u8]) -> Option<Vec<u8>> {
        URL_SAFE.decode(input).ok()
    }
}

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

/// Outcome of one upload attempt (`nf-upload`'s output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanStatus {
    ScanInitiated,
    Skipped,
    Failed,
}

/// A ScanRequest record (README.md, "Records").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanRequest {
    pub status: ScanStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_b64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The event type that caused the request, when it came from an FsEvent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<EventType>,
}

/// What `dlp-remediate` did about one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Moved into the quarantine vault (`id` names the vault entry).
    Quarantined,
    /// Only a notification was sent.
    Notified,
    /// Deleted (only with the explicit guard flag).
    Deleted,
    /// Put back from the vault (`dlp-remediate restore`).
    Restored,
    /// Left alone, `reason` says why.
    Skipped,
    /// The action was attempted and failed, `error` says why.
    Failed,
}

/// One action record (`dlp-remediate`'s output): one per file acted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub action: Action,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_b64: Option<String>,
    /// Vault entry id (quarantined, restored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// SHA-256 of the content acted on (or found, when skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// SHA-256 the findings were made on, when it differs from `sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanned_sha256: Option<String>,
    /// Detectors of the qualifying findings (names, sorted, no finding text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detectors: Vec<String>,
    /// Highest confidence among the qualifying findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
    /// Number of distinct qualifying findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The `.quarantined` note left in the file's place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Whether the desktop notification was delivered (with `--notify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_error: Option<String>,
    /// Nothing was changed (`--dry-run`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    pub timestamp: String,
}

impl ActionRecord {
    /// A record about `path` stamped now, with no optional fields.
    pub fn new(action: Action, path: &Path) -> Self {
        let (path, path_b64) = path_field(path);
        ActionRecord {
            action,
            path,
            path_b64,
            id: None,
            sha256: None,
            scanned_sha256: None,
            detectors: Vec::new(),
            confidence: None,
            findings: None,
            reason: None,
            error: None,
            note: None,
            notified: None,
            notify_error: None,
            dry_run: false,
            timestamp: crate::time::now_rfc3339(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fs_event_wire_form_matches_design() {
        let line = r#"{"event_type":"modified","src_path":"/home/ana/Documents/q3.csv","dest_path":"","is_directory":false,"is_synthetic":false,"timestamp":"2026-11-22T10:15:03.120511Z"}"#;
        let ev: FsEvent = serde_json::from_str(line).unwrap();
        assert_eq!(ev.event_type, EventType::Modified);
        assert_eq!(serde_json::to_string(&ev).unwrap(), line);
        assert_eq!(ev.subject(), PathBuf::from("/home/ana/Documents/q3.csv"));
    }

    #[test]
    fn lenient_reader_accepts_minimal_and_extra_fields() {
        let ev: FsEvent = serde_json::from_str(
            r#"{"event_type":"moved","src_path":"/a","dest_path":"/b","x":1}"#,
        )
        .unwrap();
        assert_eq!(ev.subject(), PathBuf::from("/b"));
        assert!(
            serde_json::from_str::<FsEvent>(r#"{"event_type":"exploded","src_path":"/a"}"#)
                .is_err()
        );
    }

    #[test]
    fn non_utf8_paths_survive() {
        use std::os::unix::ffi::OsStrExt;
        let raw = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9.txt"));
        let ev = FsEvent::new(EventType::Created, raw);
        assert_eq!(ev.src_path, "/tmp/caf\u{fffd}.txt");
        let back: FsEvent = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(back.subject(), raw);
    }

    #[test]
    fn subject_precedence_and_raw_bytes() {
        let rec = |pairs: &[(&'static str, &'static str)]| {
            let pairs = pairs.to_vec();
            subject_bytes(move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v))
                .map(|b| b.into_owned())
        };
        assert_eq!(
            rec(&[("src_path", "/a"), ("dest_path", "/b")]).unwrap(),
            b"/b"
        );
        assert_eq!(
            rec(&[("src_path", "/a"), ("dest_path", "")]).unwrap(),
            b"/a"
        );
        assert_eq!(rec(&[("path", "/f")]).unwrap(), b"/f");
        // The exact bytes win over the lossy text, for every field.
        let raw = b64::encode(b"/x\xff");
        let raw: &'static str = Box::leak(raw.into_boxed_str());
        assert_eq!(
            rec(&[("path", "/x\u{fffd}"), ("path_b64", raw)]).unwrap(),
            b"/x\xff"
        );
        assert_eq!(
            rec(&[
                ("dest_path", ""),
                ("dest_path_b64", raw),
                ("src_path", "/a")
            ])
            .unwrap(),
            b"/x\xff"
        );
        assert_eq!(rec(&[("src_path", ""), ("other", "/a")]), None);
    }

    #[test]
    fn base64_round_trip() {
        for n in 0..20u8 {
            let v: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(b64::decode(b64::encode(&v)).unwrap(), v);
        }
        assert_eq!(b64::encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64::encode(b"fo"), "Zm8=");
        assert_eq!(
            b64::decode_url(b"eyJhIjoiPz8_In0").unwrap(),
            br#"{"a":"???"}"#.to_vec()
        );
        assert_eq!(b64::decode_url(b"a+b"), None);
    }

    #[test]
    fn action_record_omits_absent_fields() {
        let mut r = ActionRecord::new(Action::Quarantined, Path::new("/a"));
        r.id = Some("x".into());
        r.timestamp = "t".into();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"action":"quarantined","path":"/a","id":"x","timestamp":"t"}"#
        );
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
