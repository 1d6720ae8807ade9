//! Putting a quarantined file back.
//!
//! The destination (the manifest's original path, or `--to PATH`) is split
//! into its directory, opened from `/` without following links, and a
//! name that must not exist there. The data is hashed through its
//! descriptor against the manifest, given the recorded owner, permission
//! bits (never setuid, setgid or sticky) and times through that descriptor,
//! and only then linked into the directory: a hard link of the vault's
//! inode on the same file system, else a verified copy made in a private
//! directory beside the destination and linked from there. `link` never
//! replaces an existing entry, so nothing is ever overwritten.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::quarantine::{copy_verified, NOTE_HEAD};
use super::{is_id, note_path, system_time, Manifest, Vault};
use crate::safefs::{self, Dir, FileId};
use crate::target::{remove_exact, remove_stage, stage_name};

impl Vault {
    /// Puts entry `id` back at its original path (or `to`), byte for byte,
    /// with its owner, mode and times, and removes it from the vault.
    pub fn restore(&self, id: &str, to: Option<&Path>) -> anyhow::Result<(Manifest, PathBuf)> {
        if !is_id(id) {
            bail!("no vault entry {id:?} (ids look like 20261127T174850Z-1a2b3c4d)");
        }
        let _lock = self.lock()?;
        let (entry, m) = match self.entry(id) {
            Err(e)
                if e.downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::NotFound) =>
            {
                bail!(
                    "no vault entry {id:?} in {} (see `dlp-remediate list`)",
                    self.dir().display()
                )
            }
            r => r?,
        };
        let dest = match to {
            Some(p) => safefs::normalize(p)?,
            None => m.original(),
        };
        let (dir, name) = safefs::split(&dest)?;
        let dir = Dir::open(dir).with_context(|| format!("restoring to {}", dest.display()))?;
        if dir.entry(name)?.is_some() {
            bail!(
                "{} exists; move it away or restore elsewhere with --to PATH",
                dest.display()
            );
        }
        let mut data = entry.open_file(OsStr::new("data"))?;
        let got = dlp_record::hash::sha256_reader(&mut data)?;
        if got != m.sha256 {
            bail!("vault entry {id} does not match its manifest (sha256 {got})");
        }
        let recorded = m.mode_bits()?;
        let mode = recorded & 0o777;
        if mode != recorded {
            eprintln!(
                "dlp-remediate: {}: setuid, setgid and sticky bits not restored (mode {} recorded, {mode:04o} set)",
                dest.display(),
                m.mode
            );
        }
        if dir.meta()?.dev() == data.metadata()?.dev() {
            set_metadata(&data, &m, mode, &dest)?;
            match entry.link(OsStr::new("data"), &dir, name) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                    copy_into(&mut data, &dir, name, &m, mode, &dest)?
                }
                Err(e) => {
                    // Back to a vault file: ours, private.
                    let _ = std::os::unix::fs::fchown(&data, Some(safefs::euid()), None);
                    let _ = data.set_permissions(std::fs::Permissions::from_mode(0o600));
                    return Err(e).with_context(|| format!("restoring to {}", dest.display()));
                }
            }
        } else {
            copy_into(&mut data, &dir, name, &m, mode, &dest)?;
        }
        dir.sync()?;
        if let Err(e) = remove_note(&m) {
            eprintln!("dlp-remediate: {}: note not removed: {e:#}", dest.display());
        }
        self.remove_entry(id)?;
        Ok((m, dest))
    }
}

/// Across file systems: a verified copy with its metadata, made in a
/// private directory beside the destination, then linked into place.
fn copy_into(
    data: &mut File,
    dir: &Dir,
    name: &OsStr,
    m: &Manifest,
    mode: u32,
    dest: &Path,
) -> anyhow::Result<()> {
    let stage_name = stage_name(&m.id);
    let stage = dir.private_subdir(&stage_name)?;
    let f = OsStr::new("f");
    let r = (|| {
        let got = copy_verified(data, &stage, f)?;
        if got != m.sha256 {
            bail!(
                "vault entry {} does not match its manifest (sha256 {got})",
                m.id
            );
        }
        set_metadata(&stage.open_file(f)?, m, mode, dest)?;
        stage
            .link(f, dir, name)
            .with_context(|| format!("restoring to {}", dest.display()))
    })();
    let _ = stage.unlink(f);
    remove_stage(dir, &stage_name, &stage);
    r
}

/// Owner, permission bits and times, through the descriptor.
fn set_metadata(f: &File, m: &Manifest, mode: u32, dest: &Path) -> anyhow::Result<()> {
    chown(f, m.uid, m.gid, dest)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    let times = std::fs::FileTimes::new()
        .set_accessed(system_time(m.atime_ns))
        .set_modified(system_time(m.mtime_ns));
    f.set_times(times)?;
    Ok(())
}

/// fchown; not being allowed to (not root) is a warning, not a failure.
pub(super) fn chown(f: &File, uid: u32, gid: u32, shown: &Path) -> anyhow::Result<()> {
    match std::os::unix::fs::fchown(f, Some(uid), Some(gid)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            eprintln!(
                "dlp-remediate: {}: owner not set (uid {uid}, gid {gid}): {e}",
                shown.display()
            );
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes the note left beside the original, if it is still our note
/// about this entry (a regular file, not a link, saying so).
fn remove_note(m: &Manifest) -> anyhow::Result<()> {
    if m.note.is_none() {
        return Ok(());
    }
    let note = note_path(&m.original());
    let (dir, name) = safefs::split(&note)?;
    let dir = match Dir::open(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        d => d?,
    };
    let f = match dir.open_file(name) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        f => f?,
    };
    let meta = f.metadata()?;
    let mut head = Vec::new();
    f.take(4096).read_to_end(&mut head)?;
    let text = String::from_utf8_lossy(&head);
    if !(text.starts_with(NOTE_HEAD) && text.contains(&m.id)) {
        return Ok(()); // not our note any more: the user's file now
    }
    let token = format!("{}-note", m.id);
    let _ = remove_exact(&dir, name, FileId::of(&meta), &token)?;
    Ok(())
}
