//! The action record: what `dlp-remediate` did about one file (README.md,
//! "Records").

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::Confidence;
use crate::subject::path_field;

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
    fn action_record_omits_absent_fields() {
        let mut r = ActionRecord::new(Action::Quarantined, Path::new("/a"));
        r.id = Some("x".into());
        r.timestamp = "t".into();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"action":"quarantined","path":"/a","id":"x","timestamp":"t"}"#
        );
    }
}
