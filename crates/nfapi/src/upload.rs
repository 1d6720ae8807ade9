//! Bodies of the file-upload API (§2): the FileUpload object returned by
//! init and finish, and the scan call's response.

use serde::{Deserialize, Serialize};

/// `POST /v3/upload` and `/finish` response (§2.1, §2.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileUpload {
    pub id: String,
    #[serde(rename = "fileSizeBytes", default)]
    pub file_size_bytes: u64,
    #[serde(rename = "chunkSize", default)]
    pub chunk_size: u64,
    #[serde(rename = "mimeType", default)]
    pub mime_type: String,
}

/// `POST /v3/upload` request body (§2.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitUpload {
    #[serde(rename = "fileSizeBytes")]
    pub file_size_bytes: u64,
    #[serde(rename = "mimeType", default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// `POST /v3/upload/{id}/scan` response (§2.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanResponse {
    pub id: String,
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_examples_parse() {
        let f: FileUpload = serde_json::from_str(
            r#"{"id":"f9dbdb15-c9fa-46ff-86ec-cd5c09aa550d","fileSizeBytes":73891,"chunkSize":10485760,"mimeType":"image/png"}"#,
        )
        .unwrap();
        assert_eq!((f.file_size_bytes, f.chunk_size), (73891, 10_485_760));
        let f: FileUpload = serde_json::from_str(r#"{"id":"123e","mimeType":"text"}"#).unwrap();
        assert_eq!(f.chunk_size, 0);
        let s: ScanResponse =
            serde_json::from_str(r#"{"id":"u","message":"scan initiated"}"#).unwrap();
        assert_eq!(s.message, "scan initiated");
        let i = InitUpload {
            file_size_bytes: 44,
            mime_type: None,
        };
        assert_eq!(
            serde_json::to_string(&i).unwrap(),
            r#"{"fileSizeBytes":44}"#
        );
    }
}
