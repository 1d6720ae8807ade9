//! Finding state: what each file held at its last scan, so that a watching
//! pipeline reports every finding once.
//!
//! A watcher reports a file on every save, touch or restart; without state
//! a scanner repeats every finding the file holds each time. This module
//! remembers, per file, its content hash and the findings in it, and turns
//! a rescan into a difference:
//!
//! * unchanged content: the caller can skip the scan ([`FindingState::known_sha256`]);
//! * changed content: only findings that were not there before are new
//!   ([`FileScan::observe`] marks them `"status":"new"`);
//! * findings no longer there, or in a file deleted or moved away, come back
//!   as `"status":"resolved"` records ([`FindingState::finish`],
//!   [`FindingState::forget`]).
//!
//! A finding is known by its detector, a keyed hash of its text (HMAC-SHA256
//! with a random key kept beside the state, mode 0600, so the state never
//! holds finding text, and a short SSN cannot be found again by hashing every
//! candidate) and its occurrence number among equal findings in the file, a
//! position that survives lines added above it.
//!
//! The state file is NDJSON (a header line, then one line per file with
//! findings), written atomically: temporary file, fsync, rename, fsync of the
//! directory. Only files holding findings are kept, and at most
//! `max_files` of them (the least recently seen are forgotten first), so the
//! state stays small. Deleting the state file and its key starts over.
//!
//! One process at a time: `STATE.lock` holds the owner's pid while the
//! state is open, and a second opener is refused (a lock left by a process
//! that no longer runs is taken over).

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use dlp_record::{path_field, path_from_field, Confidence, Finding, FindingStatus, Range};

mod files;
use files::{load_or_create_key, lock, suffixed, Lock};

const VERSION: u32 = 1;
/// Hex digits kept of each keyed hash (128 bits).
const ID_HEX: usize = 32;

/// Files with findings remembered by default.
pub const DEFAULT_MAX_FILES: usize = 100_000;

#[derive(Serialize, Deserialize)]
struct Header {
    dlp_finding_state: u32,
    /// HMAC of a fixed string: tells a state from a key it was not made with.
    key_check: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Known {
    /// Keyed hash of archive path, detector and finding text.
    id: String,
    /// Occurrence of this id in the file (0 = first).
    n: u32,
    detector: String,
    confidence: Confidence,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    archive_path: String,
    /// Line of the finding when last seen (for resolved records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    /// Byte range of the finding when last seen (for resolved records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bytes: Option<Range>,
    /// When this occurrence was first reported (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_seen: Option<String>,
}

impl Known {
    /// The finding's key in records (`Finding::finding_id`): the keyed
    /// hash and the occurrence number.
    fn finding_id(&self) -> String {
        format!("{}.{}", self.id, self.n)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path_b64: Option<String>,
    sha256: String,
    /// Unix seconds of the last scan.
    seen: u64,
    findings: Vec<Known>,
}

/// The findings of every scanned file, as of its last scan.
pub struct FindingState {
    path: PathBuf,
    key: [u8; 32],
    files: HashMap<PathBuf, Entry>,
    max_files: usize,
    dirty: bool,
    _lock: Lock,
}

/// Where the key of the state at `state` is kept: `STATE.key`.
pub fn key_path(state: &Path) -> PathBuf {
    suffixed(state, ".key")
}

/// True when the file at `path` is empty or begins with a finding state's
/// header line (of any version): what `--reset-state` may remove.
fn is_state_file(path: &Path) -> anyhow::Result<bool> {
    let f = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut first = Vec::new();
    // A header is short: a longer first line is not one.
    BufReader::new(f.take(4096))
        .read_until(b'\n', &mut first)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(first.is_empty() || serde_json::from_slice::<Header>(first.trim_ascii_end()).is_ok())
}

fn tmp_path(state: &Path) -> PathBuf {
    suffixed(state, ".tmp")
}

fn mac(key: &[u8; 32], parts: &[&[u8]]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        m.update(&(p.len() as u64).to_le_bytes());
        m.update(p);
    }
    let mut h = dlp_record::hash::hex(&m.finalize().into_bytes());
    h.truncate(ID_HEX);
    h
}

impl FindingState {
    /// Opens the state at `path`, or starts an empty one. Fails at once,
    /// naming the path, when its directory is missing or not writable, when
    /// the key is missing for an existing state, readable by others, or not
    /// the one the state was written with.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with(path, DEFAULT_MAX_FILES)
    }

    /// [`open`](Self::open) with a cap on the files remembered.
    pub fn open_with(path: &Path, max_files: usize) -> anyhow::Result<Self> {
        Self::open_inner(path, max_files, false)
    }

    /// [`open`](Self::open), but starting over from an empty state: once the
    /// state is locked (so a state another process has open is never
    /// touched), the state file and its key are removed. A state file that
    /// is not a finding state (its first line is not one's header) and a
    /// directory in place of either file are refused, and nothing is
    /// removed.
    pub fn open_reset(path: &Path) -> anyhow::Result<Self> {
        Self::open_inner(path, DEFAULT_MAX_FILES, true)
    }

    fn open_inner(path: &Path, max_files: usize, reset: bool) -> anyhow::Result<Self> {
        let shown = path.display();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            bail!(
                "state file {shown}: directory {} does not exist (create it first)",
                dir.display()
            );
        }
        // Writable? Creating the temporary file is what saving will do.
        let tmp = tmp_path(path);
        File::create(&tmp)
            .and_then(|_| fs::remove_file(&tmp))
            .with_context(|| {
                format!(
                    "state file {shown}: cannot write in directory {}",
                    dir.display()
                )
            })?;
        let lock = lock(path).with_context(|| format!("state file {shown}"))?;
        if reset {
            files::remove_state(path, &key_path(path)).context("--reset-state")?;
        }
        let exists = path.exists();
        let key = load_or_create_key(&key_path(path), exists)
            .with_context(|| format!("state file {shown}"))?;
        let mut st = FindingState {
            path: path.to_path_buf(),
            key,
            files: HashMap::new(),
            max_files: max_files.max(1),
            dirty: false,
            _lock: lock,
        };
        if exists {
            st.load()
                .with_context(|| format!("reading state file {shown}"))?;
        }
        Ok(st)
    }

    fn key_check(&self) -> String {
        mac(&self.key, &[b"dlp-pipes finding state key check"])
    }

    fn load(&mut self) -> anyhow::Result<()> {
        let f = File::open(&self.path)?;
        let mut lines = BufReader::new(f).lines();
        let Some(first) = lines.next().transpose()? else {
            return Ok(()); // empty: as new
        };
        let head: Header = serde_json::from_str(&first)
            .ok()
            .filter(|h: &Header| h.dlp_finding_state == VERSION)
            .context(
                "not a finding state (version 1) file; delete it and its .key to start over",
            )?;
        if head.key_check != self.key_check() {
            bail!(
                "written with another key than {}; delete both files to start over",
                key_path(&self.path).display()
            );
        }
        for (i, line) in lines.enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let e: Entry = serde_json::from_str(&line)
                .with_context(|| format!("line {}: malformed entry", i + 2))?;
            let p = path_from_field(&e.path, e.path_b64.as_deref());
            self.files.insert(p, e);
        }
        Ok(())
    }

    /// The path of the state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of files remembered (those that held findings).
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when no file is remembered.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// True when there are changes not yet saved.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The content hash `file` had at its last scan, if it held findings.
    /// A scan of content with this hash would report nothing new.
    pub fn known_sha256(&self, file: &Path) -> Option<&str> {
        self.files.get(file).map(|e| e.sha256.as_str())
    }

    /// Starts a scan of `file`: feed each of its findings, in file order,
    /// to [`FileScan::observe`], then hand the scan to [`finish`](Self::finish).
    pub fn begin(&self, file: &Path) -> FileScan {
        let old = self
            .files
            .get(file)
            .map(|e| {
                e.findings
                    .iter()
                    .map(|k| ((k.id.clone(), k.n), k.first_seen.clone()))
                    .collect()
            })
            .unwrap_or_default();
        FileScan {
            path: file.to_path_buf(),
            key: self.key,
            old,
            counts: HashMap::new(),
            seen: Vec::new(),
        }
    }

    /// Ends a complete scan of content hashed `sha256`: remembers what the
    /// file holds now and returns a `resolved` record for each finding
    /// that was there before and is not any more. A scan that did not
    /// complete (unreadable file) must not be finished: drop it instead.
    pub fn finish(&mut self, scan: FileScan, sha256: &str) -> Vec<Finding> {
        let now: HashSet<(String, u32)> = scan.seen.iter().map(|k| (k.id.clone(), k.n)).collect();
        let old = self.files.remove(&scan.path);
        let resolved = match &old {
            Some(e) => e
                .findings
                .iter()
                .filter(|k| !now.contains(&(k.id.clone(), k.n)))
                .map(|k| resolved_record(&scan.path, k, &e.sha256))
                .collect(),
            None => Vec::new(),
        };
        let changed = match &old {
            Some(e) => e.sha256 != sha256 || e.findings != scan.seen,
            None => !scan.seen.is_empty(),
        };
        if !scan.seen.is_empty() {
            let (path, path_b64) = path_field(&scan.path);
            self.files.insert(
                scan.path,
                Entry {
                    path,
                    path_b64,
                    sha256: sha256.to_owned(),
                    seen: dlp_record::time::unix_now(),
                    findings: scan.seen,
                },
            );
        }
        self.dirty |= changed;
        resolved
    }

    /// `file` was deleted or moved away: a `resolved` record for each
    /// finding it held, and it is forgotten.
    pub fn forget(&mut self, file: &Path) -> Vec<Finding> {
        match self.files.remove(file) {
            Some(e) => {
                self.dirty = true;
                e.findings
                    .iter()
                    .map(|k| resolved_record(file, k, &e.sha256))
                    .collect()
            }
            None => Vec::new(),
        }
    }

    /// A directory was deleted or moved away: [`forget`](Self::forget)
    /// every file under it, in path order.
    pub fn forget_under(&mut self, dir: &Path) -> Vec<Finding> {
        let mut under: Vec<PathBuf> = self
            .files
            .keys()
            .filter(|p| p.starts_with(dir) && p.as_path() != dir)
            .cloned()
            .collect();
        under.sort();
        under.iter().flat_map(|p| self.forget(p)).collect()
    }

    /// Files remembered that no longer exist (deleted while nothing was
    /// watching): `resolved` records for their findings, in path order.
    pub fn sweep_missing(&mut self) -> Vec<Finding> {
        let mut gone: Vec<PathBuf> = self
            .files
            .keys()
            .filter(|p| matches!(fs::symlink_metadata(p), Err(e) if e.kind() == io::ErrorKind::NotFound))
            .cloned()
            .collect();
        gone.sort();
        gone.iter().flat_map(|p| self.forget(p)).collect()
    }

    /// Drops the least recently seen files beyond the cap.
    fn compact(&mut self) {
        if self.files.len() <= self.max_files {
            return;
        }
        let mut by_age: Vec<(u64, PathBuf)> = self
            .files
            .iter()
            .map(|(p, e)| (e.seen, p.clone()))
            .collect();
        by_age.sort();
        let excess = self.files.len() - self.max_files;
        for (_, p) in by_age.into_iter().take(excess) {
            self.files.remove(&p);
        }
    }

    /// Writes the state when it changed since the last save (atomically,
    /// mode 0600), after dropping what is beyond the cap.
    pub fn save(&mut self) -> anyhow::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.compact();
        let tmp = tmp_path(&self.path);
        let write = || -> io::Result<()> {
            let f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            let mut w = BufWriter::new(f);
            let head = Header {
                dlp_finding_state: VERSION,
                key_check: self.key_check(),
            };
            serde_json::to_writer(&mut w, &head)?;
            w.write_all(b"\n")?;
            let mut paths: Vec<&PathBuf> = self.files.keys().collect();
            paths.sort();
            for p in paths {
                serde_json::to_writer(&mut w, &self.files[p])?;
                w.write_all(b"\n")?;
            }
            let f = w.into_inner().map_err(io::IntoInnerError::into_error)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &self.path)?;
            if let Some(d) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(d)?.sync_all()?;
            }
            Ok(())
        };
        write().with_context(|| format!("saving state file {}", self.path.display()))?;
        self.dirty = false;
        Ok(())
    }
}

/// One file's scan in progress (see [`FindingState::begin`]).
pub struct FileScan {
    path: PathBuf,
    key: [u8; 32],
    /// What the file held at its last scan, with when each was first seen.
    old: HashMap<(String, u32), Option<String>>,
    counts: HashMap<String, u32>,
    seen: Vec<Known>,
}

impl FileScan {
    /// Records `f` (the file's findings must come in file order) and sets
    /// its `finding_id`. Returns true, and sets `status` to `new` and
    /// `first_seen`, when the file did not hold this finding at its last
    /// scan; false when it is already known.
    pub fn observe(&mut self, f: &mut Finding) -> bool {
        let id = mac(
            &self.key,
            &[
                f.archive_path.as_bytes(),
                f.detector.as_bytes(),
                f.finding.as_bytes(),
            ],
        );
        let n = self.counts.entry(id.clone()).or_insert(0);
        let occurrence = *n;
        *n += 1;
        let known = self.old.get(&(id.clone(), occurrence));
        let is_new = known.is_none();
        let first_seen = match known {
            Some(Some(t)) => Some(t.clone()),
            // Known from a state written before first_seen was kept.
            Some(None) => None,
            None => Some(f.timestamp.clone()).filter(|t| !t.is_empty()),
        };
        let k = Known {
            id,
            n: occurrence,
            detector: f.detector.clone(),
            confidence: f.confidence,
            archive_path: f.archive_path.clone(),
            line: f.line_range.map(|r| r.start),
            bytes: Some(f.byte_range),
            first_seen,
        };
        f.finding_id = Some(k.finding_id());
        if is_new {
            f.status = Some(FindingStatus::New);
            f.first_seen.clone_from(&k.first_seen);
        }
        self.seen.push(k);
        is_new
    }
}

/// The record saying `k` is gone from `file`, whose content it was last
/// seen in is `sha256`: its key, detector, confidence and where it was
/// (line, byte range, container path), never its text.
fn resolved_record(file: &Path, k: &Known, sha256: &str) -> Finding {
    let (path, path_b64) = path_field(file);
    Finding {
        path,
        path_b64,
        timestamp: dlp_record::time::now_rfc3339(),
        byte_range: k.bytes.unwrap_or_default(),
        line_range: k.line.map(|l| Range { start: l, end: l }),
        // The state is kept where the files are: this machine.
        host: dlp_record::host::this().map(str::to_owned),
        archive_path: k.archive_path.clone(),
        sha256: Some(sha256.to_owned()).filter(|s| !s.is_empty()),
        status: Some(FindingStatus::Resolved),
        finding_id: Some(k.finding_id()),
        first_seen: k.first_seen.clone(),
        ..Finding::new(k.detector.clone(), k.confidence, "")
    }
}

#[cfg(test)]
mod tests;
