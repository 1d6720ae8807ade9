//! File operations that follow no path another user controls.
//!
//! dlp-remediate runs as root over directories that other users write to.
//! A path such as `/home/ana/docs/q3.csv` is only a name: between two
//! system calls that use it, Ana can make `docs` a symlink to `/etc`. So
//! every operation here starts from a directory descriptor:
//!
//! * [`Dir::open`] opens a directory from `/` without following any
//!   symbolic link: `openat2` with `RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH`
//!   where the kernel has it (Linux 5.6), else one `openat(O_NOFOLLOW |
//!   O_DIRECTORY)` per component. A path through a symlink is refused
//!   (`ELOOP`), whoever owns the link.
//! * Files are opened relative to that descriptor with `O_NOFOLLOW` (and
//!   `O_NONBLOCK`, so a FIFO cannot block the tool), identified by device
//!   and inode ([`FileId`]), and read, hashed, copied, chowned, chmodded and
//!   given their times through the open descriptor, never by name.
//! * Renames, links and unlinks name both directories by descriptor.
//! * [`Dir::take`] removes a name exactly: the entry is renamed into a
//!   private directory (ours, mode 0700, where nobody else can reach it)
//!   and checked there; an entry that is not the file expected is put back.
//!
//! Every descriptor is opened close-on-exec, so a helper process started as
//! another user inherits none of them.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};

/// Our effective user id.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// A file's identity: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(m: &Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// What `lstat` says about a directory entry (the link itself for a symlink).
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub id: FileId,
    pub kind: rustix::fs::FileType,
    pub uid: u32,
    pub mode: u32,
}

/// `path` made absolute (against the current directory, which the kernel
/// reports without symlinks) and lexically normal: no `.`, `..` or empty
/// components. `..` is resolved by dropping the component before it, which
/// is what the kernel does when no component is a symlink, and none may
/// be: the result is opened with [`Dir::open`].
pub fn normalize(path: &Path) -> io::Result<PathBuf> {
    let abs = std::path::absolute(path)?;
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::Prefix(_) => return Err(invalid(path, "not a Unix path")),
        }
    }
    Ok(out)
}

/// True for an absolute path made of normal components only (what
/// [`normalize`] returns, other than `/`), without NUL bytes.
pub fn is_normal_absolute(path: &Path) -> bool {
    let b = path.as_os_str().as_bytes();
    b.len() > 1
        && b[0] == b'/'
        && !b.contains(&0)
        && b[1..]
            .split(|&c| c == b'/')
            .all(|s| !s.is_empty() && s != b"." && s != b"..")
}

/// The directory and final name of a normal absolute path.
pub fn split(path: &Path) -> io::Result<(&Path, &OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) if is_normal_absolute(path) => Ok((dir, name)),
        _ => Err(invalid(path, "not a normal absolute path to a file")),
    }
}

fn invalid(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: {why}", path.display()),
    )
}

/// Adds the path to an error, and says what `ELOOP` means here.
fn at(path: &Path, e: impl Into<io::Error>) -> io::Error {
    let e: io::Error = e.into();
    let why = if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        "goes through a symbolic link, which dlp-remediate never follows".to_owned()
    } else {
        e.to_string()
    };
    io::Error::new(e.kind(), format!("{}: {why}", path.display()))
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// An open directory, and the path it was opened as (for messages).
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl Dir {
    /// Opens the normal absolute directory `path` from `/`, following no
    /// symlink on the way.
    pub fn open(path: &Path) -> io::Result<Dir> {
        if path != Path::new("/") && !is_normal_absolute(path) {
            return Err(invalid(path, "not a normal absolute path"));
        }
        let root = rustix::fs::open("/", DIR_FLAGS, Mode::empty()).map_err(|e| at(path, e))?;
        let rel = path.strip_prefix("/").unwrap_or(path);
        if rel.as_os_str().is_empty() {
            return Ok(Dir {
                fd: root,
                path: path.to_path_buf(),
            });
        }
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::ResolveFlags;
            let how =
                ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS | ResolveFlags::BENEATH;
            match rustix::fs::openat2(&root, rel, DIR_FLAGS, Mode::empty(), how) {
                Ok(fd) => {
                    return Ok(Dir {
                        fd,
                        path: path.to_path_buf(),
                    })
                }
                // No openat2 (before Linux 5.6, or filtered): walk instead;
                // and the walk says which component is not a directory.
                Err(
                    rustix::io::Errno::NOSYS | rustix::io::Errno::PERM | rustix::io::Errno::NOTDIR,
                ) => {}
                Err(e) => return Err(at(path, e)),
            }
        }
        Dir::walk(root, path)
    }

    /// [`Dir::open`] without `openat2`: one `openat(O_NOFOLLOW |
    /// O_DIRECTORY)` per component from `root` (the descriptor of `/`).
    fn walk(root: OwnedFd, path: &Path) -> io::Result<Dir> {
        let mut dir = Dir {
            fd: root,
            path: PathBuf::from("/"),
        };
        for c in path.strip_prefix("/").unwrap_or(path).components() {
            dir = dir.child_dir(c.as_os_str())?;
        }
        dir.path = path.to_path_buf();
        Ok(dir)
    }

    /// Opens, or creates with `mode` the missing components of, the normal
    /// absolute directory `path`, calling `check` on each directory on the
    /// way (`/` included) before going into it.
    pub fn open_creating(
        path: &Path,
        mode: u32,
        check: impl Fn(&Dir) -> io::Result<()>,
    ) -> io::Result<Dir> {
        let mut dir = Dir::open(Path::new("/"))?;
        check(&dir)?;
        let rel = path
            .strip_prefix("/")
            .map_err(|_| invalid(path, "not absolute"))?;
        for c in rel.components() {
            let name = c.as_os_str();
            dir = match dir.child_dir(name) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => match dir.mkdir(name, mode) {
                    Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                    _ => dir.child_dir(name)?,
                },
                other => other?,
            };
            check(&dir)?;
        }
        Ok(dir)
    }

    /// The path this directory was opened as.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn join(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    /// `fstat` of the directory itself.
    pub fn meta(&self) -> io::Result<Metadata> {
        self.file()?.metadata()
    }

    fn file(&self) -> io::Result<File> {
        Ok(File::from(self.fd.try_clone()?))
    }

    /// Opens the subdirectory `name` (not through a symlink).
    pub fn child_dir(&self, name: &OsStr) -> io::Result<Dir> {
        let fd = match rustix::fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            // O_DIRECTORY on a symlink: say that it is one.
            Err(rustix::io::Errno::NOTDIR)
                if self
                    .entry(name)
                    .is_ok_and(|e| e.is_some_and(|e| e.kind == rustix::fs::FileType::Symlink)) =>
            {
                return Err(at(&self.join(name), rustix::io::Errno::LOOP))
            }
            Err(e) => return Err(at(&self.join(name), e)),
        };
        Ok(Dir {
            fd,
            path: self.join(name),
        })
    }

    /// Opens the regular file `name` for reading (not a symlink, FIFO or
    /// device: refused with `InvalidInput`).
    pub fn open_file(&self, name: &OsStr) -> io::Result<File> {
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::empty())
            .map_err(|e| at(&self.join(name), e))?;
        let f = File::from(fd);
        if !f.metadata()?.is_file() {
            return Err(invalid(&self.join(name), "not a regular file"));
        }
        Ok(f)
    }

    /// Creates the new file `name` (never an existing one, never through a
    /// symlink), open for reading and writing.
    pub fn create_file(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let flags = OFlags::RDWR
            | OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::NOCTTY
            | OFlags::CLOEXEC;
        rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(mode))
            .map(File::from)
            .map_err(|e| at(&self.join(name), e))
    }

    /// `lstat` of `name`; `None` when there is no such entry.
    // The `stat` field types differ between platforms (u32/u64, u16/u32).
    #[allow(clippy::unnecessary_cast)]
    pub fn entry(&self, name: &OsStr) -> io::Result<Option<Entry>> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(Entry {
                id: FileId {
                    dev: st.st_dev as u64,
                    ino: st.st_ino as u64,
                },
                kind: rustix::fs::FileType::from_raw_mode(st.st_mode as _),
                uid: st.st_uid,
                mode: st.st_mode as u32 & 0o7777,
            })),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(at(&self.join(name), e)),
        }
    }

    /// Creates the directory `name`.
    pub fn mkdir(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(mode))
            .map_err(|e| at(&self.join(name), e))
    }

    /// Creates and opens `name`, a directory only we can enter: owned by
    /// our uid, mode 0700, empty (checked on the open descriptor, so a
    /// directory slipped in its place is refused).
    pub fn private_subdir(&self, name: &OsStr) -> io::Result<Dir> {
        self.mkdir(name, 0o700)?;
        let d = self.child_dir(name)?;
        let m = d.meta()?;
        if m.uid() != euid() || m.mode() & 0o7777 != 0o700 || m.nlink() != 2 {
            return Err(invalid(d.path(), "replaced as it was created"));
        }
        Ok(d)
    }

    /// Renames `name` to `to/to_name`; with `noreplace`, never over an
    /// existing entry (`AlreadyExists`).
    pub fn rename(
        &self,
        name: &OsStr,
        to: &Dir,
        to_name: &OsStr,
        noreplace: bool,
    ) -> io::Result<()> {
        let r = if noreplace {
            match rustix::fs::renameat_with(&self.fd, name, &to.fd, to_name, RenameFlags::NOREPLACE)
            {
                // A file system without RENAME_NOREPLACE: link, then unlink.
                Err(rustix::io::Errno::INVAL) => {
                    rustix::fs::linkat(&self.fd, name, &to.fd, to_name, AtFlags::empty())
                        .and_then(|()| rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()))
                }
                r => r,
            }
        } else {
            rustix::fs::renameat(&self.fd, name, &to.fd, to_name)
        };
        r.map_err(|e| at(&to.join(to_name), e))
    }

    /// Links `name` as `to/to_name` (never over an existing entry, never
    /// through a symlink).
    pub fn link(&self, name: &OsStr, to: &Dir, to_name: &OsStr) -> io::Result<()> {
        rustix::fs::linkat(&self.fd, name, &to.fd, to_name, AtFlags::empty())
            .map_err(|e| at(&to.join(to_name), e))
    }

    /// Removes the entry `name` (not a directory).
    pub fn unlink(&self, name: &OsStr) -> io::Result<()> {
        rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()).map_err(|e| at(&self.join(name), e))
    }

    /// Removes the empty directory `name`.
    pub fn rmdir(&self, name: &OsStr) -> io::Result<()> {
        rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR)
            .map_err(|e| at(&self.join(name), e))
    }

    /// The names in the directory (without `.` and `..`).
    pub fn names(&self) -> io::Result<Vec<OsString>> {
        let mut out = Vec::new();
        for e in rustix::fs::Dir::read_from(&self.fd).map_err(|e| at(&self.path, e))? {
            let e = e.map_err(|e| at(&self.path, e))?;
            let n = e.file_name().to_bytes();
            if n != b"." && n != b".." {
                out.push(OsStr::from_bytes(n).to_owned());
            }
        }
        Ok(out)
    }

    /// fsync of the directory (its entries are durable).
    pub fn sync(&self) -> io::Result<()> {
        rustix::fs::fsync(&self.fd).map_err(|e| at(&self.path, e))
    }

    /// Takes `name` out of this directory if, and only if, it is the file
    /// `want`: the entry is renamed into `into/into_name` (a private
    /// directory of ours), where nobody else can swap it, and checked
    /// there. Another file found there is put back (see [`Dir::put_back`]).
    pub fn take(
        &self,
        name: &OsStr,
        want: FileId,
        into: &Dir,
        into_name: &OsStr,
    ) -> io::Result<Taken> {
        match self.rename(name, into, into_name, true) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Taken::NotThere),
            r => r?,
        }
        match into.entry(into_name)? {
            Some(e) if e.id == want => Ok(Taken::Yes),
            _ => into
                .put_back(into_name, self, name)
                .map(Taken::Other)
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "{}: another file was found there and could not be put back \
                             (it is kept in {}): {e}",
                            self.join(name).display(),
                            into.join(into_name).display()
                        ),
                    )
                }),
        }
    }

    /// Returns `name` (a file taken by mistake) to `to/to_name`, or, when
    /// something new is there already, beside it as `TO_NAME.dlp-remediate-N`:
    /// it goes back to the directory it came from, never anywhere else, and
    /// is never kept. The path it went back to.
    pub fn put_back(&self, name: &OsStr, to: &Dir, to_name: &OsStr) -> io::Result<PathBuf> {
        let mut target = to_name.to_owned();
        for n in 0..100 {
            match self.rename(name, to, &target, true) {
                Ok(()) => return Ok(to.join(&target)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    target = to_name.to_owned();
                    target.push(format!(".dlp-remediate-{n}"));
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{}: could not be put back", to.join(to_name).display()),
        ))
    }

    /// Writes `bytes` to the new file `name` and fsyncs it.
    pub fn write_new(&self, name: &OsStr, mode: u32, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        let mut f = self.create_file(name, mode)?;
        f.write_all(bytes)?;
        f.sync_all()
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// What [`Dir::take`] found.
#[derive(Debug)]
pub enum Taken {
    /// The file expected, now in the private directory.
    Yes,
    /// Nothing by that name any more.
    NotThere,
    /// Another file, put back at this path.
    Other(PathBuf),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_absolute_paths() {
        for good in ["/a", "/a/b.csv", "/a/..b/c", "/a/b..", "/.a"] {
            assert!(is_normal_absolute(Path::new(good)), "{good}");
        }
        for bad in [
            "", "/", "a", "a/b", "/a/../b", "/a/./b", "/a//b", "/a/", "/..", "/a\0b",
        ] {
            assert!(!is_normal_absolute(Path::new(bad)), "{bad:?}");
        }
        assert_eq!(
            normalize(Path::new("/a/./b/../c")).unwrap(),
            Path::new("/a/c")
        );
        assert_eq!(normalize(Path::new("/../a")).unwrap(), Path::new("/a"));
        assert!(normalize(Path::new("x")).unwrap().is_absolute());
    }

    #[test]
    fn symlinks_are_never_followed() {
        let t = std::env::temp_dir().join(format!("safefs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&t);
        std::fs::create_dir_all(t.join("real")).unwrap();
        std::fs::write(t.join("real/f"), "x").unwrap();
        std::os::unix::fs::symlink(t.join("real"), t.join("link")).unwrap();
        std::os::unix::fs::symlink(t.join("real/f"), t.join("real/lf")).unwrap();
        let t = t.canonicalize().unwrap();
        let d = Dir::open(&t.join("real")).unwrap();
        assert!(d.open_file(OsStr::new("f")).is_ok());
        let e = d.open_file(OsStr::new("lf")).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // openat2, and the walk used without it.
        let root = || rustix::fs::open("/", DIR_FLAGS, Mode::empty()).unwrap();
        for open in [&|p: &Path| Dir::open(p) as io::Result<Dir>, &|p: &Path| {
            Dir::walk(root(), p)
        }] as [&dyn Fn(&Path) -> io::Result<Dir>; 2]
        {
            assert!(open(&t.join("real")).is_ok());
            let e = open(&t.join("link")).unwrap_err();
            assert!(e.to_string().contains("symbolic link"), "{e}");
            let e = open(&t.join("link/x")).unwrap_err();
            assert!(e.to_string().contains("symbolic link"), "{e}");
        }
        assert_eq!(
            d.entry(OsStr::new("lf")).unwrap().unwrap().kind,
            rustix::fs::FileType::Symlink
        );
        assert!(d.entry(OsStr::new("none")).unwrap().is_none());
        std::fs::remove_dir_all(&t).unwrap();
    }
}
