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
//! The file is never in no place: on the same file system it is renamed
//! into `ID.tmp/data` (the manifest is written first, so an interrupted
//! entry with data is complete and is committed on the next open); across
//! file systems it is copied to `ID.tmp/data.part`, fsynced, read back and
//! compared by SHA-256, renamed to `data`, the entry committed and fsynced,
//! and only then is the original unlinked. An entry found committed while
//! its original still exists with the same content (a crash between commit
//! and unlink) is completed by the next run.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use dlp_core::hash::{hex, sha256_file};
use dlp_core::records::{path_field, path_from_field};
use dlp_core::Confidence;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    /// The original path, exact bytes.
    pub fn original(&self) -> PathBuf {
        path_from_field(&self.original_path, self.original_path_b64.as_deref())
    }
}

/// What the caller knows about the file to quarantine.
pub struct Request<'a> {
    pub path: &'a Path,
    /// The content the findings are about; a different content is not moved.
    pub sha256: &'a str,
    pub detectors: Vec<DetectorCount>,
    pub confidence: Confidence,
    pub findings: u64,
    pub leave_note: bool,
}

/// How a quarantine ended.
pub enum Outcome {
    Quarantined(Manifest),
    /// A quarantine interrupted after the copy was committed was completed.
    Resumed(Manifest),
    /// The file's content is not the one scanned; it was left in place.
    Changed(String),
}

/// An open vault directory.
pub struct Vault {
    dir: PathBuf,
}

impl Vault {
    /// Opens the vault, creating it (mode 0700) when `create`, and finishes
    /// or discards entries an interrupted run left half-written.
    pub fn open(dir: &Path, create: bool) -> anyhow::Result<Vault> {
        if create {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("creating vault {}", dir.display()))?;
        }
        let meta = fs::symlink_metadata(dir).with_context(|| format!("vault {}", dir.display()))?;
        if !meta.is_dir() {
            bail!("vault {} is not a directory", dir.display());
        }
        if meta.mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making vault {} private (mode 0700)", dir.display()))?;
        }
        let v = Vault {
            dir: std::path::absolute(dir)?,
        };
        let _lock = v.lock()?;
        v.recover()?;
        Ok(v)
    }

    /// The vault directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> anyhow::Result<File> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(self.dir.join(".lock"))
            .with_context(|| format!("opening {}/.lock", self.dir.display()))?;
        f.lock().context("locking the vault")?;
        Ok(f)
    }

    fn recover(&self) -> anyhow::Result<()> {
        for e in fs::read_dir(&self.dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".tmp") {
                let p = e.path();
                if p.join("manifest.json").is_file() && p.join("data").is_file() {
                    fs::rename(&p, self.dir.join(id))?;
                    eprintln!(
                        "dlp-remediate: vault: committed entry {id} left by an interrupted run"
                    );
                } else {
                    fs::remove_dir_all(&p)?;
                }
            } else if name.ends_with(".del") {
                fs::remove_dir_all(e.path())?;
            }
        }
        sync_dir(&self.dir)
    }

    /// Every entry's manifest, oldest first.
    pub fn list(&self) -> anyhow::Result<Vec<Manifest>> {
        let mut v = Vec::new();
        for e in fs::read_dir(&self.dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.contains('.') || !e.file_type()?.is_dir() {
                continue;
            }
            match self.manifest(&name) {
                Ok(m) => v.push(m),
                Err(e) => eprintln!("dlp-remediate: vault: {e:#} (entry skipped)"),
            }
        }
        v.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(v)
    }

    /// The latest committed entry for this original path and (when given)
    /// content, if any.
    pub fn find(&self, path: &Path, sha256: Option<&str>) -> anyhow::Result<Option<Manifest>> {
        let _lock = self.lock()?;
        let abs = std::path::absolute(path)?;
        Ok(self
            .list()?
            .into_iter()
            .rev()
            .find(|m| m.original() == abs && sha256.is_none_or(|s| m.sha256 == s)))
    }

    fn manifest(&self, id: &str) -> anyhow::Result<Manifest> {
        let p = self.dir.join(id).join("manifest.json");
        let text = fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", p.display()))
    }

    /// Moves `req.path` into the vault (see the module docs).
    pub fn quarantine(&self, req: &Request<'_>) -> anyhow::Result<Outcome> {
        let _lock = self.lock()?;
        let abs = std::path::absolute(req.path)?;
        if let Some(m) = self
            .list()?
            .into_iter()
            .find(|m| m.original() == abs && m.sha256 == req.sha256)
        {
            // Committed by a run that died before the unlink.
            let have = sha256_file(&self.dir.join(&m.id).join("data"))?;
            if have != m.sha256 {
                bail!("vault entry {} does not match its manifest", m.id);
            }
            remove_original(req.path)?;
            return Ok(Outcome::Resumed(m));
        }
        let before = fs::symlink_metadata(req.path)?;
        if !before.is_file() {
            bail!("not a regular file");
        }
        let id = new_id(req.path);
        let tmp = self.dir.join(format!("{id}.tmp"));
        fs::DirBuilder::new().mode(0o700).create(&tmp)?;
        let mut m = manifest_of(&id, req, &before);
        write_manifest(&tmp, &m)?;
        let data = tmp.join("data");
        match fs::rename(req.path, &data) {
            Ok(()) => {
                sync_dir(&tmp)?;
                pause_at("after_rename");
                let have = sha256_file(&data)?;
                if have != req.sha256 && fs::hard_link(&data, req.path).is_ok() {
                    // Changed between the check and the rename: put it back.
                    fs::remove_dir_all(&tmp)?;
                    return Ok(Outcome::Changed(have));
                }
                m.sha256 = have;
            }
            Err(e) if e.raw_os_error() == Some(18) => {
                // EXDEV: another file system.
                m.method = "copy".into();
                let part = tmp.join("data.part");
                let read = copy_verified(req.path, &part)?;
                if read != req.sha256 {
                    fs::remove_dir_all(&tmp)?;
                    return Ok(Outcome::Changed(read));
                }
                fs::rename(&part, &data)?;
                write_manifest(&tmp, &m)?;
                sync_dir(&tmp)?;
                pause_at("before_commit");
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                return Err(anyhow::Error::new(e).context("moving the file into the vault"));
            }
        }
        if req.leave_note {
            m.note = Some(path_field(&note_path(&m.original())).0);
        }
        write_manifest(&tmp, &m)?; // with the hash of the bytes kept, and the note
        fs::rename(&tmp, self.dir.join(&id))?;
        sync_dir(&self.dir)?;
        pause_at("before_unlink");
        if m.method == "copy" {
            let now = fs::symlink_metadata(req.path)?;
            if (now.ino(), now.len(), now.mtime(), now.mtime_nsec())
                != (
                    before.ino(),
                    before.len(),
                    before.mtime(),
                    before.mtime_nsec(),
                )
            {
                // Written to while it was copied: keep the new content in place.
                self.remove_entry(&id)?;
                return Ok(Outcome::Changed(sha256_file(req.path)?));
            }
            remove_original(req.path)?;
        }
        if req.leave_note {
            if let Err(e) = leave_note(req.path, &m, &self.dir) {
                // The file is safe in the vault; only the courtesy note is missing.
                eprintln!("dlp-remediate: {}: no note left: {e:#}", req.path.display());
                m.note = None;
            }
        }
        Ok(Outcome::Quarantined(m))
    }

    /// Puts entry `id` back at its original path (or `to`), byte for byte,
    /// with its owner, mode and times, and removes it from the vault.
    pub fn restore(&self, id: &str, to: Option<&Path>) -> anyhow::Result<(Manifest, PathBuf)> {
        if id.is_empty() || id.contains(['/', '.']) {
            bail!("no vault entry {id:?}");
        }
        let _lock = self.lock()?;
        if !self.dir.join(id).is_dir() {
            bail!(
                "no vault entry {id:?} in {} (see `dlp-remediate list`)",
                self.dir.display()
            );
        }
        let m = self.manifest(id)?;
        let dest = to.map(Path::to_path_buf).unwrap_or_else(|| m.original());
        if fs::symlink_metadata(&dest).is_ok() {
            bail!(
                "{} exists; move it away or restore elsewhere with --to PATH",
                dest.display()
            );
        }
        let data = self.dir.join(id).join("data");
        if let Err(e) = fs::hard_link(&data, &dest) {
            if e.raw_os_error() != Some(18) {
                return Err(
                    anyhow::Error::new(e).context(format!("restoring to {}", dest.display()))
                );
            }
            let parent = dest.parent().unwrap_or(Path::new("."));
            let tmp = parent.join(format!(".{id}.dlp-restore"));
            let _ = fs::remove_file(&tmp);
            let got = copy_verified(&data, &tmp)?;
            if got != m.sha256 {
                let _ = fs::remove_file(&tmp);
                bail!("vault entry {id} does not match its manifest (sha256 {got})");
            }
            fs::hard_link(&tmp, &dest)
                .with_context(|| format!("restoring to {}", dest.display()))?;
            fs::remove_file(&tmp)?;
        }
        let got = sha256_file(&dest)?;
        if got != m.sha256 {
            bail!(
                "restored {} does not match the manifest (sha256 {got})",
                dest.display()
            );
        }
        set_metadata(&dest, &m)?;
        sync_dir(dest.parent().unwrap_or(Path::new(".")))?;
        if let Some(note) = &m.note {
            let note = Path::new(note);
            if fs::read_to_string(note).is_ok_and(|t| t.starts_with(NOTE_HEAD) && t.contains(id)) {
                fs::remove_file(note)?;
            }
        }
        self.remove_entry(id)?;
        Ok((m, dest))
    }

    fn remove_entry(&self, id: &str) -> anyhow::Result<()> {
        let del = self.dir.join(format!("{id}.del"));
        fs::rename(self.dir.join(id), &del)?;
        sync_dir(&self.dir)?;
        fs::remove_dir_all(&del)?;
        Ok(())
    }
}

/// Stops here when a fault-injection test build is told to (the test then
/// kills the process with SIGKILL); does nothing in normal builds.
fn pause_at(point: &str) {
    #[cfg(feature = "fault-injection")]
    if std::env::var("DLP_REMEDIATE_PAUSE_AT").is_ok_and(|p| p == point) {
        eprintln!("dlp-remediate: paused at {point}");
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let _ = point;
}

const NOTE_HEAD: &str = "dlp-remediate:";

/// `FILE.quarantined`.
pub fn note_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".quarantined");
    PathBuf::from(s)
}

fn leave_note(path: &Path, m: &Manifest, vault: &Path) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let detectors: Vec<&str> = m.detectors.iter().map(|d| d.detector.as_str()).collect();
    let text = format!(
        "{NOTE_HEAD} {name} was moved to quarantine at {}\n\
         because it appears to hold: {} ({}).\n\
         Quarantine id: {}\n\
         To get it back, ask your administrator to run:\n  dlp-remediate --quarantine {} restore {}\n",
        m.quarantined_at,
        detectors.join(", "),
        m.confidence.as_str(),
        m.id,
        vault.display(),
        m.id
    );
    let note = note_path(path);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&note)
        .with_context(|| format!("leaving the note {}", note.display()))?;
    f.write_all(text.as_bytes())?;
    let _ = std::os::unix::fs::chown(&note, Some(m.uid), Some(m.gid));
    Ok(())
}

fn manifest_of(id: &str, req: &Request<'_>, meta: &fs::Metadata) -> Manifest {
    let abs = std::path::absolute(req.path).unwrap_or_else(|_| req.path.to_path_buf());
    let (original_path, original_path_b64) = path_field(&abs);
    let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
    Manifest {
        id: id.to_owned(),
        original_path,
        original_path_b64,
        sha256: req.sha256.to_owned(),
        size: meta.len(),
        uid: meta.uid(),
        gid: meta.gid(),
        mode: format!("{:04o}", meta.mode() & 0o7777),
        atime: rfc3339(meta.atime(), meta.atime_nsec()),
        mtime: rfc3339(meta.mtime(), meta.mtime_nsec()),
        ctime: rfc3339(meta.ctime(), meta.ctime_nsec()),
        atime_ns: ns(meta.atime(), meta.atime_nsec()),
        mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
        detectors: req.detectors.clone(),
        confidence: req.confidence,
        findings: req.findings,
        quarantined_at: dlp_core::time::now_rfc3339(),
        method: "rename".into(),
        note: None,
    }
}

fn rfc3339(secs: i64, nsec: i64) -> String {
    dlp_core::time::format_rfc3339(system_time(
        secs.saturating_mul(1_000_000_000).saturating_add(nsec),
    ))
}

fn system_time(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

fn set_metadata(dest: &Path, m: &Manifest) -> anyhow::Result<()> {
    match std::os::unix::fs::chown(dest, Some(m.uid), Some(m.gid)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            eprintln!(
                "dlp-remediate: {}: owner not restored (uid {}, gid {}): {e}",
                dest.display(),
                m.uid,
                m.gid
            );
        }
        Err(e) => return Err(e.into()),
    }
    let mode = u32::from_str_radix(&m.mode, 8).context("mode in manifest")?;
    fs::set_permissions(dest, fs::Permissions::from_mode(mode))?;
    let times = fs::FileTimes::new()
        .set_accessed(system_time(m.atime_ns))
        .set_modified(system_time(m.mtime_ns));
    File::open(dest)?.set_times(times)?;
    Ok(())
}

fn write_manifest(dir: &Path, m: &Manifest) -> anyhow::Result<()> {
    let tmp = dir.join("manifest.json.part");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    serde_json::to_writer_pretty(&mut f, m)?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    fs::rename(&tmp, dir.join("manifest.json"))?;
    Ok(())
}

/// Copies `src` to a new file `dst` (mode 0600), fsyncs it, reads it back
/// and checks it against what was read. Returns the SHA-256 of the bytes.
fn copy_verified(src: &Path, dst: &Path) -> anyhow::Result<String> {
    let mut input = dlp_core::hash::open_regular(src)?;
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dst)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        h.update(&buf[..n]);
        out.write_all(&buf[..n])?;
    }
    out.sync_all()?;
    drop(out);
    let read = hex(&h.finalize());
    let back = sha256_file(dst)?;
    if back != read {
        bail!(
            "verification failed: the copy at {} differs from the original",
            dst.display()
        );
    }
    Ok(read)
}

fn remove_original(p: &Path) -> anyhow::Result<()> {
    fs::remove_file(p).with_context(|| format!("removing {}", p.display()))?;
    sync_dir(p.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(d: &Path) -> anyhow::Result<()> {
    let d = if d.as_os_str().is_empty() {
        Path::new(".")
    } else {
        d
    };
    File::open(d)?.sync_all()?;
    Ok(())
}

/// `20261127T174850Z-1a2b3c4d`: sortable by time, unique by a hash of the
/// path, the clock and the process.
fn new_id(path: &Path) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = dlp_core::time::now_rfc3339();
    let compact: String = t[..19].chars().filter(char::is_ascii_digit).collect();
    let mut h = Sha256::new();
    h.update(path.as_os_str().as_encoded_bytes());
    h.update(format!(
        "{t}{}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    format!(
        "{}T{}Z-{}",
        &compact[..8],
        &compact[8..],
        &hex(&h.finalize())[..8]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_are_safe_names() {
        let a = new_id(Path::new("/a"));
        let b = new_id(Path::new("/a"));
        assert_ne!(a, b);
        assert_eq!(a.len(), "20261127T174850Z-1a2b3c4d".len());
        assert!(!a.contains(['/', '.']));
    }

    #[test]
    fn note_path_appends_suffix() {
        assert_eq!(
            note_path(Path::new("/x/a.csv")),
            Path::new("/x/a.csv.quarantined")
        );
    }
}
