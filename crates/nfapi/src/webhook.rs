//! The two POST bodies Nightfall sends to a webhook URL (§4): the challenge
//! handshake and the file-scan result notification, plus the error body
//! (§7.2) that the notification's `errors` array carries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::nullable;

/// The scan-result notification (§4.2). Fields are declared in Nightfall's
/// key order, so compact serialisation reproduces the bytes Nightfall signs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookNotification {
    /// Pre-signed URL of the findings document; `""` when nothing matched.
    #[serde(rename = "findingsURL")]
    #[serde(default, with = "nullable")]
    pub findings_url: String,
    /// RFC 3339 time after which `findings_url` no longer works.
    #[serde(default, with = "nullable")]
    pub valid_until: String,
    /// The upload (file) id the result is about.
    #[serde(rename = "uploadID")]
    pub upload_id: String,
    /// Whether any detection rule matched.
    pub findings_present: bool,
    /// Echo of the scan request's `requestMetadata` (`""` if none).
    #[serde(default, with = "nullable")]
    pub request_metadata: String,
    /// Errors that happened while scanning.
    #[serde(default, with = "nullable")]
    pub errors: Vec<ErrorBody>,
}

impl WebhookNotification {
    /// The compact JSON body Nightfall sends (and signs).
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("notification serialises")
    }
}

/// Nightfall's error body (§7.2); every field optional on input.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_data: BTreeMap<String, String>,
}

impl std::fmt::Display for ErrorBody {
    /// `code 40012: message: description` with absent parts left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(c) = self.code {
            parts.push(format!("code {c}"));
        }
        parts.extend(self.message.iter().filter(|s| !s.is_empty()).cloned());
        parts.extend(self.description.iter().filter(|s| !s.is_empty()).cloned());
        if parts.is_empty() {
            parts.push("unspecified error".into());
        }
        f.write_str(&parts.join(": "))
    }
}

/// The challenge handshake body `{"challenge": "..."}` (§4.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Challenge {
    pub challenge: String,
}

impl Challenge {
    /// The challenge value when `body` is a JSON object whose `challenge`
    /// member is a non-empty string (the tutorial's `data.get("challenge")`).
    pub fn parse(body: &[u8]) -> Option<String> {
        #[derive(Deserialize)]
        struct Probe {
            challenge: Option<serde_json::Value>,
        }
        let p: Probe = serde_json::from_slice(body).ok()?;
        match p.challenge? {
            serde_json::Value::String(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE_VECTOR: &str = r#"{"findingsURL":"https://nightfall.com/findings","validUntil":"2021-11-06T08:05:13.193904055Z","uploadID":"MY_UPLOAD_ID","findingsPresent":true,"requestMetadata":"MY_SECRETS","errors":[]}"#;

    #[test]
    fn round_trips_node_test_vector_byte_for_byte() {
        let n: WebhookNotification = serde_json::from_str(NODE_VECTOR).unwrap();
        assert_eq!(n.upload_id, "MY_UPLOAD_ID");
        assert!(n.findings_present);
        assert_eq!(n.to_body(), NODE_VECTOR);
        let sig =
            crate::signature::sign(b"MY_WEBHOOK_SECRET", "1636099513", n.to_body().as_bytes());
        assert_eq!(
            sig,
            "f3c4db6aee74079e7ba09aee16f5b729beee45edf0eb8f77173dbb479f446bda"
        );
    }

    #[test]
    fn lenient_on_missing_and_null_fields() {
        let n: WebhookNotification = serde_json::from_str(
            r#"{"uploadID":"u","findingsPresent":false,"errors":null,"extra":1}"#,
        )
        .unwrap();
        assert_eq!(n.request_metadata, "");
        assert!(n.errors.is_empty() && n.findings_url.is_empty());
        assert!(
            serde_json::from_str::<WebhookNotification>(r#"{"findingsPresent":true}"#).is_err()
        );
    }

    #[test]
    fn error_body_parses_node_mock_and_displays() {
        let e: ErrorBody = serde_json::from_str(
            r#"{"code":40015,"message":"Invalid Request","description":"both empty","additionalData":{"k":"v"}}"#,
        )
        .unwrap();
        assert_eq!(e.additional_data["k"], "v");
        assert_eq!(e.to_string(), "code 40015: Invalid Request: both empty");
        assert_eq!(ErrorBody::default().to_string(), "unspecified error");
    }

    #[test]
    fn challenge_detection() {
        assert_eq!(
            Challenge::parse(br#"{"challenge":"z78woE1uDFu7tPrPvEBV"}"#).as_deref(),
            Some("z78woE1uDFu7tPrPvEBV")
        );
        assert_eq!(Challenge::parse(br#"{"challenge":""}"#), None);
        assert_eq!(Challenge::parse(br#"{"challenge":5}"#), None);
        assert_eq!(Challenge::parse(br#"{"uploadID":"x"}"#), None);
        assert_eq!(Challenge::parse(b"not json"), None);
    }
}
