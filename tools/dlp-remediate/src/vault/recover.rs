//! What an interrupted run leaves in the vault, and how the next run
//! completes it (every time the vault is opened, under its lock):
//!
//! * `ID.tmp` without `data`: the file was never moved, or its copy was not
//!   finished; the original is in place. The entry is removed.
//! * `ID.tmp` whose `data` has the SHA-256 its manifest records: complete.
//!   It is committed (renamed to `ID`).
//! * `ID.tmp` whose `data` does not match (a run killed between a move and
//!   its check): that is someone's file, not the content scanned. It is
//!   put back at its original path when that name is free, else left where
//!   it is and reported on every open: never committed, never deleted.
//! * `ID.del`: a restore that was done but for removing the entry. Removed.
//!
//! An entry that is not ours, or whose manifest does not parse, is never
//! touched; it is reported on stderr for the administrator.

use std::ffi::{OsStr, OsString};

use rustix::fs::FileType;

use super::{is_id, Vault};
use crate::safefs::{self, Dir};

impl Vault {
    pub(super) fn recover(&self) -> anyhow::Result<()> {
        for name in self.dir.names()? {
            let Some(s) = name.to_str() else {
                continue;
            };
            let r = if let Some(id) = s.strip_suffix(".tmp").filter(|i| is_id(i)) {
                self.recover_tmp(id)
            } else if s.strip_suffix(".del").is_some_and(is_id) {
                self.remove_tree(&name)
            } else {
                continue;
            };
            if let Err(e) = r {
                eprintln!("dlp-remediate: vault: {s}: {e:#} (left as it is)");
            }
        }
        self.dir.sync()?;
        Ok(())
    }

    fn recover_tmp(&self, id: &str) -> anyhow::Result<()> {
        let name = OsString::from(format!("{id}.tmp"));
        let dir = self.entry_dir(&name)?;
        let data = OsStr::new("data");
        let is_file = dir
            .entry(data)?
            .is_some_and(|e| e.kind == FileType::RegularFile);
        if !is_file {
            return self.remove_tree(&name);
        }
        let m = Self::read_manifest(&dir, id)?;
        let got = dlp_record::hash::sha256_reader(dir.open_file(data)?)?;
        if got == m.sha256 {
            self.dir.rename(&name, &self.dir, OsStr::new(id), true)?;
            eprintln!("dlp-remediate: vault: committed entry {id} left by an interrupted run");
            return Ok(());
        }
        let original = m.original();
        let (parent, file) = safefs::split(&original)?;
        dir.rename(data, &Dir::open(parent)?, file, true)?;
        eprintln!(
            "dlp-remediate: vault: {}: put back (an interrupted run had moved it, but its content was not the one scanned)",
            original.display()
        );
        self.remove_tree(&name)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;

    use crate::vault::manifest::tests::manifest;
    use crate::vault::Manifest;

    /// What an interrupted run (or anything else) may have left.
    #[derive(Debug, Clone, Copy)]
    enum Left {
        Committed,
        TmpComplete,
        /// Data that is not the content recorded; its original path free.
        TmpMismatch,
        /// The same, with something new at the original path.
        TmpMismatchTaken,
        TmpManifestOnly,
        TmpPartOnly,
        /// Data, and a manifest that does not parse.
        TmpBadManifest,
        Del,
        /// `ID.tmp` a symlink to a complete entry elsewhere.
        TmpSymlink,
        Junk,
    }

    fn left() -> impl Strategy<Value = Left> {
        (0usize..10).prop_map(|i| {
            use Left::*;
            [
                Committed,
                TmpComplete,
                TmpMismatch,
                TmpMismatchTaken,
                TmpManifestOnly,
                TmpPartOnly,
                TmpBadManifest,
                Del,
                TmpSymlink,
                Junk,
            ][i]
        })
    }

    fn write(p: &Path, b: &[u8]) {
        std::fs::write(p, b).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    fn entry(dir: &Path, m: &Manifest, data: Option<&[u8]>) {
        std::fs::DirBuilder::new().mode(0o700).create(dir).unwrap();
        write(&dir.join("manifest.json"), &m.to_bytes());
        if let Some(d) = data {
            write(&dir.join("data"), d);
        }
    }

    /// Every file under `p` with its bytes (links as their targets).
    fn tree(p: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(p).unwrap() {
            let e = e.unwrap().path();
            let m = std::fs::symlink_metadata(&e).unwrap();
            if m.is_dir() {
                out.extend(tree(&e));
            } else if m.file_type().is_symlink() {
                let target = std::fs::read_link(&e).unwrap();
                out.push((e, target.into_os_string().into_encoded_bytes()));
            } else {
                out.push((e.clone(), std::fs::read(&e).unwrap()));
            }
        }
        out.sort();
        out
    }

    /// A fresh directory with `vault`, `home` and `outside` in it.
    fn scene() -> PathBuf {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "dlp-recover-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["vault", "home", "outside"] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(root.join(d))
                .unwrap();
        }
        root.canonicalize().unwrap()
    }

    /// Leaves `l` in the vault for entry `id` of `original` holding `bytes`.
    fn leave(l: Left, root: &Path, m: &Manifest, original: &Path, bytes: &[u8]) {
        let (vault, outside) = (root.join("vault"), root.join("outside"));
        let id = &m.id;
        let tmp = vault.join(format!("{id}.tmp"));
        let mut other = bytes.to_vec();
        other.push(b'!');
        match l {
            Left::Committed => entry(&vault.join(id), m, Some(bytes)),
            Left::TmpComplete => entry(&tmp, m, Some(bytes)),
            Left::TmpMismatch => entry(&tmp, m, Some(&other)),
            Left::TmpMismatchTaken => {
                entry(&tmp, m, Some(&other));
                write(original, b"new");
            }
            Left::TmpManifestOnly => entry(&tmp, m, None),
            Left::TmpPartOnly => {
                entry(&tmp, m, None);
                write(&tmp.join("data.part"), bytes);
            }
            Left::TmpBadManifest => {
                entry(&tmp, m, Some(bytes));
                write(&tmp.join("manifest.json"), b"{\"id\":");
            }
            Left::Del => entry(&vault.join(format!("{id}.del")), m, Some(bytes)),
            Left::TmpSymlink => {
                entry(&outside.join(id), m, Some(bytes));
                std::os::unix::fs::symlink(outside.join(id), &tmp).unwrap();
            }
            Left::Junk => write(&vault.join(format!("junk {id}.tmp")), bytes),
        }
    }

    /// What opening the vault must have made of `l`.
    fn check(
        l: Left,
        root: &Path,
        id: &str,
        original: &Path,
        bytes: &[u8],
    ) -> Result<(), TestCaseError> {
        let vault = root.join("vault");
        let tmp = vault.join(format!("{id}.tmp"));
        let data = std::fs::read(vault.join(id).join("data")).ok();
        let mut other = bytes.to_vec();
        other.push(b'!');
        match l {
            Left::Committed | Left::TmpComplete => {
                prop_assert_eq!(data.as_deref(), Some(bytes), "{:?}", l);
                prop_assert!(!tmp.exists());
            }
            Left::TmpMismatch => {
                prop_assert!(data.is_none() && !tmp.exists());
                prop_assert_eq!(std::fs::read(original).unwrap(), other, "put back");
            }
            Left::TmpMismatchTaken => {
                prop_assert!(data.is_none());
                prop_assert_eq!(
                    std::fs::read(tmp.join("data")).unwrap(),
                    other,
                    "never deleted"
                );
                prop_assert_eq!(std::fs::read(original).unwrap(), b"new");
            }
            Left::TmpManifestOnly | Left::TmpPartOnly | Left::Del => {
                prop_assert!(data.is_none() && !tmp.exists());
                let del = vault.join(format!("{id}.del"));
                prop_assert!(!del.exists());
            }
            Left::TmpBadManifest => {
                prop_assert!(data.is_none());
                prop_assert_eq!(std::fs::read(tmp.join("data")).unwrap(), bytes);
            }
            Left::TmpSymlink => {
                prop_assert!(data.is_none());
                prop_assert!(std::fs::symlink_metadata(&tmp)
                    .unwrap()
                    .file_type()
                    .is_symlink());
            }
            Left::Junk => {
                let junk = vault.join(format!("junk {id}.tmp"));
                prop_assert!(junk.exists());
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever was left, opening the vault commits exactly the `.tmp`
        /// entries whose data matches their manifest, puts back data that
        /// does not where its original path is free, leaves it otherwise,
        /// and touches nothing it did not write (links, their targets,
        /// unknown names, entries it cannot read).
        #[test]
        fn recovery_commits_only_what_matches(
            lefts in prop::collection::vec(left(), 0..8),
            template in manifest(),
            data in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 8),
        ) {
            let root = scene();
            let mut made = Vec::new();
            for (i, (&l, bytes)) in lefts.iter().zip(&data).enumerate() {
                let original = root.join("home").join(format!("f{i}"));
                let mut m = template.clone();
                m.id = format!("20260101T000000Z-0000000{i}");
                let (p, b) = dlp_record::path_field(&original);
                (m.original_path, m.original_path_b64, m.note) = (p, b, None);
                m.sha256 = dlp_record::hash::sha256_bytes(bytes);
                leave(l, &root, &m, &original, bytes);
                made.push((l, m.id, original, bytes.clone()));
            }
            let outside = tree(&root.join("outside"));
            crate::vault::Vault::open(&root.join("vault"), false).unwrap();
            prop_assert_eq!(tree(&root.join("outside")), outside);
            for (l, id, original, bytes) in made {
                check(l, &root, &id, &original, &bytes)?;
            }
            std::fs::remove_dir_all(&root).unwrap();
        }
    }
}
