//! The CSV columns a user can pick, and how each is read from a finding.

use std::borrow::Cow;

use dlp_core::json_scan::{self, Val};
use serde::Deserialize;

/// Default columns: Nightfall's tutorial CSV plus the file path.
pub const DEFAULT: &str =
    "upload_id,index,timestamp,path,before_context,finding,after_context,detector,confidence,byte_range,detection_rules";

/// The exact columns of Nightfall's endpoint-DLP tutorial CSV
/// (`--preset tutorial`; `#`, `datetime` and `loc` are aliases).
pub const TUTORIAL: &str =
    "upload_id,#,datetime,before_context,finding,after_context,detector,confidence,loc,detection_rules";

/// The columns `pipelines/local-dlp.sh` writes (`--preset local`): the
/// default columns and the finding's status.
pub const LOCAL: &str =
    "upload_id,index,timestamp,path,before_context,finding,after_context,detector,confidence,byte_range,detection_rules,status";

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
#[derive(Debug, Default)]
pub struct FindingView<'a> {
    pub upload_id: Cow<'a, str>,
    pub path: Cow<'a, str>,
    pub index: Option<u64>,
    pub timestamp: Cow<'a, str>,
    pub detector: Cow<'a, str>,
    pub detector_uuid: Cow<'a, str>,
    pub confidence: Cow<'a, str>,
    pub finding: Cow<'a, str>,
    pub redacted_finding: Option<Cow<'a, str>>,
    pub before_context: Cow<'a, str>,
    pub after_context: Cow<'a, str>,
    pub byte_range: Option<Range>,
    pub codepoint_range: Option<Range>,
    pub line_range: Option<Range>,
    pub row_range: Option<Range>,
    pub column_range: Option<Range>,
    pub archive_path: Cow<'a, str>,
    pub detection_rules: Vec<Cow<'a, str>>,
    pub sha256: Option<Cow<'a, str>>,
    pub status: Option<Cow<'a, str>>,
    pub host: Cow<'a, str>,
    pub finding_id: Cow<'a, str>,
    pub first_seen: Cow<'a, str>,
    pub removable: Option<bool>,
    pub copied_from: Cow<'a, str>,
}

fn string<'a>(key: &str, v: Val<'a>) -> Result<Cow<'a, str>, String> {
    match v {
        Val::Str(s) => Ok(s),
        Val::Null => Ok(Cow::Borrowed("")),
        Val::Raw(r) => Err(format!("invalid type for `{key}`: {r}, expected a string")),
    }
}

fn parsed<T: serde::de::DeserializeOwned>(
    key: &str,
    v: Val<'_>,
    what: &str,
) -> Result<Option<T>, String> {
    match v {
        Val::Null => Ok(None),
        Val::Raw(r) => serde_json::from_str(r)
            .map(Some)
            .map_err(|e| format!("invalid `{key}`: {e}")),
        Val::Str(s) => Err(format!(
            "invalid type for `{key}`: string {s:?}, expected {what}"
        )),
    }
}

/// `{"start":N,"end":M}` as findings write it, without a full parse.
fn quick_range(raw: &str) -> Option<Range> {
    let rest = raw.strip_prefix("{\"start\":")?;
    let (start, rest) = rest.split_once(",\"end\":")?;
    let end = rest.strip_suffix('}')?;
    let num = |t: &str| {
        (!t.is_empty()
            && t.bytes().all(|b| b.is_ascii_digit())
            && (t == "0" || !t.starts_with('0')))
        .then(|| t.parse().ok())
        .flatten()
    };
    Some(Range {
        start: num(start)?,
        end: num(end)?,
    })
}

fn range(key: &str, v: Val<'_>) -> Result<Option<Range>, String> {
    match v {
        Val::Raw(r) if quick_range(r).is_some() => Ok(quick_range(r)),
        v => parsed(key, v, "a range"),
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
        let field = |k: &str| {
            Column::parse(k)
                .filter(|c| !matches!(c, Column::Line | Column::Severity) && needed.has(*c))
        };
        json_scan::top_level(line, field, |c, key, v| {
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
                Column::DetectionRules => {
                    f.detection_rules = parsed::<Vec<String>>(key, v, "a list")?
                        .unwrap_or_default()
                        .into_iter()
                        .map(Cow::Owned)
                        .collect()
                }
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
        use Column::*;
        Some(match name {
            "upload_id" => UploadId,
            "index" => Index,
            "timestamp" => Timestamp,
            "path" => Path,
            "archive_path" => ArchivePath,
            "detector" => Detector,
            "detector_uuid" => DetectorUuid,
            "confidence" => Confidence,
            "finding" => Finding,
            "redacted_finding" => RedactedFinding,
            "before_context" => BeforeContext,
            "after_context" => AfterContext,
            "byte_range" => ByteRange,
            "codepoint_range" => CodepointRange,
            "line_range" => LineRange,
            "line" => Line,
            "row_range" => RowRange,
            "column_range" => ColumnRange,
            "detection_rules" => DetectionRules,
            "sha256" => Sha256,
            "status" => Status,
            "host" => Host,
            "finding_id" => FindingId,
            "first_seen" => FirstSeen,
            "removable" => Removable,
            "copied_from" => CopiedFrom,
            "severity" => Severity,
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

    /// The cell text of this column for `f`.
    pub fn cell<'a>(self, f: &'a FindingView<'a>) -> Cow<'a, str> {
        fn range(r: Option<Range>) -> Cow<'static, str> {
            r.map(|r| Cow::Owned(format!("{}-{}", r.start, r.end)))
                .unwrap_or(Cow::Borrowed(""))
        }
        match self {
            Column::UploadId => Cow::Borrowed(&f.upload_id),
            Column::Index => f
                .index
                .map(|i| Cow::Owned(i.to_string()))
                .unwrap_or_default(),
            Column::Timestamp => Cow::Borrowed(&f.timestamp),
            Column::Path => Cow::Borrowed(&f.path),
            Column::ArchivePath => Cow::Borrowed(&f.archive_path),
            Column::Detector => Cow::Borrowed(&f.detector),
            Column::DetectorUuid => Cow::Borrowed(&f.detector_uuid),
            Column::Confidence => Cow::Borrowed(&f.confidence),
            Column::Finding => Cow::Borrowed(&f.finding),
            Column::RedactedFinding => f
                .redacted_finding
                .as_deref()
                .map(Cow::Borrowed)
                .unwrap_or_default(),
            Column::BeforeContext => Cow::Borrowed(&f.before_context),
            Column::AfterContext => Cow::Borrowed(&f.after_context),
            Column::ByteRange => range(f.byte_range),
            Column::CodepointRange => range(f.codepoint_range),
            Column::LineRange => range(f.line_range),
            Column::Line => f
                .line_range
                .map(|r| Cow::Owned(r.start.to_string()))
                .unwrap_or_default(),
            Column::RowRange => range(f.row_range),
            Column::ColumnRange => range(f.column_range),
            Column::DetectionRules => Cow::Owned(f.detection_rules.join(";")),
            Column::Sha256 => f.sha256.as_deref().map(Cow::Borrowed).unwrap_or_default(),
            Column::Status => f.status.as_deref().map(Cow::Borrowed).unwrap_or_default(),
            Column::Host => Cow::Borrowed(&f.host),
            Column::FindingId => Cow::Borrowed(&f.finding_id),
            Column::FirstSeen => Cow::Borrowed(&f.first_seen),
            Column::Removable => match f.removable {
                Some(true) => Cow::Borrowed("true"),
                Some(false) => Cow::Borrowed("false"),
                None => Cow::Borrowed(""),
            },
            Column::CopiedFrom => Cow::Borrowed(&f.copied_from),
            Column::Severity => Cow::Borrowed(dlp_core::Severity::of(&f.detector).as_str()),
        }
    }
}
