//! The quarantine vault: files moved out of users' reach, with a manifest
//! that says where each came from, so `restore` can put it back exactly.
//!
//! Layout (directory mode 0700, entries 0700, data 0600):
//!
//! ```text
//! VAULT/.lock              taken (flock) for each operation
//! VAULT/ID/manifest.json   original path, owner, mode, times, sha256, detectors
//! VAULT/ID/data            the file's bytes
//! VAULT/ID.tmp/            an entry being written (committed by renaming to ID)
//! VAULT/ID.del/            an entry being removed after a restore
//! ```
//!
//! A vault trusts nothing it did not write. It is opened from `/` without
//! following symlinks; every directory on the way must be owned by root or
//! by us and not writable by others (unless sticky, as `/tmp`); the vault
//! itself, each entry and each manifest must be ours and writable by nobody
//! else, or they are refused. Manifests are parsed as untrusted input
//! ([`manifest`]), and all work happens relative to the vault's directory
//! descriptor, opened once.
//!
//! The file is never in no place: see [`quarantine`](Vault::quarantine) for
//! the order of steps and [`recover`] for what an interrupted run leaves and
//! how the next run completes it.

mod manifest;
mod quarantine;
mod recover;
mod restore;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::safefs::{self, euid, Dir};

pub use manifest::{is_id, new_id, note_path, DetectorCount, Manifest, MAX_MANIFEST};
pub use quarantine::{Outcome, Request};

/// An open vault directory.
pub struct Vault {
    dir: Dir,
}

/// Refuses a directory on the way to the vault that someone other than
/// root or us could change.
fn check_ancestor(d: &Dir) -> std::io::Result<()> {
    let m = d.meta()?;
    let (uid, mode) = (m.uid(), m.mode());
    if uid != 0 && uid != euid() {
        return Err(std::io::Error::other(format!(
            "{} is owned by uid {uid}: a vault must be where only root or uid {} can write",
            d.path().display(),
            euid()
        )));
    }
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(std::io::Error::other(format!(
            "{} is writable by others (mode {:04o}): a vault must be where only root or uid {} can write",
            d.path().display(),
            mode & 0o7777,
            euid()
        )));
    }
    Ok(())
}

/// Refuses what we did not make: not ours, or writable by group or others.
fn check_ours(what: &str, m: &std::fs::Metadata) -> anyhow::Result<()> {
    if m.uid() != euid() {
        bail!(
            "{what}: owned by uid {}, not by uid {} (this process): not trusted",
            m.uid(),
            euid()
        );
    }
    if m.mode() & 0o022 != 0 {
        bail!(
            "{what}: writable by group or others (mode {:04o}): not trusted",
            m.mode() & 0o7777
        );
    }
    Ok(())
}

impl Vault {
    /// Opens the vault, creating it (mode 0700) when `create`, checks that
    /// it is ours, and finishes or discards what an interrupted run left.
    pub fn open(dir: &Path, create: bool) -> anyhow::Result<Vault> {
        let abs = safefs::normalize(dir)?;
        let shown = abs.display();
        let check = |d: &Dir| {
            if d.path() == abs {
                Ok(())
            } else {
                check_ancestor(d)
            }
        };
        let opened = if create {
            Dir::open_creating(&abs, 0o700, check)
        } else {
            // The same walk without creating: a missing vault is an error.
            Dir::open(&abs).and_then(|d| {
                let mut p = abs.clone();
                while p.pop() {
                    check_ancestor(&Dir::open(&p)?)?;
                }
                Ok(d)
            })
        };
        let dir = opened.with_context(|| format!("vault {shown}"))?;
        let m = dir.meta()?;
        check_ours(&format!("vault {shown}"), &m).map_err(|e| {
            anyhow::anyhow!(
                "{e}; refusing it (check what is in it before fixing its owner or mode)"
            )
        })?;
        if m.mode() & 0o077 != 0 {
            dir_file(&dir)?
                .set_permissions(std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making vault {shown} private (mode 0700)"))?;
        }
        let v = Vault { dir };
        let _lock = v.lock()?;
        v.recover()?;
        Ok(v)
    }

    /// The vault directory (absolute, normal).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn lock(&self) -> anyhow::Result<File> {
        let name = OsStr::new(".lock");
        let f = match self.dir.create_file(name, 0o600) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let fd = rustix::fs::openat(
                    &self.dir,
                    name,
                    rustix::fs::OFlags::RDWR
                        | rustix::fs::OFlags::NOFOLLOW
                        | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                )
                .map_err(std::io::Error::from)
                .with_context(|| format!("opening {}/.lock", self.dir().display()))?;
                File::from(fd)
            }
            r => r.with_context(|| format!("creating {}/.lock", self.dir().display()))?,
        };
        check_ours(&format!("{}/.lock", self.dir().display()), &f.metadata()?)?;
        f.lock().context("locking the vault")?;
        Ok(f)
    }

    /// Opens an entry directory (`ID`, `ID.tmp`, `ID.del`) if it is ours.
    fn entry_dir(&self, name: &OsStr) -> anyhow::Result<Dir> {
        let d = self.dir.child_dir(name)?;
        check_ours(
            &format!("vault entry {}", name.to_string_lossy()),
            &d.meta()?,
        )?;
        Ok(d)
    }

    /// Reads and checks the manifest in `entry` (a directory of entry `id`).
    fn read_manifest(entry: &Dir, id: &str) -> anyhow::Result<Manifest> {
        let f = entry.open_file(OsStr::new("manifest.json"))?;
        check_ours(&format!("vault entry {id}: manifest.json"), &f.metadata()?)?;
        let mut bytes = Vec::new();
        f.take(MAX_MANIFEST + 1).read_to_end(&mut bytes)?;
        Manifest::parse(&bytes, id).with_context(|| format!("vault entry {id}: manifest.json"))
    }

    /// Entry `id` (committed) and its manifest.
    fn entry(&self, id: &str) -> anyhow::Result<(Dir, Manifest)> {
        let d = self.entry_dir(OsStr::new(id))?;
        let m = Self::read_manifest(&d, id)?;
        Ok((d, m))
    }

    /// Every committed entry's manifest, oldest first; entries that are not
    /// ours or do not parse are reported on stderr and skipped.
    pub fn list(&self) -> anyhow::Result<Vec<Manifest>> {
        let mut v = Vec::new();
        for name in self.dir.names()? {
            let Some(id) = name.to_str().filter(|n| is_id(n)) else {
                continue;
            };
            match self.entry(id) {
                Ok((_, m)) => v.push(m),
                Err(e) => eprintln!("dlp-remediate: {e:#} (entry skipped)"),
            }
        }
        v.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(v)
    }

    /// The latest committed entry for this original path and (when given)
    /// content, if any.
    pub fn find(&self, path: &Path, sha256: Option<&str>) -> anyhow::Result<Option<Manifest>> {
        let _lock = self.lock()?;
        Ok(self
            .list()?
            .into_iter()
            .rev()
            .find(|m| m.original() == path && sha256.is_none_or(|s| m.sha256 == s)))
    }

    /// Clears what a run killed while removing entry `m`'s original left
    /// beside it ([`crate::target::clear_stage`]); best effort.
    pub fn tidy(&self, m: &Manifest) {
        let (Some(dev), Some(ino)) = (m.dev, m.ino) else {
            return;
        };
        let original = m.original();
        if let Ok((parent, _)) = safefs::split(&original) {
            if let Ok(d) = Dir::open(parent) {
                let _ = crate::target::clear_stage(&d, &m.id, safefs::FileId { dev, ino });
            }
        }
    }

    /// Removes a committed entry: renamed to `ID.del` first, so an
    /// interrupted removal is finished by the next run.
    fn remove_entry(&self, id: &str) -> anyhow::Result<()> {
        let del = OsString::from(format!("{id}.del"));
        self.dir.rename(OsStr::new(id), &self.dir, &del, true)?;
        self.dir.sync()?;
        self.remove_tree(&del)
    }

    /// Removes an entry directory of ours and the files in it (never
    /// following a link; a subdirectory, which we never make, stops it).
    fn remove_tree(&self, name: &OsStr) -> anyhow::Result<()> {
        let d = self.entry_dir(name)?;
        for n in d.names()? {
            d.unlink(&n)?;
        }
        self.dir.rmdir(name)?;
        Ok(())
    }
}

/// The directory as a `File` (for fchmod).
fn dir_file(d: &Dir) -> std::io::Result<File> {
    use std::os::fd::AsFd;
    Ok(File::from(d.as_fd().try_clone_to_owned()?))
}

/// Stops here when a test build (feature `test-hooks`) is told to (the test then
/// kills the process with SIGKILL); does nothing in normal builds.
fn pause_at(point: &str) {
    #[cfg(feature = "test-hooks")]
    if std::env::var("DLP_REMEDIATE_PAUSE_AT").is_ok_and(|p| p == point) {
        eprintln!("dlp-remediate: paused at {point}");
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let _ = point;
}

/// `ns` nanoseconds since the epoch as a time.
fn system_time(ns: i64) -> std::time::SystemTime {
    use std::time::UNIX_EPOCH;
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

/// The path of `name` in `dir`, for messages.
fn shown(dir: &Dir, name: &OsStr) -> PathBuf {
    dir.path().join(name)
}
