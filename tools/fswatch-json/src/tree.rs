//! The watcher's in-memory view of the watched tree.
//!
//! One node per directory, holding its entries' metadata (and content hash
//! when hashing). The view is what makes the stream lossless: new-directory
//! scans and post-overflow rescans are diffed against it, it deduplicates
//! synthetic `created` events against real ones, and it is the baseline
//! written by `--state`. Entries are keyed by file name under their
//! directory to keep memory small (no full path per file).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What kind of entry a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// Symlink, FIFO, socket, device: never opened.
    Other,
}

/// Metadata of one entry, as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub kind: Kind,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
    /// `gid`, `nlink` and `ext` are known (false for an entry of a
    /// baseline written before they were kept: not compared).
    pub full: bool,
    pub sha: Option<Box<[u8; 32]>>,
    /// ACL and extended attributes, when read (`--hash`) and present.
    pub ext: Option<Box<crate::attrs::Ext>>,
    /// Seen in a directory listing only, never `lstat`-ed (see
    /// [`Meta::listed`]): `kind` and `ino` are the directory entry's,
    /// `ctime_ns` is when the directory was listed, the rest is unknown.
    pub listed_only: bool,
}

impl Meta {
    /// From `lstat` metadata (symlinks are not followed).
    pub fn of(md: &Metadata) -> Meta {
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        Meta {
            kind,
            size: md.size(),
            mtime_ns: md.mtime() * 1_000_000_000 + md.mtime_nsec(),
            ctime_ns: md.ctime() * 1_000_000_000 + md.ctime_nsec(),
            ino: md.ino(),
            mode: md.mode(),
            uid: md.uid(),
            gid: md.gid(),
            nlink: md.nlink(),
            full: true,
            sha: None,
            ext: None,
            listed_only: false,
        }
    }

    /// An entry known from its directory listing alone (a post-overflow
    /// rescan when no record needs its metadata): what it is, its inode,
    /// and when it was listed (`at_ns`, kept in `ctime_ns`). A later rescan
    /// `lstat`s it and reports it as modified when its ctime is not older
    /// than the listing (within [`LISTED_SLACK_NS`]).
    pub fn listed(kind: Kind, ino: u64, at_ns: i64) -> Meta {
        Meta {
            kind,
            size: 0,
            mtime_ns: 0,
            ctime_ns: at_ns,
            ino,
            mode: 0,
            uid: 0,
            gid: 0,
            nlink: 0,
            full: false,
            sha: None,
            ext: None,
            listed_only: true,
        }
    }

    /// For an entry known only from a listing: whether `now` (its `lstat`
    /// at a later rescan) may have changed since it was listed. The ctime
    /// is the clue (any write or attribute change sets it, and it cannot
    /// be set from user space); file systems stamp it with a coarse clock
    /// or whole seconds, hence the slack, which errs towards reporting.
    pub fn changed_since_listed(&self, now: &Meta) -> bool {
        self.ino != now.ino || now.ctime_ns >= self.ctime_ns - LISTED_SLACK_NS
    }

    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }

    /// Same inode, size, mtime and ctime: content and attributes are taken
    /// as unchanged (ctime cannot be set from user space, so a `touch -d`
    /// that restores mtime still shows).
    pub fn looks_same(&self, o: &Meta) -> bool {
        self.kind == o.kind
            && self.size == o.size
            && self.mtime_ns == o.mtime_ns
            && self.ctime_ns == o.ctime_ns
            && self.ino == o.ino
            && !self.listed_only
            && !o.listed_only
    }

    /// The content hash as lowercase hex.
    pub fn sha_hex(&self) -> Option<String> {
        self.sha.as_deref().map(|s| dlp_record::hash::hex(s))
    }

    /// Sets the content hash from hex.
    pub fn set_sha_hex(&mut self, hex: &str) {
        self.sha = dlp_record::hash::unhex(hex)
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .map(Box::new);
    }
}

/// How much older than a listing an entry's ctime must be for a later
/// rescan to take it as unchanged since that listing (2 s: the coarsest
/// time stamps of common file systems, FAT's).
pub const LISTED_SLACK_NS: i64 = 2_000_000_000;

/// The current time in nanoseconds since the epoch (for [`Meta::listed`]).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// `lstat` of `path` as a [`Meta`], or `None` when it is gone.
pub fn lstat(path: &Path) -> Option<Meta> {
    std::fs::symlink_metadata(path).ok().map(|m| Meta::of(&m))
}

/// One directory: its watch (if any) and its entries.
#[derive(Debug, Default)]
pub struct Dir {
    pub wd: Option<i32>,
    pub entries: HashMap<OsString, Meta>,
}

/// All directories known under the roots.
#[derive(Debug, Default)]
pub struct Tree {
    pub dirs: HashMap<PathBuf, Dir>,
}

fn split(path: &Path) -> Option<(&Path, &OsStr)> {
    Some((path.parent()?, path.file_name()?))
}

impl Tree {
    /// The entry at `path`.
    pub fn get(&self, path: &Path) -> Option<&Meta> {
        let (dir, name) = split(path)?;
        self.dirs.get(dir)?.entries.get(name)
    }

    /// Records `meta` at `path` (its directory node is created if needed).
    /// Allocates only for a new name or a new directory (the hot path of a burst).
    pub fn insert(&mut self, path: &Path, meta: Meta) -> Option<Meta> {
        let (dir, name) = split(path)?;
        if !self.dirs.contains_key(dir) {
            self.dirs.insert(dir.to_path_buf(), Dir::default());
        }
        let node = self.dirs.get_mut(dir)?;
        if let Some(slot) = node.entries.get_mut(name) {
            return Some(std::mem::replace(slot, meta));
        }
        node.entries.insert(name.to_os_string(), meta)
    }

    /// Removes the entry at `path` (not its subtree; see [`Tree::remove_subtree`]).
    pub fn remove(&mut self, path: &Path) -> Option<Meta> {
        let (dir, name) = split(path)?;
        self.dirs.get_mut(dir)?.entries.remove(name)
    }

    /// Removes the directory node at `dir` and every node below it.
    /// Returns the removed entries (full paths, deepest first) and their watches.
    pub fn remove_subtree(&mut self, dir: &Path) -> (Vec<(PathBuf, Meta)>, Vec<i32>) {
        let mut gone = Vec::new();
        let mut wds = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Some(node) = self.dirs.remove(&d) else {
                continue;
            };
            wds.extend(node.wd);
            for (name, meta) in node.entries {
                let p = d.join(&name);
                if meta.is_dir() {
                    stack.push(p.clone());
                }
                gone.push((p, meta));
            }
        }
        gone.reverse();
        (gone, wds)
    }

    /// Renames the directory nodes at and below `from` to `to`.
    /// Returns the watches whose directory path changed, with their new path.
    pub fn rename_subtree(&mut self, from: &Path, to: &Path) -> Vec<(i32, PathBuf)> {
        let mut moved = Vec::new();
        let mut stack = vec![from.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Some(node) = self.dirs.remove(&d) else {
                continue;
            };
            for (name, meta) in &node.entries {
                if meta.is_dir() {
                    stack.push(d.join(name));
                }
            }
            let new = match d.strip_prefix(from) {
                Ok(rest) if rest.as_os_str().is_empty() => to.to_path_buf(),
                Ok(rest) => to.join(rest),
                Err(_) => continue,
            };
            moved.push((d, new, node));
        }
        let mut wds = Vec::new();
        for (_, new, node) in moved {
            if let Some(wd) = node.wd {
                wds.push((wd, new.clone()));
            }
            self.dirs.insert(new, node);
        }
        wds
    }

    /// Every entry under `root` (full path and metadata), in no set order.
    pub fn entries_under<'a>(
        &'a self,
        root: &'a Path,
    ) -> impl Iterator<Item = (PathBuf, &'a Meta)> + 'a {
        self.dirs
            .iter()
            .filter(move |(d, _)| d.starts_with(root))
            .flat_map(|(d, node)| node.entries.iter().map(move |(n, m)| (d.join(n), m)))
    }

    /// Number of files and directories known.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.dirs.values().map(|d| d.entries.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: Kind) -> Meta {
        Meta {
            kind,
            size: 1,
            mtime_ns: 2,
            ctime_ns: 3,
            ino: 4,
            mode: 0o644,
            uid: 0,
            gid: 0,
            nlink: 1,
            full: true,
            sha: None,
            ext: None,
            listed_only: false,
        }
    }

    #[test]
    fn subtree_rename_and_removal() {
        let mut t = Tree::default();
        t.dirs.insert(
            PathBuf::from("/r"),
            Dir {
                wd: Some(1),
                ..Dir::default()
            },
        );
        t.insert(Path::new("/r/a"), meta(Kind::Dir));
        t.dirs.insert(
            PathBuf::from("/r/a"),
            Dir {
                wd: Some(2),
                ..Dir::default()
            },
        );
        t.insert(Path::new("/r/a/f"), meta(Kind::File));
        t.insert(Path::new("/r/a/b"), meta(Kind::Dir));
        t.insert(Path::new("/r/a/b/g"), meta(Kind::File));
        let wds = t.rename_subtree(Path::new("/r/a"), Path::new("/r/z"));
        assert_eq!(wds, vec![(2, PathBuf::from("/r/z"))]);
        assert!(t.get(Path::new("/r/z/f")).is_some());
        assert!(t.get(Path::new("/r/z/b/g")).is_some());
        let (gone, wds) = t.remove_subtree(Path::new("/r/z"));
        assert_eq!(wds, vec![2]);
        assert_eq!(gone.len(), 3);
        assert_eq!(t.len(), 1);
    }
}
