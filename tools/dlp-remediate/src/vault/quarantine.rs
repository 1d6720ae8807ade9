//! Moving a file into the vault.
//!
//! On the same file system the file is renamed, from its directory's
//! descriptor, into `ID.tmp/data` (the manifest is written first, so an
//! interrupted entry with data is complete); the entry's inode must be the
//! one that was opened and hashed, and its content (hashed again through
//! the descriptor) the one scanned, or it is put back where it was. Across
//! file systems the bytes are copied from the open descriptor to
//! `ID.tmp/data.part`, fsynced, read back and compared by SHA-256, renamed
//! to `data`, the entry committed (`ID.tmp` renamed to `ID`, fsynced), and
//! only then is the original removed, exactly that inode
//! ([`crate::target::remove_exact`]'s private directory), unless it was
//! written to meanwhile. An entry found committed while its original still
//! exists with the same content and inode (a crash between commit and
//! removal) is completed by the next run.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{bail, Context};
use dlp_record::path_field;
use dlp_record::Confidence;

use super::{note_path, pause_at, DetectorCount, Manifest, Vault};
use crate::safefs::{Dir, Taken};
use crate::target::{remove_exact, remove_stage, stage_name, Removed, Target};

/// What the caller knows about the file to quarantine.
pub struct Request {
    /// The content the findings are about (hashed through the open file);
    /// a different content is not moved.
    pub sha256: String,
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

const DATA: &str = "data";

fn replaced(t: &Target, back: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: replaced by another file while it was being moved (that file was left at {}); nothing quarantined",
        t.path.display(),
        back.display()
    )
}

impl Vault {
    /// Moves the opened file `t` into the vault (see the module docs).
    pub fn quarantine(&self, t: &mut Target, req: &Request) -> anyhow::Result<Outcome> {
        let _lock = self.lock()?;
        if let Some(m) = self.resumable(t, &req.sha256)? {
            return match remove_exact(&t.dir, &t.name, t.id, &m.id)? {
                Removed::Yes | Removed::Gone => Ok(Outcome::Resumed(m)),
                Removed::Other(back) => Err(replaced(t, &back)),
            };
        }
        let id = super::new_id(&t.path);
        let tmp_name = OsString::from(format!("{id}.tmp"));
        let tmp = self.dir.private_subdir(&tmp_name)?;
        let mut m = manifest_of(&id, t, req);
        write_manifest(&tmp, &m)?;
        match t.dir.rename(&t.name, &tmp, OsStr::new(DATA), true) {
            Ok(()) => {
                tmp.sync()?;
                pause_at("after_rename");
                if let Some(changed) = self.check_moved(t, &tmp, &tmp_name, req)? {
                    return Ok(changed);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                m.method = "copy".into();
                let part = OsStr::new("data.part");
                let read = copy_verified(&mut t.file, &tmp, part)?;
                if read != req.sha256 {
                    self.remove_tree(&tmp_name)?;
                    return Ok(Outcome::Changed(read));
                }
                tmp.rename(part, &tmp, OsStr::new(DATA), false)?;
                write_manifest(&tmp, &m)?;
                tmp.sync()?;
                pause_at("before_commit");
            }
            Err(e) => {
                let _ = self.remove_tree(&tmp_name);
                return Err(anyhow::Error::new(e).context("moving the file into the vault"));
            }
        }
        if req.leave_note {
            m.note = Some(path_field(&note_path(&t.path)).0);
        }
        write_manifest(&tmp, &m)?; // with the note
        self.dir
            .rename(&tmp_name, &self.dir, OsStr::new(&id), true)?;
        self.dir.sync()?;
        pause_at("before_unlink");
        if m.method == "copy" {
            if let Some(changed) = self.remove_copied(t, &m)? {
                return Ok(changed);
            }
        }
        if req.leave_note {
            if let Err(e) = leave_note(t, &m, self.dir()) {
                // The file is safe in the vault; only the courtesy note is missing.
                eprintln!("dlp-remediate: {}: no note left: {e:#}", t.path.display());
                m.note = None;
            }
        }
        Ok(Outcome::Quarantined(m))
    }

    /// A committed copy of this very file (same path, content, device and
    /// inode) whose original a crash left in place.
    fn resumable(&self, t: &Target, sha256: &str) -> anyhow::Result<Option<Manifest>> {
        Ok(self.list()?.into_iter().rev().find(|m| {
            m.original() == t.path
                && m.sha256 == sha256
                && m.method == "copy"
                && m.dev.is_none_or(|d| d == t.id.dev)
                && m.ino.is_none_or(|i| i == t.id.ino)
        }))
    }

    /// After the rename: the entry moved must be the file opened, with the
    /// content scanned; otherwise it goes back and the tmp entry goes.
    fn check_moved(
        &self,
        t: &mut Target,
        tmp: &Dir,
        tmp_name: &OsStr,
        req: &Request,
    ) -> anyhow::Result<Option<Outcome>> {
        let data = OsStr::new(DATA);
        let moved = tmp.entry(data)?.map(|e| e.id);
        if moved == Some(t.id) {
            let have = t.sha256()?;
            if have == req.sha256 {
                return Ok(None);
            }
            // Written to between the check and the rename: back in place.
            tmp.put_back(data, &t.dir, &t.name)?;
            self.remove_tree(tmp_name)?;
            return Ok(Some(Outcome::Changed(have)));
        }
        let back = tmp
            .put_back(data, &t.dir, &t.name)
            .context("putting back a file that was not the one scanned")?;
        self.remove_tree(tmp_name)?;
        Err(replaced(t, &back))
    }

    /// Across file systems, after the commit: removes the original, exactly
    /// the file copied and only if it was not written to meanwhile.
    fn remove_copied(&self, t: &mut Target, m: &Manifest) -> anyhow::Result<Option<Outcome>> {
        let stage_name = stage_name(&m.id);
        let stage = t.dir.private_subdir(&stage_name)?;
        let f = OsStr::new("f");
        let r = (|| match t.dir.take(&t.name, t.id, &stage, f)? {
            Taken::Yes if t.changed()? => {
                // Written to while it was copied: the new content stays.
                stage.put_back(f, &t.dir, &t.name)?;
                self.remove_entry(&m.id)?;
                Ok(Some(Outcome::Changed(t.sha256()?)))
            }
            Taken::Yes => {
                pause_at("after_take");
                stage.unlink(f)?;
                Ok(None)
            }
            Taken::NotThere => Ok(None),
            Taken::Other(back) => {
                self.remove_entry(&m.id)?;
                Err(replaced(t, &back))
            }
        })();
        remove_stage(&t.dir, &stage_name, &stage);
        t.dir.sync()?;
        r
    }
}

pub(super) const NOTE_HEAD: &str = "dlp-remediate:";

/// Leaves `FILE.quarantined`, a new file (never an existing one, never
/// through a link) in the file's directory, given to the file's owner.
fn leave_note(t: &Target, m: &Manifest, vault: &Path) -> anyhow::Result<()> {
    let detectors: Vec<&str> = m.detectors.iter().map(|d| d.detector.as_str()).collect();
    let text = format!(
        "{NOTE_HEAD} {} was moved to quarantine at {}\n\
         because it appears to hold: {} ({}).\n\
         Quarantine id: {}\n\
         To get it back, ask your administrator to run:\n  dlp-remediate --quarantine {} restore {}\n",
        t.name.to_string_lossy(),
        m.quarantined_at,
        detectors.join(", "),
        m.confidence.as_str(),
        m.id,
        vault.display(),
        m.id
    );
    let mut name = t.name.clone();
    name.push(".quarantined");
    let mut f = t
        .dir
        .create_file(&name, 0o644)
        .context("leaving the note")?;
    f.write_all(text.as_bytes())?;
    super::restore::chown(&f, m.uid, m.gid, &super::shown(&t.dir, &name))?;
    f.sync_all()?;
    Ok(())
}

fn manifest_of(id: &str, t: &Target, req: &Request) -> Manifest {
    let meta = &t.meta;
    let (original_path, original_path_b64) = path_field(&t.path);
    let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
    let rfc3339 = |s: i64, n: i64| dlp_record::time::format_rfc3339(super::system_time(ns(s, n)));
    Manifest {
        id: id.to_owned(),
        original_path,
        original_path_b64,
        sha256: req.sha256.clone(),
        size: meta.len(),
        uid: meta.uid(),
        gid: meta.gid(),
        mode: format!("{:04o}", meta.mode() & 0o7777),
        atime: rfc3339(meta.atime(), meta.atime_nsec()),
        mtime: rfc3339(meta.mtime(), meta.mtime_nsec()),
        ctime: rfc3339(meta.ctime(), meta.ctime_nsec()),
        atime_ns: ns(meta.atime(), meta.atime_nsec()),
        mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
        dev: Some(t.id.dev),
        ino: Some(t.id.ino),
        detectors: req.detectors.clone(),
        confidence: req.confidence,
        findings: req.findings,
        quarantined_at: dlp_record::time::now_rfc3339(),
        method: "rename".into(),
        note: None,
    }
}

/// Writes `manifest.json` in the entry directory `dir` (a new temporary
/// file, fsynced, renamed over the previous one).
pub(super) fn write_manifest(dir: &Dir, m: &Manifest) -> anyhow::Result<()> {
    let part = OsStr::new("manifest.json.part");
    match dir.unlink(part) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    dir.write_new(part, 0o600, &m.to_bytes())?;
    dir.rename(part, dir, OsStr::new("manifest.json"), false)?;
    Ok(())
}

/// Copies `src` (from its start) to the new file `dir/name` (mode 0600),
/// fsyncs it, reads it back and checks it against what was read. Returns
/// the SHA-256 of the bytes.
pub(super) fn copy_verified(src: &mut File, dir: &Dir, name: &OsStr) -> anyhow::Result<String> {
    src.seek(SeekFrom::Start(0))?;
    let mut out = dir.create_file(name, 0o600)?;
    let read = dlp_record::hash::sha256_reader(Tee {
        from: src,
        to: &mut out,
    })?;
    out.sync_all()?;
    out.seek(SeekFrom::Start(0))?;
    let back = dlp_record::hash::sha256_reader(&mut out)?;
    if back != read {
        bail!(
            "verification failed: the copy at {} differs from the original",
            super::shown(dir, name).display()
        );
    }
    Ok(read)
}

/// A reader that writes what it reads to `to`.
struct Tee<'a> {
    from: &'a mut File,
    to: &'a mut File,
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.from.read(buf)?;
        self.to.write_all(&buf[..n])?;
        Ok(n)
    }
}
