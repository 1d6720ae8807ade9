//! Walking the disk: placing watches on new directories, the initial walk,
//! the post-overflow rescan and the baseline comparison.
//!
//! Order matters for losslessness: a directory is watched first and listed
//! second, so a file made in between shows up in the listing or as an event
//! (or both, and the view deduplicates). Excluded paths are skipped before
//! anything is watched.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::DirEntry;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::DirEntryExt;
use std::path::{Path, PathBuf};

use dlp_record::{EventType, FsEvent};

use crate::attrs;
use crate::engine::Engine;
use crate::state::Baseline;
use crate::tree::{now_ns, Kind, Meta};

/// Lists a directory: (name, lstat metadata) of each entry that still
/// exists; with `listed_at`, files and other non-directories are not
/// `lstat`-ed but known from the listing ([`Meta::listed`]).
fn list(dir: &Path, listed_at: Option<i64>) -> std::io::Result<Vec<(OsString, Meta)>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let Ok(e) = e else { continue };
        let meta = match listed_at.and_then(|at| listed_meta(&e, at)) {
            Some(m) => m,
            None => match e.metadata() {
                Ok(md) => Meta::of(&md),
                Err(_) => continue,
            },
        };
        v.push((e.file_name(), meta));
    }
    Ok(v)
}

/// The `reason` of what a post-overflow rescan reports.
const RESCAN: &str = "rescan";

/// A new entry's [`Meta::listed`] from its directory entry (the file
/// type most file systems store there), or `None` for a directory (always
/// `lstat`-ed and watched) or when the type cannot be had.
fn listed_meta(e: &DirEntry, at_ns: i64) -> Option<Meta> {
    let ft = e.file_type().ok()?;
    let kind = if ft.is_dir() {
        return None;
    } else if ft.is_file() {
        Kind::File
    } else {
        Kind::Other
    };
    Some(Meta::listed(kind, e.ino(), at_ns))
}

impl<W: Write> Engine<W> {
    /// Watches and lists `dir` and (when recursive) everything below it,
    /// adding entries to the view. Entries the view did not hold are
    /// reported as synthetic `created` with `reason` when one is given.
    pub fn add_tree(&mut self, dir: &Path, reason: Option<&str>) -> anyhow::Result<()> {
        self.add_tree_with(dir, reason, None)
    }

    /// [`Engine::add_tree`] reusing hashes from a baseline when files look unchanged.
    pub fn add_tree_with(
        &mut self,
        dir: &Path,
        reason: Option<&str>,
        baseline: Option<&Baseline>,
    ) -> anyhow::Result<()> {
        let progress = reason == Some("initial_scan") && std::io::stderr().is_terminal();
        let mut seen = 0u64;
        let mut next_report = 1000u64;
        // A directory a rescan found is listed like the rescan lists.
        let lazy = reason == Some(RESCAN) && self.lazy_listing();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let is_root = self.roots.iter().any(|r| r == &d);
            let wd = match self.backend.watch_dir(&d, is_root) {
                Ok(wd) => wd,
                Err(_) => continue, // vanished meanwhile; its parent's event reports it
            };
            #[cfg(target_os = "linux")]
            if let Some(w) = &self.out.who {
                w.mark(&d);
            }
            let entries = match list(&d, lazy.then(now_ns)) {
                Ok(e) => e,
                Err(e) => {
                    if let Some(wd) = wd {
                        self.backend.unwatch(wd);
                    }
                    if e.raw_os_error() == Some(24) {
                        eprintln!("fswatch-json: cannot list {}: {e}; raise the open-files limit (`ulimit -n`)", d.display());
                    } else if e.kind() != std::io::ErrorKind::NotFound {
                        eprintln!("fswatch-json: cannot list {}: {e}", d.display());
                    }
                    continue;
                }
            };
            self.tree.dirs.entry(d.clone()).or_default().wd = wd;
            for (name, mut meta) in entries {
                let path = d.join(&name);
                if self.cfg.excluded(&path) {
                    continue;
                }
                if self.tree.get(&path).is_some() {
                    continue;
                }
                let prev = baseline.and_then(|b| b.get(&path));
                self.hash_meta(&path, &mut meta, prev);
                if let Some(r) = reason {
                    let ev =
                        self.fields
                            .synthetic(EventType::Created, &path, Some(&meta), false, r);
                    self.out.emit(ev, false)?;
                }
                if meta.is_dir() && self.cfg.recursive {
                    stack.push(path.clone());
                }
                self.tree.insert(&path, meta);
                self.dirty = true;
                seen += 1;
                if progress && seen == next_report {
                    next_report += 1000;
                    eprint!("\rfswatch-json: initial scan: {seen} entries");
                }
            }
        }
        if progress && seen >= 1000 {
            eprintln!("\rfswatch-json: initial scan: {seen} entries");
        }
        Ok(())
    }

    /// The kernel dropped events: say so, then diff every root against the view.
    pub fn overflow(&mut self) -> anyhow::Result<()> {
        self.expire_pending_moves(std::time::Duration::ZERO)?;
        for root in self.roots.clone() {
            let ev = dlp_record::FsEvent::new(EventType::Overflow, &root);
            let mut ev = ev;
            ev.is_directory = true;
            self.out.emit(ev, false)?;
        }
        for root in self.roots.clone() {
            self.sync_dir(&root, RESCAN)?;
        }
        Ok(())
    }

    /// Diffs `dir` (recursively) with the view, reporting what differs as
    /// synthetic events with `reason`.
    ///
    /// After an overflow during a burst most entries are new to the view.
    /// When no record needs their metadata (no `--stat`, `--hash` or
    /// `--state`), a new file is reported from its directory entry alone,
    /// without an `lstat` (see [`Meta::listed`]); directories are always
    /// `lstat`-ed and watched.
    pub fn sync_dir(&mut self, dir: &Path, reason: &str) -> anyhow::Result<()> {
        let lazy = self.lazy_listing();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let listed_at = now_ns();
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue; // gone: its parent's diff reports it
            };
            let entries: Vec<DirEntry> = rd.filter_map(Result::ok).collect();
            let names: Vec<OsString> = entries.iter().map(DirEntry::file_name).collect();
            let (olds, missing) = self.known_entries(&d, &names);
            let mut listed = Vec::new();
            for ((e, name), old) in entries.iter().zip(names).zip(olds) {
                let path = d.join(&name);
                if self.cfg.excluded(&path) {
                    continue;
                }
                if let (None, true, Some(meta)) = (&old, lazy, listed_meta(e, listed_at)) {
                    let ev = self.fields.synthetic(
                        EventType::Created,
                        &path,
                        Some(&meta),
                        false,
                        reason,
                    );
                    self.out.emit(ev, false)?;
                    listed.push((name, meta));
                    continue;
                }
                let Ok(md) = e.metadata() else {
                    continue; // gone since the listing: its event follows
                };
                self.sync_entry(&d, &path, old, Meta::of(&md), reason, &mut stack)?;
            }
            if !listed.is_empty() {
                self.tree
                    .dirs
                    .entry(d.clone())
                    .or_default()
                    .entries
                    .extend(listed);
                self.dirty = true;
            }
            for (path, old) in missing {
                self.forget(&path, &old, reason)?;
            }
        }
        Ok(())
    }

    /// What the view holds for each listed name of `dir`, and the entries
    /// it holds that the listing no longer has (full path and metadata).
    fn known_entries(
        &self,
        dir: &Path,
        names: &[OsString],
    ) -> (Vec<Option<Meta>>, Vec<(PathBuf, Meta)>) {
        let Some(node) = self.tree.dirs.get(dir) else {
            return (vec![None; names.len()], Vec::new());
        };
        let olds: Vec<Option<Meta>> = names.iter().map(|n| node.entries.get(n).cloned()).collect();
        let found = olds.iter().filter(|o| o.is_some()).count();
        if found == node.entries.len() {
            return (olds, Vec::new());
        }
        let on_disk: HashSet<&OsStr> = names.iter().map(OsString::as_os_str).collect();
        let missing = node
            .entries
            .iter()
            .filter(|(n, _)| !on_disk.contains(n.as_os_str()))
            .map(|(n, m)| (dir.join(n), m.clone()))
            .collect();
        (olds, missing)
    }

    /// Diffs one listed entry (`meta`, just `lstat`-ed) of directory `d`
    /// with the view's `old`; subdirectories to diff go on `stack`.
    fn sync_entry(
        &mut self,
        d: &Path,
        path: &Path,
        old: Option<Meta>,
        mut meta: Meta,
        reason: &str,
        stack: &mut Vec<PathBuf>,
    ) -> anyhow::Result<()> {
        match old {
            None => {
                self.hash_meta(path, &mut meta, None);
                let ev =
                    self.fields
                        .synthetic(EventType::Created, path, Some(&meta), false, reason);
                let is_dir = meta.is_dir();
                self.tree.insert(path, meta);
                self.dirty = true;
                self.out.emit(ev, false)?;
                if is_dir && self.cfg.recursive {
                    self.add_tree(path, Some(reason))?;
                }
            }
            Some(old) if old.kind != meta.kind => {
                self.forget(path, &old, reason)?;
                stack.push(d.to_path_buf()); // re-list: now reported as created
            }
            Some(old) if old.listed_only => {
                if old.changed_since_listed(&meta) {
                    let ev = self.fields.synthetic(
                        EventType::Modified,
                        path,
                        Some(&meta),
                        false,
                        reason,
                    );
                    self.out.emit(ev, false)?;
                }
                self.tree.insert(path, meta);
                self.dirty = true;
            }
            Some(old) => {
                if meta.is_dir() && self.cfg.recursive {
                    if self.tree.dirs.contains_key(path) {
                        stack.push(path.to_path_buf());
                    } else {
                        self.add_tree(path, Some(reason))?;
                    }
                }
                if old.looks_same(&meta) && old.mode == meta.mode && old.uid == meta.uid {
                    return Ok(());
                }
                self.hash_meta(path, &mut meta, None);
                for ev in self.differences(path, &old, &meta, reason) {
                    self.dirty = true;
                    self.out.emit(ev, false)?;
                }
                self.tree.insert(path, meta);
            }
        }
        Ok(())
    }

    /// Whether a rescan may know new files from their directory entries:
    /// when no record or baseline needs their metadata.
    fn lazy_listing(&self) -> bool {
        !self.cfg.hash && !self.cfg.stat && self.cfg.state.is_none()
    }

    /// Removes `path` (and its subtree) from the view, reporting deletions.
    fn forget(&mut self, path: &Path, old: &Meta, reason: &str) -> anyhow::Result<()> {
        self.tree.remove(path);
        if old.is_dir() {
            let (gone, wds) = self.tree.remove_subtree(path);
            self.unwatch_all(&wds, path);
            for (p, m) in gone {
                let mut ev =
                    self.fields
                        .synthetic(EventType::Deleted, &p, None, m.is_dir(), reason);
                ev.previous_sha256 = m.sha_hex();
                self.out.emit(ev, false)?;
            }
        }
        let mut ev = self
            .fields
            .synthetic(EventType::Deleted, path, None, old.is_dir(), reason);
        ev.previous_sha256 = old.sha_hex();
        self.dirty = true;
        self.out.emit(ev, false)
    }

    /// The events that tell `old` (the view or the baseline) from `new`
    /// at `path`, as synthetic events with `reason`: `modified` for a
    /// content change (and for a change of times only, unless
    /// --only-content-changes), `attrib` for checked metadata, both when
    /// both changed, nothing when nothing did.
    pub fn differences(&self, path: &Path, old: &Meta, new: &Meta, reason: &str) -> Vec<FsEvent> {
        let mut events = Vec::new();
        if old.kind != new.kind {
            events.push(
                self.fields
                    .synthetic(EventType::Modified, path, Some(new), false, reason),
            );
            return events;
        }
        let content = new.kind == Kind::File && (old.sha != new.sha || old.size != new.size);
        let changed = attrs::diff(old, new, self.cfg.attrs);
        let times = old.mtime_ns != new.mtime_ns && new.kind == Kind::File;
        if content || (times && changed.is_empty() && !self.cfg.only_content_changes) {
            let mut ev = self
                .fields
                .synthetic(EventType::Modified, path, Some(new), false, reason);
            if old.sha != new.sha {
                ev.previous_sha256 = old.sha_hex();
            }
            events.push(ev);
        }
        if !changed.is_empty() {
            let mut ev = self
                .fields
                .synthetic(EventType::Attrib, path, Some(new), false, reason);
            attrs::describe(&mut ev, old, new, &changed);
            events.push(ev);
        }
        events
    }

    /// Reports what changed since the baseline (start with `--state`, and
    /// `--check`): `created` (when `report_present`), `deleted`, `moved`
    /// (a file gone from one path and present at another with the same
    /// inode and content; not with `report_present` false, when everything
    /// present was just reported), `modified` and `attrib`, in path order,
    /// deletions last. Returns how many events were written.
    pub fn compare_baseline(
        &mut self,
        base: &Baseline,
        report_present: bool,
    ) -> anyhow::Result<u64> {
        let mut gone: Vec<(&PathBuf, &Meta)> = base
            .iter()
            .filter(|(p, _)| {
                self.roots.iter().any(|r| p.starts_with(r))
                    && !self.cfg.excluded(p)
                    && self.tree.get(p).is_none()
            })
            .collect();
        gone.sort_by(|a, b| b.0.cmp(a.0));
        // Gone files by inode, for moves (a hard-linked or reused inode
        // also needs the same content).
        let mut by_ino: HashMap<u64, Option<usize>> = HashMap::new();
        for (i, (_, m)) in gone.iter().enumerate() {
            if !m.is_dir() {
                by_ino
                    .entry(m.ino)
                    .and_modify(|e| *e = None)
                    .or_insert(Some(i));
            }
        }
        let mut moved_from = vec![false; gone.len()];
        let mut events = Vec::new();
        for root in &self.roots {
            for (path, meta) in self.tree.entries_under(root) {
                match base.get(&path) {
                    None => {
                        let from = by_ino
                            .get(&meta.ino)
                            .filter(|_| report_present)
                            .copied()
                            .flatten()
                            .filter(|&i| gone[i].1.kind == meta.kind && gone[i].1.sha == meta.sha);
                        if let Some(i) = from {
                            moved_from[i] = true;
                            let mut ev = self
                                .fields
                                .synthetic(
                                    EventType::Moved,
                                    gone[i].0,
                                    Some(meta),
                                    false,
                                    "baseline",
                                )
                                .with_dest(&path);
                            ev.is_directory = meta.is_dir();
                            events.push(ev);
                        } else if report_present {
                            events.push(self.fields.synthetic(
                                EventType::Created,
                                &path,
                                Some(meta),
                                false,
                                "baseline",
                            ));
                        }
                    }
                    Some(old) => events.extend(self.differences(&path, old, meta, "baseline")),
                }
            }
        }
        for (i, (p, m)) in gone.iter().enumerate() {
            if moved_from[i] {
                continue;
            }
            let mut ev = self
                .fields
                .synthetic(EventType::Deleted, p, None, m.is_dir(), "baseline");
            ev.previous_sha256 = m.sha_hex();
            events.push(ev);
        }
        events.sort_by(|a, b| {
            (a.event_type != EventType::Deleted)
                .cmp(&(b.event_type != EventType::Deleted))
                .reverse()
                .then(a.src_path.cmp(&b.src_path))
        });
        let n = events.len() as u64;
        for ev in events {
            self.out.emit(ev, false)?;
        }
        Ok(n)
    }
}

/// Paths of a root that exist and are readable directories, with errors for the rest.
pub fn check_root(p: &Path) -> anyhow::Result<()> {
    let md = std::fs::metadata(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    if !md.is_dir() {
        anyhow::bail!(
            "{}: not a directory (watch the directory that holds it, with --exclude for the rest)",
            p.display()
        );
    }
    std::fs::read_dir(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    Ok(())
}
