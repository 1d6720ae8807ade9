//! A finding's identity, as a 128-bit hash.
//!
//! The same finding reaches the centre several times: re-sent, `new` then
//! `resolved`, raised again later. Its identity is (host, path,
//! archive_path, detector, finding_id) when the endpoint keeps finding
//! state, else (host, path, archive_path, detector, finding text, byte
//! offset). The report keeps only the first 128 bits of a SHA-256 of those
//! fields (each length-prefixed, so no two field lists run together): a
//! megabyte path costs 16 bytes, and the state file (`--state`) holds no
//! path or finding text.

use sha2::{Digest, Sha256};

use crate::rec::Rec;

/// A finding's identity.
pub type Key = (u64, u64);

fn field(h: &mut Sha256, s: &[u8]) {
    h.update((s.len() as u64).to_le_bytes());
    h.update(s);
}

/// The identity of the finding `r` is about.
pub fn of(r: &Rec<'_>) -> Key {
    let mut h = Sha256::new();
    for f in [r.host, r.path, r.archive_path, r.detector] {
        field(&mut h, f.as_bytes());
    }
    if r.finding_id.is_empty() {
        h.update([2]);
        field(&mut h, r.finding.as_bytes());
        h.update(r.byte_start.unwrap_or(u64::MAX).to_le_bytes());
    } else {
        h.update([1]);
        field(&mut h, r.finding_id.as_bytes());
    }
    split(&h.finalize())
}

fn split(d: &[u8]) -> Key {
    let word = |i: usize| u64::from_be_bytes(d[i..i + 8].try_into().expect("8 bytes"));
    (word(0), word(8))
}

/// 32 hex digits.
pub fn to_hex(k: Key) -> String {
    format!("{:016x}{:016x}", k.0, k.1)
}

/// The inverse of [`to_hex`].
pub fn from_hex(s: &str) -> Option<Key> {
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((
        u64::from_str_radix(&s[..16], 16).ok()?,
        u64::from_str_radix(&s[16..], 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec<'a>(id: &'a str, finding: &'a str, at: Option<u64>) -> Rec<'a> {
        Rec {
            host: "h",
            path: "/p",
            detector: "SSN",
            finding_id: id,
            finding,
            byte_start: at,
            ..Rec::default()
        }
    }

    #[test]
    fn identity_uses_the_finding_id_when_present() {
        let k = |id, f, at| of(&rec(id, f, at));
        assert_eq!(k("a1", "x", Some(1)), k("a1", "y", Some(9)));
        assert_ne!(k("a1", "x", None), k("a2", "x", None));
        assert_eq!(k("", "x", Some(3)), k("", "x", Some(3)));
        assert_ne!(k("", "x", Some(3)), k("", "x", Some(4)));
        assert_ne!(k("", "x", Some(3)), k("", "y", Some(3)));
    }

    #[test]
    fn fields_do_not_run_together() {
        let a = Rec {
            host: "ab",
            path: "c",
            ..Rec::default()
        };
        let b = Rec {
            host: "a",
            path: "bc",
            ..Rec::default()
        };
        assert_ne!(of(&a), of(&b));
    }

    #[test]
    fn hex_round_trips() {
        let k = of(&rec("a1", "", None));
        assert_eq!(from_hex(&to_hex(k)), Some(k));
        assert_eq!(from_hex("xyz"), None);
        assert_eq!(from_hex(&"g".repeat(32)), None);
    }
}
