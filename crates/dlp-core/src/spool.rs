//! A durable on-disk queue: one file per entry, written atomically.
//!
//! An entry is written to a temporary name, fsynced, renamed into place
//! and the directory fsynced, so once [`Spool::put`] returns the entry
//! survives a crash or `kill -9`. Entries are named by a time-ordered key,
//! so [`Spool::list`] replays them in arrival order. Used by nf-webhook
//! (accepted webhooks) and webhook-post (records waiting for delivery).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

const SUFFIX: &str = ".entry";

impl Spool {
    /// Opens (creating with mode 0700) the spool directory; stale
    /// temporary files from an interrupted write are removed.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o700));
        }
        for e in fs::read_dir(&dir)? {
            let e = e?;
            if e.file_name().to_string_lossy().ends_with(".tmp") {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(Spool { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `data` durably and returns its key.
    pub fn put(&self, data: &[u8]) -> io::Result<String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let key = format!("{nanos:024}-{:010}-{n:08}", std::process::id());
        let tmp = self.dir.join(format!("{key}.tmp"));
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, self.path(&key))?;
        File::open(&self.dir)?.sync_all()?;
        Ok(key)
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
        let s = Spool::open(&dir).unwrap();
        assert_eq!(s.list().unwrap(), vec![a.clone(), b.clone()]);
        assert_eq!(s.read(&b).unwrap(), b"second");
        s.rewrite(&a, b"changed").unwrap();
        assert_eq!(s.read(&a).unwrap(), b"changed");
        s.remove(&a).unwrap();
        s.remove(&a).unwrap();
        assert_eq!(s.list().unwrap(), vec![b]);
        assert!(!dir.join("junk.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
