//! Serde types for the parts of Nightfall's v3 API that the dlp-pipes tools
//! speak, so the client (nf-upload), the receiver (nf-webhook) and the
//! offline stand-in (nf-emulator) agree on one wire form.
//!
//! The contract is docs/nightfall-api.md: §2 (upload and the scan
//! request), §3 (detection rules, with the checks the API makes and the
//! tutorial's rule), §4 (webhook notification and challenge), §5 (findings
//! document). Readers are lenient where the service is (missing optional
//! fields default, `null` and `""` count as absent, unknown fields are
//! ignored) and strict where it is (a value outside an enum, a field of the
//! wrong type); writers emit Nightfall's field names in Nightfall's key
//! order.

pub mod findings;
pub mod load;
pub mod metadata;
pub mod rules;
pub mod scan;
pub mod signature;
pub mod upload;
pub mod webhook;

pub use findings::{to_finding, Detector, FindingsDocument, Location, NfFinding};
pub use load::{
    load_rules, parse_rules, shorthand_rules, tutorial_rule, validate_rules, RuleError,
    MAX_FILE_SCAN_RULES, NIGHTFALL_DETECTORS,
};
pub use metadata::RequestMetadata;
pub use rules::DetectionRule;
pub use scan::{AlertConfig, FileScanRequest, ScanPolicy};
pub use upload::{FileUpload, InitUpload, ScanResponse};
pub use webhook::{Challenge, ErrorBody, WebhookNotification};

/// An optional field that reads `null`, `""` and absence alike (Go and
/// Java clients serialise unset fields so, docs/nightfall-api.md §2.4) and
/// is left out when unset:
/// `#[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]`.
pub(crate) mod lenient {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn deserialize<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        match Option::<serde_json::Value>::deserialize(d)? {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) if s.is_empty() => Ok(None),
            Some(v) => T::deserialize(v)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }

    /// Written as it is (`skip_serializing_if` leaves out `None`).
    pub(crate) fn serialize<S: Serializer, T: Serialize>(
        v: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// A field that reads `null` as its type's default (Nightfall's Go backend
/// may send `null` for an empty string, list or map) and is written as it
/// is: `#[serde(default, with = "nullable")]`.
pub(crate) mod nullable {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Default + Deserialize<'de>,
    {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }

    pub(crate) fn serialize<S: Serializer, T: Serialize>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

#[cfg(test)]
mod wire_tests;
