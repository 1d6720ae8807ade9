//! What nf-upload puts in a scan request's `requestMetadata` string and
//! nf-webhook reads back from the notification: the local file the upload
//! came from, so a Finding can name the file on disk.

use serde::{Deserialize, Serialize};

/// Nightfall's limit on `requestMetadata` (10 KB).
pub const MAX_REQUEST_METADATA: usize = 10 * 1024;

/// Our `requestMetadata` payload, serialised as compact JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RequestMetadata {
    /// The file on disk (lossy UTF-8).
    pub path: String,
    /// Raw path bytes, base64, when the path is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_b64: Option<String>,
    /// SHA-256 of the uploaded content, hex.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// Size of the uploaded content in bytes.
    #[serde(default)]
    pub size: u64,
    /// Host name of the machine that uploaded the file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
}

impl RequestMetadata {
    /// Compact JSON for the scan request, or `None` when it would exceed
    /// [`MAX_REQUEST_METADATA`] (the caller then drops `path_b64` or sends
    /// no metadata).
    pub fn encode(&self) -> Option<String> {
        let s = serde_json::to_string(self).expect("metadata serialises");
        (s.len() <= MAX_REQUEST_METADATA).then_some(s)
    }

    /// Parses a notification's `requestMetadata`; `None` when it is empty or
    /// not ours (another client's free text is not an error).
    pub fn parse(s: &str) -> Option<Self> {
        if s.trim_start().starts_with('{') {
            serde_json::from_str(s).ok()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_foreign_text() {
        let m = RequestMetadata {
            path: "/home/ana/Downloads/sample.csv".into(),
            path_b64: None,
            sha256: "ab".repeat(32),
            size: 44,
            host: "laptop".into(),
        };
        let s = m.encode().unwrap();
        assert!(!s.contains("path_b64"));
        assert_eq!(RequestMetadata::parse(&s), Some(m));
        assert_eq!(RequestMetadata::parse(""), None);
        assert_eq!(RequestMetadata::parse("MY_SECRETS"), None);
        assert_eq!(RequestMetadata::parse(r#"{"other":1}"#), None);
    }

    #[test]
    fn refuses_oversized_metadata() {
        let m = RequestMetadata {
            path: "x".repeat(MAX_REQUEST_METADATA),
            ..Default::default()
        };
        assert_eq!(m.encode(), None);
    }
}
