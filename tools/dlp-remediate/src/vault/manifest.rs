//! A vault entry's manifest (`ID/manifest.json`) and entry ids.
//!
//! The vault is ours (owner and mode are checked before anything in it is
//! read), yet a manifest is parsed as untrusted input: at most
//! [`MAX_MANIFEST`] bytes, an id of the exact form the tool makes and equal
//! to its entry's name, a SHA-256 of 64 lowercase hex digits, a mode of four
//! octal digits, an original path that is absolute and normal (no `.`,
//! `..`, empty or NUL components) and a note, if any, beside that path.
//! Anything else is refused with the field named.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use dlp_record::Confidence;
use dlp_record::{path_field, path_from_field};
use serde::{Deserialize, Serialize};

use crate::safefs::is_normal_absolute;

/// Larger manifests are refused unread.
pub const MAX_MANIFEST: u64 = 64 * 1024;

/// One detector's share of the findings that led to an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorCount {
    pub detector: String,
    pub confidence: Confidence,
    pub findings: u64,
}

/// A vault entry's manifest (`ID/manifest.json`; `list` prints these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub original_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_path_b64: Option<String>,
    pub sha256: String,
    pub size: u64,
    pub uid: u32,
    pub gid: u32,
    /// Permission bits, octal (`"0640"`).
    pub mode: String,
    pub atime: String,
    pub mtime: String,
    pub ctime: String,
    /// Exact times for restore: nanoseconds since the Unix epoch.
    pub atime_ns: i64,
    pub mtime_ns: i64,
    /// Device and inode of the original, so that an interrupted run
    /// removes that file and no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ino: Option<u64>,
    /// Detector names and confidence of the findings (never their text).
    pub detectors: Vec<DetectorCount>,
    pub confidence: Confidence,
    pub findings: u64,
    pub quarantined_at: String,
    /// `rename` (same file system) or `copy` (copied, verified, unlinked).
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Manifest {
    /// Parses and checks a manifest read from entry `id`.
    pub fn parse(bytes: &[u8], id: &str) -> anyhow::Result<Manifest> {
        if bytes.len() as u64 > MAX_MANIFEST {
            bail!("larger than {MAX_MANIFEST} bytes");
        }
        let m: Manifest = serde_json::from_slice(bytes).context("not a manifest")?;
        m.check(id)?;
        Ok(m)
    }

    fn check(&self, id: &str) -> anyhow::Result<()> {
        if !is_id(&self.id) || self.id != id {
            bail!("its id {:?} is not the entry's ({id})", self.id);
        }
        if let Some(b) = &self.original_path_b64 {
            if dlp_record::b64::decode(b).is_none() {
                bail!("original_path_b64 is not base64");
            }
        }
        let original = self.original();
        if !is_normal_absolute(&original) {
            bail!(
                "original_path {:?} is not a normal absolute path",
                original.display()
            );
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        {
            bail!("sha256 {:?} is not 64 lowercase hex digits", self.sha256);
        }
        self.mode_bits()?;
        if self.uid == u32::MAX || self.gid == u32::MAX {
            bail!("uid or gid -1");
        }
        if !matches!(self.method.as_str(), "rename" | "copy") {
            bail!("method {:?} is neither rename nor copy", self.method);
        }
        if let Some(n) = &self.note {
            if *n != path_field(&note_path(&original)).0 {
                bail!("note {n:?} is not beside the original path");
            }
        }
        Ok(())
    }

    /// The original path, exact bytes.
    pub fn original(&self) -> PathBuf {
        path_from_field(&self.original_path, self.original_path_b64.as_deref())
    }

    /// The permission bits recorded (`0o0000..=0o7777`).
    pub fn mode_bits(&self) -> anyhow::Result<u32> {
        let m = &self.mode;
        if m.len() != 4 || !m.bytes().all(|c| matches!(c, b'0'..=b'7')) {
            bail!("mode {m:?} is not four octal digits");
        }
        Ok(u32::from_str_radix(m, 8)?)
    }

    /// The manifest as written to disk.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = serde_json::to_vec_pretty(self).expect("a manifest serialises");
        b.push(b'\n');
        b
    }
}

/// `FILE.quarantined`, the note left in a quarantined file's place.
pub fn note_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".quarantined");
    PathBuf::from(s)
}

/// True for an entry id: `YYYYMMDDTHHMMSSZ-xxxxxxxx`, digits and eight
/// lowercase hex digits.
pub fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 25
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && &b[15..17] == b"Z-"
        && b[17..]
            .iter()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// `20261127T174850Z-1a2b3c4d`: sortable by time, unique by a hash of the
/// path, the clock, the process and random bytes (an id also names the
/// private directory made beside a user's file, which that user must not
/// be able to guess and create first).
pub fn new_id(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = dlp_record::time::now_rfc3339();
    let compact: String = t[..19].chars().filter(char::is_ascii_digit).collect();
    let mut h = Sha256::new();
    h.update(path.as_os_str().as_encoded_bytes());
    h.update(format!(
        "{t}{}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut random = [0u8; 16];
    if getrandom::getrandom(&mut random).is_ok() {
        h.update(random);
    }
    format!(
        "{}T{}Z-{}",
        &compact[..8],
        &compact[8..],
        &dlp_record::hash::hex(&h.finalize())[..8]
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_are_safe_names() {
        let a = new_id(Path::new("/a"));
        let b = new_id(Path::new("/a"));
        assert_ne!(a, b);
        assert!(is_id(&a), "{a}");
        for bad in [
            "",
            "../x",
            "20261127T174850Z-1A2B3C4D",
            "20261127T174850Z-1a2b3c4",
            "20261127T174850Z-1a2b3c4d.tmp",
        ] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    use proptest::prelude::*;

    /// A manifest as `quarantine` writes it, from generated parts.
    pub(crate) fn manifest() -> impl Strategy<Value = Manifest> {
        (
            (
                "[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}",
                prop::collection::vec("[^/\\x00]{1,12}", 1..5),
            ),
            (
                "[0-9a-f]{64}",
                0u32..=0o7777,
                0u32..u32::MAX,
                0u32..u32::MAX,
            ),
            (
                any::<u64>(),
                any::<i64>(),
                any::<i64>(),
                any::<bool>(),
                any::<bool>(),
            ),
        )
            .prop_filter("no . or .. component", |((_, parts), _, _)| {
                parts.iter().all(|p| p != "." && p != "..")
            })
            .prop_map(
                |((id, parts), (sha256, mode, uid, gid), (size, a, m, copy, note))| {
                    let original = PathBuf::from(format!("/{}", parts.join("/")));
                    let (original_path, original_path_b64) = path_field(&original);
                    Manifest {
                        id,
                        original_path,
                        original_path_b64,
                        sha256,
                        size,
                        uid,
                        gid,
                        mode: format!("{mode:04o}"),
                        atime: "2026-01-01T00:00:00Z".into(),
                        mtime: "2026-01-01T00:00:00Z".into(),
                        ctime: "2026-01-01T00:00:00Z".into(),
                        atime_ns: a,
                        mtime_ns: m,
                        dev: Some(size / 3),
                        ino: Some(size / 7),
                        detectors: vec![DetectorCount {
                            detector: "Credit Card Number".into(),
                            confidence: Confidence::VeryLikely,
                            findings: 2,
                        }],
                        confidence: Confidence::VeryLikely,
                        findings: 2,
                        quarantined_at: "2026-01-01T00:00:00Z".into(),
                        method: if copy { "copy" } else { "rename" }.into(),
                        note: note.then(|| path_field(&note_path(&original)).0),
                    }
                },
            )
    }

    /// One field made wrong in a way the parser must refuse.
    fn corrupt(m: &mut Manifest, how: usize, junk: &str) {
        match how % 12 {
            0 => m.original_path = format!("{}/../etc", m.original_path),
            1 => m.original_path = format!("{}/./x", m.original_path),
            2 => m.original_path = m.original_path.trim_start_matches('/').to_owned() + "x",
            3 => m.original_path = format!("{}//x", m.original_path),
            4 => m.original_path = format!("{}\0x", m.original_path),
            5 => m.sha256 = m.sha256.to_uppercase() + "A",
            6 => m.sha256.truncate(63),
            7 => m.mode = format!("1{}", m.mode),
            8 => m.mode = "0798".into(),
            9 => m.method = format!("move{junk}"),
            10 => m.note = Some(format!("/elsewhere/{junk}")),
            _ => m.id.push_str(".tmp"),
        }
        if how % 12 <= 4 {
            m.original_path_b64 = None;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_manifest_written_parses_back_equal(m in manifest()) {
            let back = Manifest::parse(&m.to_bytes(), &m.id).unwrap();
            prop_assert_eq!(back, m);
        }

        #[test]
        fn a_manifest_with_a_bad_field_is_refused(mut m in manifest(), how in 0usize..12, junk in "[a-z]{0,4}") {
            let id = m.id.clone();
            corrupt(&mut m, how, &junk);
            prop_assert!(Manifest::parse(&m.to_bytes(), &id).is_err(), "{:?}", m);
        }

        #[test]
        fn another_entrys_manifest_is_refused(m in manifest(), other in "[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}") {
            prop_assume!(other != m.id);
            prop_assert!(Manifest::parse(&m.to_bytes(), &other).is_err());
        }

        #[test]
        fn any_bytes_are_refused_or_parsed_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), id in "[0-9a-zT-]{0,30}") {
            let _ = Manifest::parse(&bytes, &id);
        }

        #[test]
        fn mutated_manifests_never_panic(m in manifest(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut b = m.to_bytes();
            let i = cut.index(b.len());
            b[i] = byte;
            let _ = Manifest::parse(&b, &m.id);
            let _ = Manifest::parse(&b[..i], &m.id);
        }
    }

    #[test]
    fn an_oversized_manifest_is_refused_unread() {
        let big = vec![b' '; MAX_MANIFEST as usize + 1];
        let e = Manifest::parse(&big, "20261127T174850Z-1a2b3c4d").unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
    }

    #[test]
    fn note_path_appends_suffix() {
        assert_eq!(
            note_path(Path::new("/x/a.csv")),
            Path::new("/x/a.csv.quarantined")
        );
    }
}
