//! The CSV columns a user can pick, and how each is read from a finding.

use std::borrow::Cow;

use dlp_record::json_scan::{self, ValBytes};
use serde::Deserialize;

/// The default columns, as a literal the other lists are built from.
macro_rules! default_columns {
    () => {
        "upload_id,index,timestamp,path,before_context,finding,after_context,detector,confidence,byte_range,detection_rules"
    };
}

/// Default columns: Nightfall's tutorial CSV plus the file path (also
/// `--preset local-no-state`: `pipelines/local-dlp.sh --no-state`).
pub const DEFAULT: &str = default_columns!();

/// The exact columns of Nightfall's endpoint-DLP tutorial CSV
/// (`--preset tutorial`; `#`, `datetime` and `loc` are aliases).
pub const TUTORIAL: &str =
    "upload_id,#,datetime,before_context,finding,after_context,detector,confidence,loc,detection_rules";

/// The columns `pipelines/local-dlp.sh` writes (`--preset local`): the
/// default columns and the finding's status.
pub const LOCAL: &str = concat!(default_columns!(), ",status");

/// `pipelines/local-dlp.sh --mounts` (`--preset local-mounts`): [`LOCAL`]
/// and the removable-media fields.
pub const LOCAL_MOUNTS: &str = concat!(default_columns!(), ",status,removable,copied_from");

/// `pipelines/local-dlp.sh --no-state --mounts` (`--preset
/// local-no-state-mounts`): [`DEFAULT`] and the removable-media fields.
pub const LOCAL_NO_STATE_MOUNTS: &str = concat!(default_columns!(), ",removable,copied_from");

/// The columns of the fleet's central CSV (`--preset fleet`): where the
/// finding is (host, file, container, line), what and how sure, its
/// status and stable key, and the removable-media fields.
pub const FLEET: &str =
    "host,timestamp,status,severity,path,archive_path,line,detector,confidence,finding,before_context,after_context,byte_range,finding_id,first_seen,removable,copied_from,upload_id";

/// Other names `--columns` accepts (the tutorial's): alias → column.
pub const ALIASES: &[(&str, &str)] = &[
    ("#", "index"),
    ("datetime", "timestamp"),
    ("loc", "byte_range"),
];

/// Every column name `--columns` accepts.
pub const ALL: &[&str] = &[
    "upload_id",
    "index",
    "timestamp",
    "path",
    "archive_path",
    "detector",
    "detector_uuid",
    "confidence",
    "finding",
    "redacted_finding",
    "before_context",
    "after_context",
    "byte_range",
    "codepoint_range",
    "line_range",
    "line",
    "row_range",
    "column_range",
    "detection_rules",
    "sha256",
    "status",
    "host",
    "finding_id",
    "first_seen",
    "removable",
    "copied_from",
    "severity",
];

/// A range as it appears in a finding.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

/// A finding, borrowed from the input line where possible (no escapes).
/// Text fields are the bytes of JSON strings, so always UTF-8.
#[derive(Debug, Default)]
pub struct FindingView<'a> {
    pub upload_id: Cow<'a, [u8]>,
    pub path: Cow<'a, [u8]>,
    pub index: Option<u64>,
    pub timestamp: Cow<'a, [u8]>,
    pub detector: Cow<'a, [u8]>,
    pub detector_uuid: Cow<'a, [u8]>,
    pub confidence: Cow<'a, [u8]>,
    pub finding: Cow<'a, [u8]>,
    pub redacted_finding: Option<Cow<'a, [u8]>>,
    pub before_context: Cow<'a, [u8]>,
    pub after_context: Cow<'a, [u8]>,
    pub byte_range: Option<Range>,
    pub codepoint_range: Option<Range>,
    pub line_range: Option<Range>,
    pub row_range: Option<Range>,
    pub column_range: Option<Range>,
    pub archive_path: Cow<'a, [u8]>,
    pub detection_rules: Rules<'a>,
    pub sha256: Option<Cow<'a, [u8]>>,
    pub status: Option<Cow<'a, [u8]>>,
    pub host: Cow<'a, [u8]>,
    pub finding_id: Cow<'a, [u8]>,
    pub first_seen: Cow<'a, [u8]>,
    pub removable: Option<bool>,
    pub copied_from: Cow<'a, [u8]>,
}

/// `detection_rules`, joined with `;` when written.
#[derive(Debug, Default)]
pub enum Rules<'a> {
    /// Absent or null.
    #[default]
    None,
    /// A JSON array of strings without escapes, as it is in the line.
    Plain(&'a [u8]),
    /// Any other array of strings, decoded.
    Decoded(Vec<String>),
}

impl Rules<'_> {
    /// Writes the rules joined with `;`.
    fn join_into(&self, out: &mut Vec<u8>) {
        match self {
            Rules::None => {}
            Rules::Plain(raw) => {
                let mut first = true;
                plain_strings(raw, |rule| {
                    if !first {
                        out.push(b';');
                    }
                    first = false;
                    out.extend_from_slice(rule);
                });
            }
            Rules::Decoded(v) => out.extend_from_slice(v.join(";").as_bytes()),
        }
    }
}

/// Hands each string of `raw`, a valid JSON array, to `each` and returns
/// true, when every element is a string without escapes (so each is its
/// bytes between the quotes); false (after handing over some) otherwise.
fn plain_strings<'r>(raw: &'r [u8], mut each: impl FnMut(&'r [u8])) -> bool {
    plain_strings_inner(raw, &mut each).is_some()
}

fn plain_strings_inner<'r>(raw: &'r [u8], each: &mut impl FnMut(&'r [u8])) -> Option<()> {
    let ws = |raw: &[u8], mut i: usize| {
        while raw.get(i).is_some_and(|b| b" \t\r\n".contains(b)) {
            i += 1;
        }
        i
    };
    let mut i = ws(raw, raw.strip_prefix(b"[").map(|_| 1)?);
    while raw.get(i) == Some(&b'"') {
        let len = memchr::memchr(b'"', &raw[i + 1..])?;
        let body = &raw[i + 1..i + 1 + len];
        if body.contains(&b'\\') {
            return None;
        }
        each(body);
        i = ws(raw, i + len + 2);
        if raw.get(i) == Some(&b',') {
            i = ws(raw, i + 1);
        }
    }
    (raw.get(i) == Some(&b']')).then_some(())
}

/// Appends `n` in decimal (what `Display` writes), without formatting
/// machinery.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Text for messages (the bytes are UTF-8: they come from JSON).
fn text(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

fn string<'a>(key: &[u8], v: ValBytes<'a>) -> Result<Cow<'a, [u8]>, String> {
    match v {
        ValBytes::Str(s) => Ok(s),
        ValBytes::Null => Ok(Cow::Borrowed(b"")),
        ValBytes::Raw(r) => Err(format!(
            "invalid type for `{}`: {}, expected a string",
            text(key),
            text(r)
        )),
    }
}

fn parsed<T: serde::de::DeserializeOwned>(
    key: &[u8],
    v: ValBytes<'_>,
    what: &str,
) -> Result<Option<T>, String> {
    match v {
        ValBytes::Null => Ok(None),
        ValBytes::Raw(r) => serde_json::from_slice(r)
            .map(Some)
            .map_err(|e| format!("invalid `{}`: {e}", text(key))),
        ValBytes::Str(s) => Err(format!(
            "invalid type for `{}`: string {:?}, expected {what}",
            text(key),
            text(&s)
        )),
    }
}

/// `{"start":N,"end":M}` as findings write it, without a full parse.
fn quick_range(raw: &[u8]) -> Option<Range> {
    let rest = raw.strip_prefix(b"{\"start\":")?;
    let comma = rest.iter().position(|&b| b == b',')?;
    let (start, rest) = (&rest[..comma], rest[comma..].strip_prefix(b",\"end\":")?);
    let end = rest.strip_suffix(b"}")?;
    let num = |t: &[u8]| {
        if t.is_empty() || !t.iter().all(u8::is_ascii_digit) || (t.len() > 1 && t[0] == b'0') {
            return None;
        }
        t.iter().try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
    };
    Some(Range {
        start: num(start)?,
        end: num(end)?,
    })
}

fn range(key: &[u8], v: ValBytes<'_>) -> Result<Option<Range>, String> {
    match v {
        ValBytes::Raw(r) if quick_range(r).is_some() => Ok(quick_range(r)),
        v => parsed(key, v, "a range"),
    }
}

fn rules<'a>(key: &[u8], v: ValBytes<'a>) -> Result<Rules<'a>, String> {
    match v {
        ValBytes::Raw(r) if plain_strings(r, |_| {}) => Ok(Rules::Plain(r)),
        v => Ok(parsed::<Vec<String>>(key, v, "a list")?.map_or(Rules::None, Rules::Decoded)),
    }
}

/// The set of fields a column list needs (the required ones always).
#[derive(Debug, Clone, Copy)]
pub struct Needed(u32);

impl Needed {
    /// Fields for `cols`, plus detector, confidence, finding and status.
    pub fn of(cols: &[Column]) -> Needed {
        let mut bits = [
            Column::Detector,
            Column::Confidence,
            Column::Finding,
            Column::Status,
        ]
        .iter()
        .fold(0u32, |b, c| b | 1 << *c as u32);
        for c in cols {
            let c = match *c {
                Column::Line => Column::LineRange,
                Column::Severity => Column::Detector,
                c => c,
            };
            bits |= 1 << c as u32;
        }
        Needed(bits)
    }

    /// Every field.
    pub fn all() -> Needed {
        Needed(u32::MAX)
    }

    fn has(self, c: Column) -> bool {
        self.0 & (1 << c as u32) != 0
    }
}

impl<'a> FindingView<'a> {
    /// Parses one Finding record with the toolkit's validating scanner,
    /// decoding only the `needed` fields (the rest is validated, not kept).
    pub fn parse(line: &'a [u8], needed: Needed) -> Result<Self, String> {
        let mut f = FindingView::default();
        let mut required = [false; 3];
        // Every column but `line` (from line_range) and `severity` (from
        // detector) is a top-level field.
        let field = |k: &[u8]| {
            Column::from_key(k)
                .filter(|c| !matches!(c, Column::Line | Column::Severity) && needed.has(*c))
        };
        json_scan::top_level_bytes(line, field, |c, key, v| {
            match c {
                Column::UploadId => f.upload_id = string(key, v)?,
                Column::Path => f.path = string(key, v)?,
                Column::Index => f.index = parsed(key, v, "an integer")?,
                Column::Timestamp => f.timestamp = string(key, v)?,
                Column::Detector => (f.detector, required[0]) = (string(key, v)?, true),
                Column::DetectorUuid => f.detector_uuid = string(key, v)?,
                Column::Confidence => (f.confidence, required[1]) = (string(key, v)?, true),
                Column::Finding => (f.finding, required[2]) = (string(key, v)?, true),
                Column::RedactedFinding => f.redacted_finding = Some(string(key, v)?),
                Column::BeforeContext => f.before_context = string(key, v)?,
                Column::AfterContext => f.after_context = string(key, v)?,
                Column::ByteRange => f.byte_range = range(key, v)?,
                Column::CodepointRange => f.codepoint_range = range(key, v)?,
                Column::LineRange | Column::Line => f.line_range = range(key, v)?,
                Column::RowRange => f.row_range = range(key, v)?,
                Column::ColumnRange => f.column_range = range(key, v)?,
                Column::ArchivePath => f.archive_path = string(key, v)?,
                Column::DetectionRules => f.detection_rules = rules(key, v)?,
                Column::Sha256 => f.sha256 = Some(string(key, v)?),
                Column::Status => f.status = Some(string(key, v)?),
                Column::Host => f.host = string(key, v)?,
                Column::FindingId => f.finding_id = string(key, v)?,
                Column::FirstSeen => f.first_seen = string(key, v)?,
                Column::Removable => f.removable = parsed(key, v, "a boolean")?,
                Column::CopiedFrom => f.copied_from = string(key, v)?,
                Column::Severity => {}
            }
            Ok(())
        })?;
        for (have, name) in required.iter().zip(["detector", "confidence", "finding"]) {
            if !have {
                return Err(format!("missing field `{name}`"));
            }
        }
        Ok(f)
    }
}

/// One selected column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Column {
    UploadId,
    Index,
    Timestamp,
    Path,
    ArchivePath,
    Detector,
    DetectorUuid,
    Confidence,
    Finding,
    RedactedFinding,
    BeforeContext,
    AfterContext,
    ByteRange,
    CodepointRange,
    LineRange,
    Line,
    RowRange,
    ColumnRange,
    DetectionRules,
    Sha256,
    Status,
    Host,
    FindingId,
    FirstSeen,
    Removable,
    CopiedFrom,
    Severity,
}

impl Column {
    /// Parses a column name.
    pub fn parse(name: &str) -> Option<Column> {
        Column::from_key(name.as_bytes())
    }

    /// The column of a record's key (its bytes, as the scanner passes them).
    pub fn from_key(name: &[u8]) -> Option<Column> {
        use Column::*;
        Some(match name {
            b"upload_id" => UploadId,
            b"index" => Index,
            b"timestamp" => Timestamp,
            b"path" => Path,
            b"archive_path" => ArchivePath,
            b"detector" => Detector,
            b"detector_uuid" => DetectorUuid,
            b"confidence" => Confidence,
            b"finding" => Finding,
            b"redacted_finding" => RedactedFinding,
            b"before_context" => BeforeContext,
            b"after_context" => AfterContext,
            b"byte_range" => ByteRange,
            b"codepoint_range" => CodepointRange,
            b"line_range" => LineRange,
            b"line" => Line,
            b"row_range" => RowRange,
            b"column_range" => ColumnRange,
            b"detection_rules" => DetectionRules,
            b"sha256" => Sha256,
            b"status" => Status,
            b"host" => Host,
            b"finding_id" => FindingId,
            b"first_seen" => FirstSeen,
            b"removable" => Removable,
            b"copied_from" => CopiedFrom,
            b"severity" => Severity,
            _ => return None,
        })
    }

    /// Parses a column name or one of the tutorial's aliases
    /// (`#`, `datetime`, `loc`).
    pub fn parse_name(name: &str) -> Option<Column> {
        let name = ALIASES
            .iter()
            .find(|(a, _)| *a == name)
            .map_or(name, |(_, c)| *c);
        Column::parse(name)
    }

    /// Parses a comma-separated column list (aliases allowed).
    pub fn parse_list(list: &str) -> anyhow::Result<Vec<Column>> {
        let cols: Vec<Column> = list
            .split(',')
            .map(|n| {
                Column::parse_name(n.trim()).ok_or_else(|| {
                    let aliases: Vec<String> =
                        ALIASES.iter().map(|(a, c)| format!("{a} = {c}")).collect();
                    anyhow::anyhow!(
                        "unknown column {:?} (valid columns: {}; aliases: {})",
                        n.trim(),
                        ALL.join(", "),
                        aliases.join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?;
        anyhow::ensure!(!cols.is_empty(), "--columns needs at least one column");
        Ok(cols)
    }

    /// The cell text of this column for `f`: borrowed from the record, or
    /// written into `scratch` (numbers, ranges, joined rules).
    pub fn cell<'s>(self, f: &'s FindingView<'_>, scratch: &'s mut Vec<u8>) -> &'s [u8] {
        fn opt<'s>(v: &'s Option<Cow<'_, [u8]>>) -> &'s [u8] {
            v.as_deref().unwrap_or_default()
        }
        scratch.clear();
        let range = |r: Option<Range>, scratch: &mut Vec<u8>| {
            if let Some(r) = r {
                push_u64(scratch, r.start);
                scratch.push(b'-');
                push_u64(scratch, r.end);
            }
        };
        match self {
            Column::UploadId => return &f.upload_id,
            Column::Index => {
                if let Some(i) = f.index {
                    push_u64(scratch, i);
                }
            }
            Column::Timestamp => return &f.timestamp,
            Column::Path => return &f.path,
            Column::ArchivePath => return &f.archive_path,
            Column::Detector => return &f.detector,
            Column::DetectorUuid => return &f.detector_uuid,
            Column::Confidence => return &f.confidence,
            Column::Finding => return &f.finding,
            Column::RedactedFinding => return opt(&f.redacted_finding),
            Column::BeforeContext => return &f.before_context,
            Column::AfterContext => return &f.after_context,
            Column::ByteRange => range(f.byte_range, scratch),
            Column::CodepointRange => range(f.codepoint_range, scratch),
            Column::LineRange => range(f.line_range, scratch),
            Column::Line => {
                if let Some(r) = f.line_range {
                    push_u64(scratch, r.start);
                }
            }
            Column::RowRange => range(f.row_range, scratch),
            Column::ColumnRange => range(f.column_range, scratch),
            Column::DetectionRules => f.detection_rules.join_into(scratch),
            Column::Sha256 => return opt(&f.sha256),
            Column::Status => return opt(&f.status),
            Column::Host => return &f.host,
            Column::FindingId => return &f.finding_id,
            Column::FirstSeen => return &f.first_seen,
            Column::Removable => {
                return match f.removable {
                    Some(true) => b"true",
                    Some(false) => b"false",
                    None => b"",
                }
            }
            Column::CopiedFrom => return &f.copied_from,
            Column::Severity => {
                return dlp_record::Severity::of(&text(&f.detector))
                    .as_str()
                    .as_bytes()
            }
        }
        scratch
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn push_u64_writes_what_display_writes() {
        for n in [0, 1, 9, 10, 99, 100, 12345, u64::MAX - 1, u64::MAX] {
            let mut v = b"x".to_vec();
            super::push_u64(&mut v, n);
            assert_eq!(v, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn plain_strings_takes_only_unescaped_string_arrays() {
        let all = |raw: &[u8]| {
            let mut v = Vec::new();
            super::plain_strings(raw, |s| v.push(String::from_utf8(s.to_vec()).unwrap()))
                .then_some(v)
        };
        assert_eq!(all(b"[]"), Some(vec![]));
        assert_eq!(
            all(b"[ \"a b\" , \"c\" ]"),
            Some(vec!["a b".into(), "c".into()])
        );
        assert_eq!(all(b"[\"a\\\"b\"]"), None);
        assert_eq!(all(b"[\"a\",1]"), None);
        assert_eq!(all(b"null"), None);
    }
}
