//! The engine: turns backend changes into FsEvents, keeping the tree view
//! and the watch set in step.
//!
//! Rules that make the stream faithful: a `created` is written only for a
//! path the view does not hold yet (so a new-directory scan and the real
//! event for the same file give one record); a rename inside the tree is
//! one `moved`, a half without its partner is a move out (`deleted`) or in
//! (`created`); a directory that appears is watched and then listed, so
//! files made in it before its watch existed are still reported.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dlp_record::EventType;

use crate::attrs;
use crate::cli::Config;
use crate::emit::Emitter;
use crate::record::Fields;
use crate::tree::{lstat, Kind, Meta, Tree};
use crate::Backend;

/// One change reported by a backend, with full paths.
#[derive(Debug)]
pub enum Change {
    Created {
        path: PathBuf,
        is_dir: bool,
    },
    Modified {
        path: PathBuf,
        attrib: bool,
    },
    Deleted {
        path: PathBuf,
        is_dir: bool,
    },
    MovedFrom {
        path: PathBuf,
        cookie: u32,
        is_dir: bool,
    },
    MovedTo {
        path: PathBuf,
        cookie: u32,
        is_dir: bool,
    },
    Moved {
        from: PathBuf,
        to: PathBuf,
        is_dir: bool,
    },
    Opened(PathBuf),
    Closed(PathBuf),
    ClosedNoWrite(PathBuf),
    /// The kernel (or the debug hook) dropped events.
    Overflow,
    /// A root directory was deleted or moved away.
    RootGone(PathBuf),
}

/// The watcher's state.
pub struct Engine<W: Write> {
    pub cfg: Config,
    pub fields: Fields,
    pub tree: Tree,
    pub backend: Backend,
    pub out: Emitter<W>,
    pub roots: Vec<PathBuf>,
    /// A MOVED_FROM waiting for its MOVED_TO.
    pub pending_from: VecDeque<(PathBuf, u32, bool, Instant)>,
    /// Opens/closes caused by our own hashing, to be swallowed (--access).
    self_access: HashMap<PathBuf, (u32, u32)>,
    /// The view changed since the last state save.
    pub dirty: bool,
}

impl<W: Write> Engine<W> {
    pub fn new(cfg: Config, backend: Backend, out: Emitter<W>, roots: Vec<PathBuf>) -> Self {
        let fields = Fields {
            stat: cfg.stat,
            hash: cfg.hash,
        };
        Engine {
            cfg,
            fields,
            tree: Tree::default(),
            backend,
            out,
            roots,
            pending_from: VecDeque::new(),
            self_access: HashMap::new(),
            dirty: false,
        }
    }

    /// Completes `meta` when hashing (the FIM mode): the content hash of a
    /// regular file and the ACL and extended attributes (`--attrs`), both
    /// reused from `prev` when the file looks unchanged (same inode, size,
    /// mtime and ctime).
    pub fn hash_meta(&mut self, path: &Path, meta: &mut Meta, prev: Option<&Meta>) {
        if !self.cfg.hash {
            return;
        }
        let same = prev.filter(|p| p.looks_same(meta));
        self.ext_meta(path, meta, same);
        if meta.kind != Kind::File {
            return;
        }
        if let Some(p) = same.filter(|p| p.sha.is_some()) {
            meta.sha = p.sha.clone();
            return;
        }
        if let Ok(h) = dlp_record::hash::sha256_file(path) {
            meta.set_sha_hex(&h);
            if self.cfg.access && self.backend.is_inotify() {
                let e = self.self_access.entry(path.to_path_buf()).or_default();
                e.0 += 1;
                e.1 += 1;
            }
        }
    }

    /// Reads the ACL and extended attributes into `meta` when they are
    /// checked and hashing is on, reusing `same` (an unchanged entry's).
    fn ext_meta(&self, path: &Path, meta: &mut Meta, same: Option<&Meta>) {
        if !self.cfg.hash || !self.cfg.attrs.reads_xattrs() {
            return;
        }
        meta.ext = match same {
            Some(p) if p.full => p.ext.clone(),
            _ => attrs::read(path),
        };
    }

    /// Handles one change.
    pub fn on_change(&mut self, c: Change) -> anyhow::Result<()> {
        // A half-move waiting for its partner is settled first when this
        // change is about the same path (so a delete is never reported
        // after the re-creation of that name).
        let about = match &c {
            Change::Created { path, .. }
            | Change::Modified { path, .. }
            | Change::Deleted { path, .. }
            | Change::MovedFrom { path, .. }
            | Change::Opened(path)
            | Change::Closed(path)
            | Change::ClosedNoWrite(path) => Some(path.clone()),
            Change::Moved { to, .. } => Some(to.clone()),
            _ => None,
        };
        if let Some(p) = about {
            while let Some(i) = self
                .pending_from
                .iter()
                .position(|(from, ..)| p.starts_with(from))
            {
                if let Some((from, _, is_dir, _)) = self.pending_from.remove(i) {
                    self.deleted(&from, is_dir)?;
                }
            }
        }
        match c {
            Change::MovedTo {
                path,
                cookie,
                is_dir,
            } => {
                let i = self.pending_from.iter().position(|(_, c, ..)| *c == cookie);
                match i.and_then(|i| self.pending_from.remove(i)) {
                    Some((from, _, from_dir, _)) => self.moved(&from, &path, is_dir || from_dir),
                    None => self.created(&path, is_dir),
                }
            }
            Change::Created { path, is_dir } => self.created(&path, is_dir),
            Change::MovedFrom {
                path,
                cookie,
                is_dir,
            } => {
                self.pending_from
                    .push_back((path, cookie, is_dir, Instant::now()));
                Ok(())
            }
            Change::Moved { from, to, is_dir } => self.moved(&from, &to, is_dir),
            Change::Deleted { path, is_dir } => self.deleted(&path, is_dir),
            Change::Modified { path, attrib } => {
                self.content_event(EventType::Modified, &path, attrib)
            }
            Change::Closed(path) => self.content_event(EventType::Closed, &path, false),
            Change::Opened(path) => self.access_event(EventType::Opened, &path),
            Change::ClosedNoWrite(path) => self.access_event(EventType::ClosedNoWrite, &path),
            Change::Overflow => self.overflow(),
            Change::RootGone(root) => {
                eprintln!(
                    "fswatch-json: {}: watched directory was removed or moved away",
                    root.display()
                );
                self.deleted(&root, true)?;
                self.roots.retain(|r| r != &root);
                if self.roots.is_empty() {
                    eprintln!("fswatch-json: no watched directories left");
                }
                Ok(())
            }
        }
    }

    /// Half-moves whose partner did not come within `wait` (all of them
    /// when `wait` is zero) left the tree: report them as deleted.
    pub fn expire_pending_moves(&mut self, wait: Duration) -> anyhow::Result<()> {
        while let Some((_, _, _, t)) = self.pending_from.front() {
            if !wait.is_zero() && t.elapsed() < wait {
                break;
            }
            if let Some((from, _, is_dir, _)) = self.pending_from.pop_front() {
                self.deleted(&from, is_dir)?;
            }
        }
        Ok(())
    }

    /// When the oldest half-move expires.
    pub fn pending_move_deadline(&self, wait: Duration) -> Option<Instant> {
        self.pending_from.front().map(|(_, _, _, t)| *t + wait)
    }

    fn created(&mut self, path: &Path, is_dir: bool) -> anyhow::Result<()> {
        if self.cfg.excluded(path) {
            return Ok(());
        }
        if self.tree.get(path).is_some() {
            // Already reported (by a new-directory scan or rescan).
            return Ok(());
        }
        let meta = lstat(path).map(|mut m| {
            self.hash_meta(path, &mut m, None);
            m
        });
        let is_dir = meta.as_ref().map_or(is_dir, Meta::is_dir);
        let ev = self
            .fields
            .event(EventType::Created, path, meta.as_ref(), is_dir);
        if let Some(m) = meta {
            self.tree.insert(path, m);
            self.dirty = true;
        }
        self.out.emit(ev, false)?;
        if is_dir && self.cfg.recursive && self.tree.get(path).is_some() {
            self.add_tree(path, Some("new_directory"))?;
        }
        Ok(())
    }

    fn deleted(&mut self, path: &Path, is_dir: bool) -> anyhow::Result<()> {
        if self.cfg.excluded(path) {
            return Ok(());
        }
        let old = self.tree.remove(path);
        let is_dir = old.as_ref().map_or(is_dir, Meta::is_dir);
        if is_dir {
            // Whatever is still known below it left with it (a move out
            // reports no per-file events).
            let (gone, wds) = self.tree.remove_subtree(path);
            self.unwatch_all(&wds, path);
            for (p, m) in gone {
                let mut ev = self.fields.synthetic(
                    EventType::Deleted,
                    &p,
                    None,
                    m.is_dir(),
                    "parent_removed",
                );
                ev.previous_sha256 = m.sha_hex();
                self.out.emit(ev, false)?;
            }
        }
        let mut ev = self.fields.event(EventType::Deleted, path, None, is_dir);
        ev.previous_sha256 = old.and_then(|m| m.sha_hex());
        self.dirty = true;
        self.out.emit(ev, false)
    }

    fn moved(&mut self, from: &Path, to: &Path, is_dir: bool) -> anyhow::Result<()> {
        match (self.cfg.excluded(from), self.cfg.excluded(to)) {
            (true, true) => return Ok(()),
            (true, false) => return self.created(to, is_dir),
            (false, true) => return self.deleted(from, is_dir),
            (false, false) => {}
        }
        let old = self.tree.remove(from);
        let dest_existed = self.tree.get(to).is_some();
        if let Some(prev) = self.tree.get(to).filter(|m| m.is_dir()) {
            let _ = prev;
            let (_, wds) = self.tree.remove_subtree(to);
            self.unwatch_all(&wds, to);
        }
        let mut meta = lstat(to);
        let is_dir = meta.as_ref().map_or(is_dir, Meta::is_dir);
        if let Some(m) = meta.as_mut() {
            if let Some(o) = &old {
                m.sha = o.sha.clone();
            }
            if m.sha.is_none() {
                self.hash_meta(to, m, None);
            }
        }
        let mut ev = self
            .fields
            .event(EventType::Moved, from, meta.as_ref(), is_dir)
            .with_dest(to);
        if let Some(m) = meta {
            self.tree.insert(to, m);
        }
        self.dirty = true;
        let known_dir = is_dir && self.tree.dirs.contains_key(from);
        if known_dir {
            for (wd, new) in self.tree.rename_subtree(from, to) {
                self.backend.rename(wd, new);
            }
        }
        ev.is_directory = is_dir;
        self.out.emit(ev, dest_existed)?;
        if is_dir && !known_dir && self.cfg.recursive {
            self.add_tree(to, Some("new_directory"))?;
        }
        Ok(())
    }

    fn content_event(&mut self, t: EventType, path: &Path, attrib: bool) -> anyhow::Result<()> {
        if self.cfg.excluded(path) {
            return Ok(());
        }
        let Some(mut meta) = lstat(path) else {
            // Already gone: still report what the kernel saw (its deletion follows).
            if self.cfg.only_content_changes {
                return Ok(());
            }
            let ev = self.fields.event(t, path, None, false);
            return self.out.emit(ev, false);
        };
        // An entry only listed (by a rescan) has no metadata to compare with.
        let prev = self.tree.get(path).filter(|m| !m.listed_only).cloned();
        // An attribute change cannot change content: keep the hash if size and mtime are unchanged.
        let reuse = prev
            .as_ref()
            .filter(|p| attrib && p.size == meta.size && p.mtime_ns == meta.mtime_ns);
        if let Some(p) = reuse {
            meta.sha = p.sha.clone();
            self.ext_meta(path, &mut meta, None);
        } else {
            self.hash_meta(path, &mut meta, prev.as_ref());
        }
        let prev_sha = prev.as_ref().and_then(|p| p.sha.clone());
        let content_changed = prev_sha.is_some() && meta.sha.is_some() && prev_sha != meta.sha;
        let changed = prev
            .as_ref()
            .filter(|p| p.kind == meta.kind)
            .map(|p| attrs::diff(p, &meta, self.cfg.attrs))
            .unwrap_or_default();
        // A directory that could not be watched or listed when first seen
        // (no permission) is tried again when its attributes change
        // (`chmod`), then listed with synthetic events for what it holds,
        // so a directory made unreadable on purpose is no blind spot.
        let retry_dir = attrib
            && meta.kind == Kind::Dir
            && self.cfg.recursive
            && !self.tree.dirs.contains_key(path);
        let silent = self.cfg.only_content_changes
            && meta.kind != Kind::Dir
            && prev_sha.is_some()
            && prev_sha == meta.sha;
        let mut events = Vec::new();
        if content_changed || (changed.is_empty() && !silent) {
            let mut ev = self.fields.event(t, path, Some(&meta), false);
            if content_changed {
                ev.previous_sha256 = prev.as_ref().and_then(Meta::sha_hex);
            }
            events.push(ev);
        }
        if let (Some(old), false) = (&prev, changed.is_empty()) {
            let mut ev = self
                .fields
                .event(EventType::Attrib, path, Some(&meta), false);
            attrs::describe(&mut ev, old, &meta, &changed);
            events.push(ev);
        }
        self.tree.insert(path, meta);
        self.dirty |= !events.is_empty() || !silent;
        for ev in events {
            self.out.emit(ev, false)?;
        }
        if retry_dir {
            self.add_tree(path, Some("now_readable"))?;
        }
        Ok(())
    }

    fn access_event(&mut self, t: EventType, path: &Path) -> anyhow::Result<()> {
        if !self.cfg.access || self.cfg.excluded(path) {
            return Ok(());
        }
        if let Some(e) = self.self_access.get_mut(path) {
            let slot = if t == EventType::Opened {
                &mut e.0
            } else {
                &mut e.1
            };
            if *slot > 0 {
                *slot -= 1;
                if *e == (0, 0) {
                    self.self_access.remove(path);
                }
                return Ok(());
            }
        }
        let meta = lstat(path);
        if meta.as_ref().is_some_and(Meta::is_dir) {
            return Ok(()); // directory listings (ours included) are not file reads
        }
        let ev = self.fields.event(t, path, meta.as_ref(), false);
        self.out.emit(ev, false)
    }

    pub fn unwatch_all(&mut self, wds: &[i32], dir: &Path) {
        for &wd in wds {
            self.backend.unwatch(wd);
        }
        self.backend.unwatch_path(dir);
    }
}
