//! The findings document served at a notification's `findingsURL` (§5) and
//! its conversion into the pipeline's Finding record (README.md, "Records").

use dlp_record::{Confidence, Finding, Range};
use serde::{Deserialize, Serialize, Serializer};

use crate::metadata::RequestMetadata;
use crate::nullable;

/// `{"findings": [...]}`: a flat list (not `/v3/scan`'s nested one).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FindingsDocument {
    #[serde(default, with = "nullable")]
    pub findings: Vec<NfFinding>,
}

/// One finding as Nightfall serves it. Optional parts default on input.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NfFinding {
    /// Path inside an archive (`""` for plain files).
    #[serde(default, with = "nullable")]
    pub path: String,
    pub detector: Detector,
    #[serde(default, with = "nullable")]
    pub finding: String,
    #[serde(default, with = "nullable")]
    pub redacted_finding: String,
    #[serde(default, with = "nullable")]
    pub before_context: String,
    #[serde(default, with = "nullable")]
    pub after_context: String,
    /// Kept as text so a new level does not reject the whole document.
    pub confidence: String,
    #[serde(default, with = "nullable")]
    pub location: Location,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_location: Option<Location>,
    #[serde(rename = "matchedDetectionRuleUUIDs")]
    #[serde(default, with = "nullable")]
    pub matched_detection_rule_uuids: Vec<String>,
    #[serde(default, with = "nullable")]
    pub matched_detection_rules: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_metadata: Option<serde_json::Value>,
}

/// The detector that matched. File-scan findings name its id `id`, text
/// scans and every SDK `uuid` (§5); both are read, and both are written.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Detector {
    #[serde(default, with = "nullable")]
    pub name: String,
    #[serde(default, with = "nullable")]
    pub uuid: String,
    #[serde(default, with = "nullable")]
    pub id: String,
}

impl Detector {
    /// A detector with one id, written as both `uuid` and `id`.
    pub fn new(name: impl Into<String>, uuid: impl Into<String>) -> Self {
        let uuid = uuid.into();
        Detector {
            name: name.into(),
            id: uuid.clone(),
            uuid,
        }
    }

    /// `uuid`, else `id`.
    pub fn effective_uuid(&self) -> &str {
        if self.uuid.is_empty() {
            &self.id
        } else {
            &self.uuid
        }
    }
}

impl Serialize for Detector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Detector", 3)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("uuid", self.effective_uuid())?;
        st.serialize_field("id", self.effective_uuid())?;
        st.end()
    }
}

/// Where a finding is. Row and column ranges exist for tabular files only.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(default, with = "nullable")]
    pub byte_range: Range,
    #[serde(default, with = "nullable")]
    pub codepoint_range: Range,
    #[serde(default)]
    pub line_range: Option<Range>,
    #[serde(default)]
    pub row_range: Option<Range>,
    #[serde(default)]
    pub column_range: Option<Range>,
    #[serde(default, with = "nullable")]
    pub commit_hash: String,
    #[serde(default, with = "nullable")]
    pub commit_author: String,
}

/// Converts one Nightfall finding into a Finding record. `index` counts
/// from 1 within the upload; `meta` (our `requestMetadata`) supplies the
/// file on disk, which stays `""` when the scan was not requested by us.
/// An unknown confidence level maps to `POSSIBLE`; callers that care check
/// `Confidence::parse(&nf.confidence)` first.
pub fn to_finding(
    nf: &NfFinding,
    upload_id: &str,
    meta: Option<&RequestMetadata>,
    index: u64,
    timestamp: &str,
) -> Finding {
    let loc = &nf.location;
    let confidence = Confidence::parse(&nf.confidence).unwrap_or(Confidence::Possible);
    Finding {
        upload_id: upload_id.to_owned(),
        path: meta.map(|m| m.path.clone()).unwrap_or_default(),
        path_b64: meta.and_then(|m| m.path_b64.clone()),
        index,
        timestamp: timestamp.to_owned(),
        detector_uuid: nf.detector.effective_uuid().to_owned(),
        redacted_finding: Some(nf.redacted_finding.clone()).filter(|s| !s.is_empty()),
        before_context: nf.before_context.clone(),
        after_context: nf.after_context.clone(),
        byte_range: loc.byte_range,
        codepoint_range: loc.codepoint_range,
        line_range: loc.line_range,
        row_range: loc.row_range,
        column_range: loc.column_range,
        archive_path: nf.path.clone(),
        detection_rules: nf.matched_detection_rules.clone(),
        sha256: meta.map(|m| m.sha256.clone()).filter(|s| !s.is_empty()),
        host: meta.map(|m| m.host.clone()).filter(|s| !s.is_empty()),
        ..Finding::new(nf.detector.name.clone(), confidence, nf.finding.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The illustrative EDLP finding of §5.
    const EDLP: &str = r#"{"findings":[{"path":"","detector":{"name":"Credit Card Number","uuid":"74c1815e-c0c3-4df5-8b1e-6cf98864a454"},
 "finding":"5433-9502-3725-7862","redactedFinding":"",
 "beforeContext":"Name\tCredit Card\nRep. Viviana Hintz\t","afterContext":"\nEloisa Champlin\t3457-389808-83234\nOmega",
 "confidence":"VERY_LIKELY",
 "location":{"byteRange":{"start":36,"end":55},"codepointRange":{"start":36,"end":55},
             "lineRange":{"start":2,"end":2},"rowRange":{"start":2,"end":2},"columnRange":{"start":2,"end":2},
             "commitHash":"","commitAuthor":""},
 "matchedDetectionRuleUUIDs":[],"matchedDetectionRules":[]}]}"#;

    // The docs' file-scan example (§5), completed where the excerpt ends.
    const DOCS: &str = r#"{"findings":[ {"path":"fileupload/upload.py",
  "detector":{"id":"58861dee-b213-4dbc-97fa-a148acb8bd1a","name":"localhost url"},
  "finding":"http://localhost","confidence":"LIKELY",
  "location":{"byteRange":{"start":105,"end":121},"codepointRange":{"start":105,"end":121},"lineRange":{"start":7,"end":7}},
  "beforeContext":"PLOAD_URL = getenv(\"FILE_UPLOAD_HOST\", \"",
  "afterContext":":8080/v3\")\nNF_API_KEY = getenv(\"NF_API_K",
  "matchedDetectionRuleUUIDs":["950833c9-8"]}]}"#;

    #[test]
    fn edlp_finding_converts_with_metadata() {
        let doc: FindingsDocument = serde_json::from_str(EDLP).unwrap();
        let meta = RequestMetadata {
            path: "/home/ana/Downloads/sample.csv".into(),
            sha256: "ff".into(),
            ..Default::default()
        };
        let f = to_finding(
            &doc.findings[0],
            "ac6a",
            Some(&meta),
            1,
            "2026-01-01T00:00:00.000000Z",
        );
        assert_eq!(f.path, "/home/ana/Downloads/sample.csv");
        assert_eq!(f.detector, "Credit Card Number");
        assert_eq!(f.detector_uuid, "74c1815e-c0c3-4df5-8b1e-6cf98864a454");
        assert_eq!(f.confidence, Confidence::VeryLikely);
        assert_eq!(f.byte_range, Range { start: 36, end: 55 });
        assert_eq!(f.row_range, Some(Range { start: 2, end: 2 }));
        assert_eq!(f.redacted_finding, None);
        assert_eq!(f.sha256.as_deref(), Some("ff"));
        assert_eq!((f.index, f.archive_path.as_str()), (1, ""));
        // No host in the metadata: no host field in the record.
        assert_eq!(f.host, None);
        assert!(serde_json::to_value(&f).unwrap().get("host").is_none());
        let meta = RequestMetadata {
            host: "lap-7".into(),
            ..meta
        };
        let f = to_finding(&doc.findings[0], "ac6a", Some(&meta), 1, "t");
        assert_eq!(f.host.as_deref(), Some("lap-7"));
        assert_eq!(serde_json::to_value(&f).unwrap()["host"], "lap-7");
    }

    #[test]
    fn docs_finding_uses_detector_id_and_archive_path() {
        let doc: FindingsDocument = serde_json::from_str(DOCS).unwrap();
        let f = to_finding(&doc.findings[0], "u", None, 3, "t");
        assert_eq!(f.detector_uuid, "58861dee-b213-4dbc-97fa-a148acb8bd1a");
        assert_eq!(f.archive_path, "fileupload/upload.py");
        assert_eq!(f.path, "");
        assert_eq!(f.line_range, Some(Range { start: 7, end: 7 }));
        assert_eq!(f.row_range, None);
        assert!(f.detection_rules.is_empty());
    }

    #[test]
    fn serialises_both_detector_ids_and_reads_its_own_output() {
        let doc: FindingsDocument = serde_json::from_str(DOCS).unwrap();
        let v: serde_json::Value = serde_json::to_value(&doc).unwrap();
        let d = &v["findings"][0]["detector"];
        assert_eq!(d["uuid"], d["id"]);
        assert_eq!(d["id"], "58861dee-b213-4dbc-97fa-a148acb8bd1a");
        assert!(v["findings"][0]["location"]["rowRange"].is_null());
        let back: FindingsDocument = serde_json::from_value(v).unwrap();
        assert_eq!(
            back.findings[0].detector.effective_uuid(),
            doc.findings[0].detector.effective_uuid()
        );
        assert_eq!(back.findings[0].location, doc.findings[0].location);
    }

    #[test]
    fn unknown_confidence_does_not_reject_the_document() {
        let doc: FindingsDocument = serde_json::from_str(
            r#"{"findings":[{"detector":{"name":"x"},"confidence":"CERTAIN","location":null}]}"#,
        )
        .unwrap();
        assert_eq!(
            to_finding(&doc.findings[0], "u", None, 1, "t").confidence,
            Confidence::Possible
        );
        let empty: FindingsDocument = serde_json::from_str(r#"{"findings":null}"#).unwrap();
        assert!(empty.findings.is_empty());
    }
}
