//! Which file a record is about, and how a path that is not UTF-8
//! travels in a record (its bytes as base64 in a `*_b64` twin field).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The fields that can name the file a record is about, in order of
/// precedence, each with its `*_b64` twin that holds the exact bytes of a
/// path that is not UTF-8.
const SUBJECT_FIELDS: [(&str, &str); 3] = [
    ("dest_path", "dest_path_b64"),
    ("src_path", "src_path_b64"),
    ("path", "path_b64"),
];

/// The file a record is about: the first of `dest_path` (a move's
/// destination), `src_path` (an event) and `path` (a finding, a scan
/// request) that is set, as the exact bytes of its `*_b64` twin when that is
/// present and valid, else as its text. `field` looks up one top-level string
/// field of the record; every tool that picks "the record's file" goes
/// through here, so they all agree.
/// Field values are text or its bytes (`&str` or `&[u8]`).
pub fn subject_bytes<'a, S: AsRef<[u8]> + ?Sized + 'a>(
    field: impl Fn(&str) -> Option<&'a S>,
) -> Option<Cow<'a, [u8]>> {
    SUBJECT_FIELDS.iter().find_map(|&(text, raw)| {
        if let Some(bytes) = field(raw).and_then(b64::decode) {
            return Some(Cow::Owned(bytes));
        }
        field(text)
            .map(AsRef::as_ref)
            .filter(|t| !t.is_empty())
            .map(Cow::Borrowed)
    })
}

/// A path as a record field: lossy UTF-8 text, plus the raw bytes as
/// base64 when the path is not valid UTF-8 (so nothing is mangled silently).
pub fn path_field(p: &Path) -> (String, Option<String>) {
    use std::os::unix::ffi::OsStrExt;
    match p.to_str() {
        Some(s) => (s.to_owned(), None),
        None => {
            use b64::encode;
            (
                p.to_string_lossy().into_owned(),
                Some(encode(p.as_os_str().as_bytes())),
            )
        }
    }
}

/// Inverse of [`path_field`]: the exact path bytes when `b64` is present.
pub fn path_from_field(text: &str, b64: Option<&str>) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    if let Some(bytes) = b64.and_then(b64::decode) {
        return PathBuf::from(std::ffi::OsStr::from_bytes(&bytes));
    }
    PathBuf::from(text)
}

/// Base64 as records and detectors use it, on the `base64` crate with the
/// two configurations the project needs.
pub mod b64 {
    use base64::alphabet;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;

    /// Encodes padded, decodes padded or not; trailing bits are tolerated so
    /// that a detector can decode text cut at any length.
    const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

    /// Standard base64 (RFC 4648 §4), padded.
    pub fn encode(input: &[u8]) -> String {
        STANDARD.encode(input)
    }

    /// Decodes padded or unpadded standard base64; `None` if malformed.
    pub fn decode(input: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        STANDARD.decode(input).ok()
    }

    /// Decodes URL-safe base64 (RFC 4648 §5, as in JWTs), padded or not.
    pub fn decode_url(input: &[u8]) -> Option<Vec<u8>> {
        URL_SAFE.decode(input).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_precedence_and_raw_bytes() {
        let rec = |pairs: &[(&'static str, &'static str)]| {
            let pairs = pairs.to_vec();
            subject_bytes(move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v))
                .map(|b| b.into_owned())
        };
        assert_eq!(
            rec(&[("src_path", "/a"), ("dest_path", "/b")]).unwrap(),
            b"/b"
        );
        assert_eq!(
            rec(&[("src_path", "/a"), ("dest_path", "")]).unwrap(),
            b"/a"
        );
        assert_eq!(rec(&[("path", "/f")]).unwrap(), b"/f");
        // The exact bytes win over the lossy text, for every field.
        let raw = b64::encode(b"/x\xff");
        let raw: &'static str = Box::leak(raw.into_boxed_str());
        assert_eq!(
            rec(&[("path", "/x\u{fffd}"), ("path_b64", raw)]).unwrap(),
            b"/x\xff"
        );
        assert_eq!(
            rec(&[
                ("dest_path", ""),
                ("dest_path_b64", raw),
                ("src_path", "/a")
            ])
            .unwrap(),
            b"/x\xff"
        );
        assert_eq!(rec(&[("src_path", ""), ("other", "/a")]), None);
    }

    #[test]
    fn base64_round_trip() {
        for n in 0..20u8 {
            let v: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(b64::decode(b64::encode(&v)).unwrap(), v);
        }
        assert_eq!(b64::encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64::encode(b"fo"), "Zm8=");
        assert_eq!(
            b64::decode_url(b"eyJhIjoiPz8_In0").unwrap(),
            br#"{"a":"???"}"#.to_vec()
        );
        assert_eq!(b64::decode_url(b"a+b"), None);
    }
}
