//! A durable on-disk queue: one file per entry, written atomically.
//!
//! An entry is written to a temporary name, fsynced, renamed into place
//! and the directory fsynced, so once [`Spool::put`] returns the entry
//! survives a crash or `kill -9`. Entries are named by a time-ordered key,
//! so [`Spool::list`] replays them in arrival order. Used by nf-webhook
//! (accepted webhooks) and webhook-post (records waiting for delivery).
//!
//! One process per spool: [`Spool::open`] takes an advisory lock
//! (`flock`) on `<dir>/lock` and holds it while any clone of the spool
//! lives, so a second instance started on the same directory fails at once
//! instead of replaying (and emitting) the same entries twice. The kernel
//! drops the lock when the process dies, so a crash never leaves it stale.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A spool directory, locked for this process.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    _lock: Arc<File>,
}

/// Name of the lock file inside a spool directory.
const LOCK_FILE: &str = "lock";

static COUNTER: AtomicU64 = AtomicU64::new(0);

const SUFFIX: &str = ".entry";

impl Spool {
    /// Opens (creating with mode 0700) the spool directory and locks it;
    /// stale temporary files from an interrupted write are removed. Fails
    /// with [`io::ErrorKind::WouldBlock`] and a message naming the
    /// directory when another process holds the spool.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o700));
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "spool {} is in use by another process (it holds the lock on {}); \
                         run one instance per spool: give each its own --spool",
                        dir.display(),
                        dir.join(LOCK_FILE).display()
                    ),
                ))
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        for e in fs::read_dir(&dir)? {
            let e = e?;
            if e.file_name().to_string_lossy().ends_with(".tmp") {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(Spool {
            dir,
            _lock: Arc::new(lock),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `data` durably and returns its key.
    pub fn put(&self, data: &[u8]) -> io::Result<String> {
        self.put_parts(&[data])
    }

    /// Stores the concatenation of `parts` durably (without building it in
    /// memory) and returns its key.
    pub fn put_parts(&self, parts: &[&[u8]]) -> io::Result<String> {
        let key = new_key();
        self.put_named(&key, parts)?;
        Ok(key)
    }

    /// Starts an entry written piece by piece (so what it holds need not be
    /// kept in memory meanwhile); it exists only once [`Draft::commit`]
    /// returns, and a draft dropped or left by a crash is discarded.
    pub fn draft(&self) -> io::Result<Draft> {
        let key = new_key();
        let tmp = self.dir.join(format!("{key}.tmp"));
        let file = io::BufWriter::with_capacity(64 * 1024, File::create(&tmp)?);
        Ok(Draft {
            file: Some(file),
            key,
            tmp,
            dir: self.dir.clone(),
        })
    }

    /// Opens an entry for reading as a stream.
    pub fn open_entry(&self, key: &str) -> io::Result<File> {
        File::open(self.path(key))
    }

    /// Stores `parts` durably under a chosen key (replacing an entry of
    /// that key). A key made by appending to an existing key (`K.0`,
    /// `K.1`) sorts right after `K` and before every later key, so an
    /// entry split in parts keeps its place in the order.
    pub fn put_named(&self, key: &str, parts: &[&[u8]]) -> io::Result<()> {
        let tmp = self.dir.join(format!("{key}.tmp"));
        let mut f = File::create(&tmp)?;
        for p in parts {
            f.write_all(p)?;
        }
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, self.path(key))?;
        File::open(&self.dir)?.sync_all()
    }

    /// The dead-letter file: records that can never be delivered as they
    /// are (`dead-letter.ndjson` in the spool directory, never listed as
    /// an entry).
    pub fn dead_letter_path(&self) -> PathBuf {
        self.dir.join("dead-letter.ndjson")
    }

    /// Appends `lines` (one record each, without newlines) to the
    /// dead-letter file durably (mode 0600), and returns its path.
    pub fn dead_letter(&self, lines: &[&[u8]]) -> io::Result<PathBuf> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dead_letter_path();
        let mut f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)?;
        let mut buf = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for l in lines {
            buf.extend_from_slice(l);
            buf.push(b'\n');
        }
        f.write_all(&buf)?;
        f.sync_all()?;
        Ok(path)
    }

    /// When a key made by [`Spool::put`] was made (nanoseconds since the
    /// Unix epoch); also for keys derived from one (`K.0`).
    pub fn key_time(key: &str) -> Option<SystemTime> {
        let nanos: u64 = key.get(..24)?.parse().ok()?;
        Some(UNIX_EPOCH + std::time::Duration::from_nanos(nanos))
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}{SUFFIX}"))
    }

    /// Keys of all stored entries, oldest first.
    pub fn list(&self) -> io::Result<Vec<String>> {
        let mut keys: Vec<String> = fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(SUFFIX))
                    .map(str::to_owned)
            })
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Reads an entry.
    pub fn read(&self, key: &str) -> io::Result<Vec<u8>> {
        fs::read(self.path(key))
    }

    /// Replaces an entry's content atomically (same key, same order).
    pub fn rewrite(&self, key: &str, data: &[u8]) -> io::Result<()> {
        let tmp = self.dir.join(format!("{key}.rw.tmp"));
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, self.path(key))?;
        File::open(&self.dir)?.sync_all()
    }

    /// Removes an entry once it has been handled; a missing entry is fine.
    pub fn remove(&self, key: &str) -> io::Result<()> {
        match fs::remove_file(self.path(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn new_key() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:024}-{:010}-{n:08}", std::process::id())
}

/// An entry being written (see [`Spool::draft`]).
#[derive(Debug)]
pub struct Draft {
    file: Option<io::BufWriter<File>>,
    key: String,
    tmp: PathBuf,
    dir: PathBuf,
}

impl Draft {
    /// Appends bytes.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(data),
            None => Err(io::Error::other("draft already committed")),
        }
    }

    /// Makes the entry durable and visible; returns its key.
    pub fn commit(mut self) -> io::Result<String> {
        let f = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("draft already committed"))?;
        let f = f.into_inner().map_err(io::IntoInnerError::into_error)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&self.tmp, self.dir.join(format!("{}{SUFFIX}", self.key)))?;
        File::open(&self.dir)?.sync_all()?;
        Ok(std::mem::take(&mut self.key))
    }
}

impl Drop for Draft {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// The default place for a tool's state: `$XDG_STATE_HOME/dlp-pipes/<name>`,
/// else `~/.local/state/dlp-pipes/<name>`, else a directory under /tmp.
pub fn default_state_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("dlp-pipes").join(name)
}

/// Start-up check for a file the tool will write later (a state file):
/// its directory must exist and accept new files. `what` names the flag in
/// the message, e.g. `--state`.
pub fn check_file_dir(file: &Path, what: &str) -> anyhow::Result<()> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "{what} {}: directory {} does not exist (create it first)",
            file.display(),
            dir.display()
        );
    }
    let probe = dir.join(format!(
        ".{}.probe-{}",
        SUFFIX.trim_start_matches('.'),
        std::process::id()
    ));
    File::create(&probe)
        .and_then(|_| fs::remove_file(&probe))
        .map_err(|e| {
            anyhow::anyhow!(
                "{what} {}: cannot write in directory {}: {e}",
                file.display(),
                dir.display()
            )
        })
}

/// Start-up check for a spool directory given on the command line: it
/// exists, or its parent does (only the last level is created, so a typo
/// does not silently create a tree).
pub fn check_spool_dir(dir: &Path, what: &str) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if dir.exists() {
        anyhow::bail!("{what} {}: not a directory", dir.display());
    }
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() && !p.is_dir() => anyhow::bail!(
            "{what} {}: parent directory {} does not exist (create it first)",
            dir.display(),
            p.display()
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_up_checks_name_the_missing_directory() {
        let e = check_file_dir(Path::new("/no/such/dir/base.state"), "--state").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--state /no/such/dir/base.state: directory /no/such/dir does not exist (create it first)"
        );
        check_file_dir(&std::env::temp_dir().join("x.state"), "--state").unwrap();
        let e = check_spool_dir(Path::new("/nonexistent/x/y"), "--spool").unwrap_err();
        assert!(e
            .to_string()
            .contains("parent directory /nonexistent/x does not exist"));
        check_spool_dir(&std::env::temp_dir().join("new-spool-dir"), "--spool").unwrap();
        assert!(check_spool_dir(Path::new("/etc/passwd"), "--spool").is_err());
    }

    #[test]
    fn put_list_read_remove_in_order() {
        let dir = std::env::temp_dir().join(format!("spool-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let s = Spool::open(&dir).unwrap();
        let a = s.put(b"first").unwrap();
        let b = s.put(b"second").unwrap();
        fs::write(dir.join("junk.tmp"), b"x").unwrap();
        drop(s);
        let s = Spool::open(&dir).unwrap();
        assert_eq!(s.list().unwrap(), vec![a.clone(), b.clone()]);
        assert_eq!(s.read(&b).unwrap(), b"second");
        s.rewrite(&a, b"changed").unwrap();
        assert_eq!(s.read(&a).unwrap(), b"changed");
        s.remove(&a).unwrap();
        s.remove(&a).unwrap();
        assert_eq!(s.list().unwrap(), vec![b.clone()]);
        // Parts of a split entry keep its place before later entries.
        let c = s.put_parts(&[b"th", b"ird"]).unwrap();
        assert_eq!(s.read(&c).unwrap(), b"third");
        s.put_named(&format!("{b}.1"), &[b"b1"]).unwrap();
        s.put_named(&format!("{b}.0"), &[b"b0"]).unwrap();
        s.remove(&b).unwrap();
        assert_eq!(
            s.list().unwrap(),
            vec![format!("{b}.0"), format!("{b}.1"), c.clone()]
        );
        let mut d = s.draft().unwrap();
        d.write(b"dr").unwrap();
        d.write(b"aft").unwrap();
        assert_eq!(s.list().unwrap().len(), 3, "a draft is not an entry");
        let dk = d.commit().unwrap();
        assert_eq!(s.read(&dk).unwrap(), b"draft");
        let mut d = s.draft().unwrap();
        d.write(b"dropped").unwrap();
        drop(d);
        assert_eq!(s.list().unwrap().len(), 4);
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            5,
            "entries and the lock only"
        );
        let t = Spool::key_time(&format!("{b}.0")).unwrap();
        assert!(t.elapsed().unwrap() < std::time::Duration::from_secs(60));
        assert!(!dir.join("junk.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_holder_at_a_time() {
        let dir = std::env::temp_dir().join(format!("spool-lock-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let s = Spool::open(&dir).unwrap();
        let again = s.clone();
        let err = Spool::open(&dir).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(err.to_string().contains("is in use by another process"));
        drop(s);
        // A clone still holds it.
        assert!(Spool::open(&dir).is_err());
        drop(again);
        let s = Spool::open(&dir).unwrap();
        assert!(
            s.list().unwrap().is_empty(),
            "the lock file is not an entry"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
