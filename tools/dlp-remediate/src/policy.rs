//! From a stream of findings to one decision per file.
//!
//! Only open findings count: a Finding without `status` (no finding state
//! kept) or with `"status":"new"`. `resolved` and `quarantined` records
//! describe findings that are gone from the file and never trigger an
//! action; a status this version does not know is not acted on either (one
//! note on stderr per such value), and the record still parses.
//!
//! Open findings that pass the thresholds (`--min-confidence`,
//! `--detector`) are gathered per file; a file is settled when the findings
//! move on to another file, when input pauses, or at end of input, and
//! acted on when it has at least `--min-findings` distinct findings
//! (detector and byte range, so a rescan of the same content does not count
//! twice). A file is acted on once per content: later findings about the
//! same content are absorbed.
//!
//! Content identity: the `sha256` a Finding carries (the content that was
//! scanned) or, when it has none, the file's hash when its first finding
//! arrives. Right before acting the file is opened ([`Target`]: no symlink
//! followed) and hashed through its descriptor; a file whose content
//! differs is skipped with reason "changed since scanned".

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::ControlFlow;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use dlp_record::{path_from_field, Range};
use dlp_record::{Action, ActionRecord, Confidence};
use dlp_runtime::Reject;
use serde::Deserialize;

use crate::passthru::Quarantines;
use crate::safefs::normalize;
use crate::target::{Removed, Target};
use crate::vault::{new_id, DetectorCount, Outcome, Request, Vault};
use crate::{notify, Config, Mode};

/// A phase of acting on a file: go on with `T`, or end with this record
/// (`None`: nothing to report).
type Step<T> = ControlFlow<Option<ActionRecord>, T>;

/// A Finding as this tool reads it: only the fields it uses, and the
/// lifecycle `status` as text, so that a value added to the record
/// contract later does not make the record unreadable.
#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    path: String,
    #[serde(default)]
    path_b64: Option<String>,
    detector: String,
    #[serde(default)]
    detector_uuid: String,
    confidence: Confidence,
    #[serde(default)]
    byte_range: Range,
    #[serde(default)]
    archive_path: String,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Default)]
struct Pending {
    scanned_sha: Option<String>,
    first_sha: Option<String>,
    seen: HashSet<(String, u64, u64, String)>,
    detectors: BTreeMap<String, (Confidence, u64)>,
}

/// The remediation state machine over a stream of Finding lines.
pub struct Remediator {
    cfg: Config,
    vault: Option<Vault>,
    pending: HashMap<PathBuf, Pending>,
    current: Option<PathBuf>,
    acted: HashMap<PathBuf, String>,
    quarantines: Quarantines,
    unknown_statuses: HashSet<String>,
    /// Some action failed (exit status 1).
    pub failed: bool,
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The path a vault knows a file by (absolute, normal).
fn key(path: &Path) -> PathBuf {
    normalize(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Remediator {
    pub fn new(cfg: Config, vault: Option<Vault>) -> Self {
        Remediator {
            cfg,
            vault,
            pending: HashMap::new(),
            current: None,
            acted: HashMap::new(),
            quarantines: Quarantines::default(),
            unknown_statuses: HashSet::new(),
            failed: false,
        }
    }

    /// Takes one input line; action records to write go to `out`. Returns
    /// the line to pass on in place of this one, when it is rewritten (a
    /// `resolved` finding of a file this tool quarantined, with
    /// `--pass-findings`).
    pub fn line(
        &mut self,
        line: &[u8],
        out: &mut Vec<ActionRecord>,
    ) -> Result<Option<Vec<u8>>, Reject> {
        let f: Input = serde_json::from_slice(line)
            .map_err(|e| Reject(format!("not a Finding record: {e}")))?;
        if f.path.is_empty() && f.path_b64.is_none() {
            return Err(Reject(
                "finding has no path (nf-upload puts it in requestMetadata)".into(),
            ));
        }
        let path = path_from_field(&f.path, f.path_b64.as_deref());
        match f.status.as_deref() {
            None | Some("new") => {}
            Some("resolved") if self.cfg.pass_findings => {
                let found =
                    self.quarantines
                        .lookup(&key(&path), f.sha256.as_deref(), self.vault.as_ref());
                return Ok(found.and_then(|id| crate::passthru::rewrite(line, id).ok()));
            }
            Some("resolved" | "quarantined") => return Ok(None),
            Some(other) => {
                if self.unknown_statuses.insert(other.to_owned()) {
                    eprintln!(
                        "dlp-remediate: findings with status {other:?} (not one this version knows) are never acted on"
                    );
                }
                return Ok(None);
            }
        }
        self.quarantines.forget(&key(&path));
        if self.current.as_ref() != Some(&path) {
            if let Some(prev) = self.current.take() {
                self.settle(&prev, out);
            }
            self.current = Some(path.clone());
        }
        let wanted = f.confidence >= self.cfg.min_confidence
            && (self.cfg.detectors.is_empty()
                || self
                    .cfg
                    .detectors
                    .iter()
                    .any(|d| *d == norm(&f.detector) || *d == norm(&f.detector_uuid)));
        if !wanted {
            return Ok(None);
        }
        if let Some(h) = self.acted.get(&path) {
            if f.sha256.as_ref().is_none_or(|s| s == h) {
                return Ok(None); // this content was acted on already
            }
            self.acted.remove(&path);
        }
        let p = self.pending.entry(path.clone()).or_default();
        if f.sha256.is_some() && p.scanned_sha.is_some() && f.sha256 != p.scanned_sha {
            *p = Pending::default(); // findings about newer content
        }
        if p.seen.is_empty() {
            p.scanned_sha = f.sha256.clone();
            if p.scanned_sha.is_none() {
                p.first_sha = Target::open(&path).and_then(|mut t| t.sha256()).ok();
            }
        }
        let k = (
            f.detector.clone(),
            f.byte_range.start,
            f.byte_range.end,
            f.archive_path,
        );
        if p.seen.insert(k) {
            let d = p.detectors.entry(f.detector).or_insert((f.confidence, 0));
            d.0 = d.0.max(f.confidence);
            d.1 += 1;
        }
        Ok(None)
    }

    /// Settles every file with pending findings (input paused).
    pub fn settle_all(&mut self, out: &mut Vec<ActionRecord>) {
        let paths: Vec<PathBuf> = self.pending.keys().cloned().collect();
        for p in paths {
            self.settle(&p, out);
        }
    }

    /// End of input: settle, and report files that stayed under --min-findings.
    pub fn finish(&mut self, out: &mut Vec<ActionRecord>) {
        self.settle_all(out);
        let mut rest: Vec<(PathBuf, Pending)> = self.pending.drain().collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, p) in rest {
            let mut r = self.record(Action::Skipped, &path, &p);
            r.reason = Some(format!(
                "{} finding(s), under --min-findings {}",
                p.seen.len(),
                self.cfg.min_findings
            ));
            out.push(r);
        }
    }

    fn settle(&mut self, path: &Path, out: &mut Vec<ActionRecord>) {
        let ready = self
            .pending
            .get(path)
            .is_some_and(|p| p.seen.len() >= self.cfg.min_findings.max(1));
        if ready {
            let p = self.pending.remove(path).unwrap_or_default();
            if let Some(r) = self.act(path, &p) {
                out.push(r);
            }
        }
    }

    fn record(&self, action: Action, path: &Path, p: &Pending) -> ActionRecord {
        let mut r = ActionRecord::new(action, path);
        r.detectors = p.detectors.keys().cloned().collect();
        r.confidence = p.detectors.values().map(|d| d.0).max();
        r.findings = Some(p.seen.len() as u64);
        r
    }

    /// Acts on a settled file: the record of what was done, or `None` when
    /// this content was acted on already.
    fn act(&mut self, path: &Path, p: &Pending) -> Option<ActionRecord> {
        match self.act_steps(path, p) {
            ControlFlow::Break(r) => r,
            ControlFlow::Continue(r) => Some(r),
        }
    }

    /// The phases of [`Self::act`]; each may end it early with its record.
    fn act_steps(&mut self, path: &Path, p: &Pending) -> Step<ActionRecord> {
        let primary = match self.cfg.mode {
            Mode::Quarantine => Action::Quarantined,
            Mode::Delete => Action::Deleted,
            Mode::NotifyOnly => Action::Notified,
        };
        let r = self.record(primary, path, p);
        let (mut r, mut target, current) = self.inspect(path, p, r)?;
        if self.acted.get(path) == Some(&current) {
            return ControlFlow::Break(None);
        }
        self.acted.insert(path.to_path_buf(), current.clone());
        if self.cfg.dry_run {
            r.dry_run = true;
            return ControlFlow::Break(Some(r));
        }
        let r = self.apply(path, p, r, &mut target, current)?;
        if !self.cfg.notify {
            return ControlFlow::Continue(r);
        }
        let owner = (target.meta.uid(), target.meta.gid());
        drop(target);
        self.notify_owner(primary, path, owner, r)
    }

    /// Opens the file before acting: not inside the vault, still there (or
    /// already in the vault), a regular file with one name, reached without
    /// a symlink, and the content that was scanned. Continues with it open
    /// and its current hash.
    fn inspect(
        &mut self,
        path: &Path,
        p: &Pending,
        mut r: ActionRecord,
    ) -> Step<(ActionRecord, Target, String)> {
        let reference = p.scanned_sha.clone().or_else(|| p.first_sha.clone());
        let skip = |mut r: ActionRecord, why: &str| {
            r.action = Action::Skipped;
            r.reason = Some(why.into());
            ControlFlow::Break(Some(r))
        };
        if let Some(v) = &self.vault {
            if key(path).starts_with(v.dir()) {
                return skip(r, "inside the quarantine vault");
            }
        }
        let mut t = match Target::open(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Gone: perhaps quarantined by a run that was killed.
                if let Some(v) = &self.vault {
                    if let Ok(Some(m)) = v.find(&key(path), reference.as_deref()) {
                        v.tidy(&m);
                        self.acted.insert(path.to_path_buf(), m.sha256.clone());
                        self.quarantines.add(key(path), &m.id, &m.sha256);
                        r.id = Some(m.id);
                        r.sha256 = Some(m.sha256);
                        r.reason = Some("already in the vault".into());
                        return ControlFlow::Break(Some(r));
                    }
                }
                return skip(r, "vanished since scanned");
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                return skip(r, "not a regular file")
            }
            Err(e) => return ControlFlow::Break(Some(self.fail(r, format!("{e}")))),
        };
        if t.meta.nlink() > 1 {
            let why = format!(
                "{} hard links: its other names would keep the data",
                t.meta.nlink()
            );
            return skip(r, &why);
        }
        let current = match t.sha256() {
            Ok(h) => h,
            Err(e) => return ControlFlow::Break(Some(self.fail(r, format!("hashing: {e}")))),
        };
        r.sha256 = Some(current.clone());
        if let Some(want) = reference.filter(|w| *w != current) {
            r.scanned_sha256 = Some(want);
            return skip(r, "changed since scanned");
        }
        ControlFlow::Continue((r, t, current))
    }

    /// Quarantines or deletes the file (`--mode`); nothing for notify-only.
    fn apply(
        &mut self,
        path: &Path,
        p: &Pending,
        mut r: ActionRecord,
        t: &mut Target,
        current: String,
    ) -> Step<ActionRecord> {
        match self.cfg.mode {
            Mode::Quarantine => {
                let Some(vault) = self.vault.as_ref() else {
                    return ControlFlow::Break(None);
                };
                let req = Request {
                    sha256: current.clone(),
                    detectors: p
                        .detectors
                        .iter()
                        .map(|(d, (c, n))| DetectorCount {
                            detector: d.clone(),
                            confidence: *c,
                            findings: *n,
                        })
                        .collect(),
                    confidence: r.confidence.unwrap_or(Confidence::VeryLikely),
                    findings: p.seen.len() as u64,
                    leave_note: self.cfg.leave_note,
                };
                match vault.quarantine(t, &req) {
                    Ok(Outcome::Quarantined(m)) | Ok(Outcome::Resumed(m)) => {
                        self.quarantines.add(t.path.clone(), &m.id, &m.sha256);
                        r.sha256 = Some(m.sha256);
                        r.note = m.note;
                        r.id = Some(m.id);
                    }
                    Ok(Outcome::Changed(now)) => {
                        self.acted.remove(path);
                        r.action = Action::Skipped;
                        r.sha256 = Some(now);
                        r.scanned_sha256 = Some(current);
                        r.reason = Some("changed since scanned".into());
                        return ControlFlow::Break(Some(r));
                    }
                    Err(e) => {
                        self.acted.remove(path);
                        return ControlFlow::Break(Some(self.fail(r, format!("{e:#}"))));
                    }
                }
            }
            Mode::Delete => {
                let why = match t.remove(&new_id(&t.path)) {
                    Ok(Removed::Yes) => return ControlFlow::Continue(r),
                    Ok(Removed::Gone) => {
                        self.acted.remove(path);
                        r.action = Action::Skipped;
                        r.reason = Some("vanished since scanned".into());
                        return ControlFlow::Break(Some(r));
                    }
                    Ok(Removed::Other(back)) => format!(
                        "replaced by another file as it was being deleted (that file was left at {})",
                        back.display()
                    ),
                    Err(e) => format!("deleting: {e:#}"),
                };
                self.acted.remove(path);
                return ControlFlow::Break(Some(self.fail(r, why)));
            }
            Mode::NotifyOnly => {}
        }
        ControlFlow::Continue(r)
    }

    /// Tells the file's owner on their desktop (`--notify`). A failed
    /// notification fails a notify-only action and is noted on others.
    fn notify_owner(
        &mut self,
        primary: Action,
        path: &Path,
        (uid, gid): (u32, u32),
        mut r: ActionRecord,
    ) -> Step<ActionRecord> {
        let (summary, body) = notify::text(
            match primary {
                Action::Quarantined => "quarantined",
                Action::Deleted => "deleted",
                _ => "notified",
            },
            path,
            &r.detectors,
            r.id.as_deref(),
        );
        match notify::send(uid, gid, &summary, &body, self.cfg.notify_timeout) {
            Ok(()) => r.notified = Some(true),
            Err(e) if primary == Action::Notified => {
                return ControlFlow::Break(Some(self.fail(r, e)))
            }
            Err(e) => {
                eprintln!(
                    "dlp-remediate: {}: notification not delivered: {e}",
                    path.display()
                );
                r.notified = Some(false);
                r.notify_error = Some(e);
            }
        }
        ControlFlow::Continue(r)
    }

    fn fail(&mut self, mut r: ActionRecord, error: String) -> ActionRecord {
        eprintln!("dlp-remediate: {}: {error}", r.path);
        self.failed = true;
        r.action = Action::Failed;
        r.error = Some(error);
        r
    }
}
