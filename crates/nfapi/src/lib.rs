//! Serde types for the parts of Nightfall's v3 API that the dlp-pipes tools
//! speak, so the client (nf-upload), the receiver (nf-webhook) and the
//! offline stand-in (nf-emulator) agree on one wire form.
//!
//! The contract is docs/nightfall-api.md: §2 (upload),
//! §4 (webhook notification and challenge), §5 (findings document).
//! Readers are lenient (missing optional fields default, unknown fields are
//! ignored); writers emit Nightfall's field names in Nightfall's key order.

pub mod findings;
pub mod metadata;
pub mod upload;
pub mod webhook;

pub use findings::{to_finding, Detector, FindingsDocument, Location, NfFinding};
pub use metadata::RequestMetadata;
pub use upload::{FileUpload, InitUpload, ScanResponse};
pub use webhook::{Challenge, ErrorBody, WebhookNotification};

/// Deserialises `null` as the type's default (Nightfall's Go backend may
/// send `null` for an empty list or map).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
