//! Walking the disk: placing watches on new directories, the initial walk,
//! the post-overflow rescan and the baseline comparison.
//!
//! Order matters for losslessness: a directory is watched first and listed
//! second, so a file made in between shows up in the listing or as an event
//! (or both, and the view deduplicates). Excluded paths are skipped before
//! anything is watched.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use dlp_core::records::EventType;

use crate::engine::Engine;
use crate::state::Baseline;
use crate::tree::Meta;

/// Lists a directory: (name, lstat metadata) of each entry that still exists.
fn list(dir: &Path) -> std::io::Result<Vec<(OsString, Meta)>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let Ok(e) = e else { continue };
        if let Ok(md) = e.metadata() {
            v.push((e.file_name(), Meta::of(&md)));
        }
    }
    Ok(v)
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
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let is_root = self.roots.iter().any(|r| r == &d);
            let wd = match self.backend.watch_dir(&d, is_root) {
                Ok(wd) => wd,
                Err(_) => continue, // vanished meanwhile; its parent's event reports it
            };
            let entries = match list(&d) {
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
            let ev = dlp_core::records::FsEvent::new(EventType::Overflow, &root);
            let mut ev = ev;
            ev.is_directory = true;
            self.out.emit(ev, false)?;
        }
        for root in self.roots.clone() {
            self.sync_dir(&root, "rescan")?;
        }
        Ok(())
    }

    /// Diffs `dir` (recursively) with the view, reporting what differs as
    /// synthetic events with `reason`.
    pub fn sync_dir(&mut self, dir: &Path, reason: &str) -> anyhow::Result<()> {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let disk = match list(&d) {
                Ok(v) => v,
                Err(_) => continue, // gone: its parent's diff reports it
            };
            let mut on_disk = HashSet::with_capacity(disk.len());
            for (name, mut meta) in disk {
                let path = d.join(&name);
                on_disk.insert(name);
                if self.cfg.excluded(&path) {
                    continue;
                }
                let old = self.tree.get(&path).cloned();
                match old {
                    None => {
                        self.hash_meta(&path, &mut meta, None);
                        let ev = self.fields.synthetic(
                            EventType::Created,
                            &path,
                            Some(&meta),
                            false,
                            reason,
                        );
                        let is_dir = meta.is_dir();
                        self.tree.insert(&path, meta);
                        self.dirty = true;
                        self.out.emit(ev, false)?;
                        if is_dir && self.cfg.recursive {
                            self.add_tree(&path, Some(reason))?;
                        }
                    }
                    Some(old) if old.kind != meta.kind => {
                        self.forget(&path, &old, reason)?;
                        stack.push(d.clone()); // re-list: now reported as created
                    }
                    Some(old) => {
                        if meta.is_dir() {
                            if self.cfg.recursive {
                                if self.tree.dirs.contains_key(&path) {
                                    stack.push(path.clone());
                                } else {
                                    self.add_tree(&path, Some(reason))?;
                                }
                            }
                            continue;
                        }
                        if old.looks_same(&meta) && old.mode == meta.mode && old.uid == meta.uid {
                            continue;
                        }
                        self.hash_meta(&path, &mut meta, None);
                        let changed = old.sha != meta.sha;
                        if self.cfg.only_content_changes && !changed {
                            self.tree.insert(&path, meta);
                            continue;
                        }
                        let mut ev = self.fields.synthetic(
                            EventType::Modified,
                            &path,
                            Some(&meta),
                            false,
                            reason,
                        );
                        if changed {
                            ev.previous_sha256 = old.sha_hex();
                        }
                        self.tree.insert(&path, meta);
                        self.dirty = true;
                        self.out.emit(ev, false)?;
                    }
                }
            }
            let known: Vec<(PathBuf, Meta)> = match self.tree.dirs.get(&d) {
                Some(node) => node
                    .entries
                    .iter()
                    .filter(|(n, _)| !on_disk.contains(*n))
                    .map(|(n, m)| (d.join(n), m.clone()))
                    .collect(),
                None => Vec::new(),
            };
            for (path, old) in known {
                self.forget(&path, &old, reason)?;
            }
        }
        Ok(())
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

    /// Reports what changed since the baseline (start with `--state`).
    pub fn compare_baseline(
        &mut self,
        base: &Baseline,
        report_present: bool,
    ) -> anyhow::Result<()> {
        let only_cc = self.cfg.only_content_changes;
        let mut events = Vec::new();
        for root in &self.roots {
            for (path, meta) in self.tree.entries_under(root) {
                match base.get(&path) {
                    None if report_present => events.push(self.fields.synthetic(
                        EventType::Created,
                        &path,
                        Some(meta),
                        false,
                        "baseline",
                    )),
                    None => {}
                    Some(old) => {
                        if meta.is_dir() || old.kind != meta.kind {
                            if old.kind != meta.kind {
                                events.push(self.fields.synthetic(
                                    EventType::Modified,
                                    &path,
                                    Some(meta),
                                    false,
                                    "baseline",
                                ));
                            }
                            continue;
                        }
                        let content = old.sha != meta.sha || old.size != meta.size;
                        let attrs = old.mode != meta.mode
                            || old.uid != meta.uid
                            || old.mtime_ns != meta.mtime_ns;
                        if content || (attrs && !only_cc) {
                            let mut ev = self.fields.synthetic(
                                EventType::Modified,
                                &path,
                                Some(meta),
                                false,
                                "baseline",
                            );
                            if old.sha != meta.sha {
                                ev.previous_sha256 = old.sha_hex();
                            }
                            events.push(ev);
                        }
                    }
                }
            }
        }
        let mut gone: Vec<(&PathBuf, &Meta)> = base
            .iter()
            .filter(|(p, _)| {
                self.roots.iter().any(|r| p.starts_with(r))
                    && !self.cfg.excluded(p)
                    && self.tree.get(p).is_none()
            })
            .collect();
        gone.sort_by(|a, b| b.0.cmp(a.0));
        for (p, m) in gone {
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
        for ev in events {
            self.out.emit(ev, false)?;
        }
        Ok(())
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
