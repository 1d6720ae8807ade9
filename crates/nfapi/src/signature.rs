//! Nightfall's webhook signature scheme, shared by the receiver, the
//! emulator and `webhook-post --sign`:
//! `hex(HMAC-SHA256(secret, "<timestamp>:<raw body>"))`, lowercase.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(timestamp.as_bytes());
    m.update(b":");
    m.update(body);
    m
}

/// The `X-Nightfall-Signature` value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    dlp_record::hash::hex(&mac(secret, timestamp, body).finalize().into_bytes())
}

/// Checks a hex signature in constant time (upper- or lowercase hex).
pub fn verify(secret: &[u8], timestamp: &str, body: &[u8], signature_hex: &str) -> bool {
    let Some(sig) = dlp_record::hash::unhex(signature_hex) else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors from Nightfall's SDKs (docs/nightfall-api.md §4.3).
    const VECTORS: &[(&str, &str, &str, &str)] = &[
        (
            "super-secret-shhhh",
            "1633368645",
            "hello world foo bar goodnight moon",
            "1bb7619a9504474ffc14086d0423ad15db42606d3ca52afccb4a5b2125d7b703",
        ),
        (
            "super-secret-shhhh",
            "1633368643",
            "hello world foo bar goodnight moon",
            "641ada412da02d7df7ca59e94a556b7f5683374db614565ad3d99da1a9a779fb",
        ),
        (
            "some secret",
            "1633368643",
            "hello world",
            "3ccf9cc16507ca9f55b73c94fc2e872bb7ea312b2ab9d90785c6c55f153df4f3",
        ),
        (
            "MY_WEBHOOK_SECRET",
            "1636099513",
            r#"{"findingsURL":"https://nightfall.com/findings","validUntil":"2021-11-06T08:05:13.193904055Z","uploadID":"MY_UPLOAD_ID","findingsPresent":true,"requestMetadata":"MY_SECRETS","errors":[]}"#,
            "f3c4db6aee74079e7ba09aee16f5b729beee45edf0eb8f77173dbb479f446bda",
        ),
    ];

    #[test]
    fn sdk_vectors_sign_and_verify() {
        for (secret, ts, body, expected) in VECTORS {
            assert_eq!(sign(secret.as_bytes(), ts, body.as_bytes()), *expected);
            assert!(verify(secret.as_bytes(), ts, body.as_bytes(), expected));
            assert!(verify(
                secret.as_bytes(),
                ts,
                body.as_bytes(),
                &expected.to_uppercase()
            ));
        }
    }

    #[test]
    fn rejects_tampering() {
        let (secret, ts, body, sig) = VECTORS[0];
        assert!(!verify(
            secret.as_bytes(),
            ts,
            b"hello world foo bar goodnight moon!",
            sig
        ));
        assert!(!verify(
            secret.as_bytes(),
            "1633368646",
            body.as_bytes(),
            sig
        ));
        assert!(!verify(b"other", ts, body.as_bytes(), sig));
        assert!(!verify(secret.as_bytes(), ts, body.as_bytes(), &sig[..62]));
        assert!(!verify(secret.as_bytes(), ts, body.as_bytes(), "zz"));
        assert!(!verify(secret.as_bytes(), ts, body.as_bytes(), ""));
    }
}
