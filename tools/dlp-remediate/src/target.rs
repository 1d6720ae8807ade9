//! The file a decision is about, opened once so that it cannot be swapped:
//! its directory by descriptor (no symlink on the way), the file itself
//! with `O_NOFOLLOW`, identified by device and inode. Everything the tool
//! does to it (hash, copy, move, delete, tell its owner) goes through what
//! was opened here.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::safefs::{self, euid, Dir, FileId, Taken};

/// An opened file to act on.
pub struct Target {
    /// Absolute and normal.
    pub path: PathBuf,
    pub dir: Dir,
    pub name: OsString,
    pub file: File,
    /// `fstat` when opened.
    pub meta: Metadata,
    pub id: FileId,
}

impl Target {
    /// Opens `path` (made absolute and normal) for reading. `NotFound` when
    /// it or its directory does not exist; `InvalidInput` when it is not a
    /// regular file; an error naming the path when it goes through a link.
    pub fn open(path: &Path) -> io::Result<Target> {
        let path = safefs::normalize(path)?;
        let (dir, name) = safefs::split(&path)?;
        let (dir, name) = (Dir::open(dir)?, name.to_owned());
        let file = dir.open_file(&name)?;
        let meta = file.metadata()?;
        Ok(Target {
            id: FileId::of(&meta),
            path,
            dir,
            name,
            file,
            meta,
        })
    }

    /// SHA-256 of the content, read through the descriptor from the start.
    pub fn sha256(&mut self) -> io::Result<String> {
        self.file.seek(SeekFrom::Start(0))?;
        dlp_record::hash::sha256_reader(&mut self.file)
    }

    /// True when the file's size or modification time changed since it was
    /// opened (it was written to meanwhile).
    pub fn changed(&self) -> io::Result<bool> {
        let now = self.file.metadata()?;
        Ok((now.len(), now.mtime(), now.mtime_nsec())
            != (self.meta.len(), self.meta.mtime(), self.meta.mtime_nsec()))
    }

    /// Deletes this file, and no other (see [`remove_exact`]).
    pub fn remove(&self, token: &str) -> anyhow::Result<Removed> {
        remove_exact(&self.dir, &self.name, self.id, token)
    }
}

/// What [`remove_exact`] did.
#[derive(Debug)]
pub enum Removed {
    Yes,
    /// Nothing by that name any more.
    Gone,
    /// Another file was there; it was put back at this path.
    Other(PathBuf),
}

/// Removes `dir/name` if, and only if, it is the file `want`: the entry is
/// moved into a private directory made beside it (`.dlp-remediate-TOKEN`,
/// ours, mode 0700), checked there and unlinked there, so it can be
/// neither swapped nor redirected between the check and the unlink.
pub fn remove_exact(dir: &Dir, name: &OsStr, want: FileId, token: &str) -> anyhow::Result<Removed> {
    let stage_name = stage_name(token);
    let stage = dir.private_subdir(&stage_name)?;
    let f = OsStr::new("f");
    let r = match dir.take(name, want, &stage, f) {
        Ok(Taken::Yes) => stage.unlink(f).map(|()| Removed::Yes),
        Ok(Taken::NotThere) => Ok(Removed::Gone),
        Ok(Taken::Other(p)) => Ok(Removed::Other(p)),
        Err(e) => Err(e),
    };
    remove_stage(dir, &stage_name, &stage);
    dir.sync()?;
    Ok(r?)
}

/// `.dlp-remediate-TOKEN`: a private working directory beside a user's
/// file (TOKEN is a vault entry id, or another unique word).
pub fn stage_name(token: &str) -> OsString {
    OsString::from(format!(".dlp-remediate-{token}"))
}

/// Removes the private directory `name` of `dir` if it is still `stage`
/// (best effort: an empty directory of ours left behind is harmless).
pub fn remove_stage(dir: &Dir, name: &OsStr, stage: &Dir) {
    let ours = stage.meta().ok().map(|m| FileId::of(&m));
    if dir.entry(name).ok().flatten().map(|e| e.id) == ours && ours.is_some() {
        let _ = dir.rmdir(name);
    }
}

/// Clears `.dlp-remediate-TOKEN` beside a file, left by a run killed between
/// taking the file aside and unlinking it: only when the directory is ours
/// (owner, mode 0700) and holds nothing but that file, `want`. True when
/// cleared.
pub fn clear_stage(dir: &Dir, token: &str, want: FileId) -> io::Result<bool> {
    let name = stage_name(token);
    let ours = dir.entry(&name)?.is_some_and(|e| {
        e.kind == rustix::fs::FileType::Directory && e.uid == euid() && e.mode == 0o700
    });
    if !ours {
        return Ok(false);
    }
    let stage = dir.child_dir(&name)?;
    let f = OsStr::new("f");
    for n in stage.names()? {
        if n != f || stage.entry(&n)?.map(|e| e.id) != Some(want) {
            return Ok(false);
        }
        stage.unlink(&n)?;
    }
    remove_stage(dir, &name, &stage);
    Ok(true)
}
