//! Backend on the notify crate: `--poll` (PollWatcher, for NFS/CIFS/FUSE
//! where kernel notifications do not see remote changes) and the native
//! watcher on platforms other than Linux.
//!
//! notify's events carry full paths; they are translated into [`Change`]s
//! for the engine. Renames arrive as From/To halves and sometimes also as a
//! paired `Both`; a `Both` whose halves were already seen is dropped so a
//! rename is reported once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crossbeam_channel::Sender;
use notify::event::{AccessKind, AccessMode, EventKind, Flag, ModifyKind, RenameMode};
use notify::{Event, RecursiveMode, Watcher};

use crate::{Change, Msg};

/// A notify watcher and how it is used.
pub struct NotifyBackend {
    watcher: Box<dyn Watcher + Send>,
    /// Native watcher: one non-recursive watch per directory (placed by the engine).
    per_dir: bool,
    count: usize,
}

fn translate(ev: Event, last_pair: &mut Option<usize>) -> Vec<Change> {
    if ev.flag() == Some(Flag::Rescan) {
        return vec![Change::Overflow];
    }
    let p = |i: usize| ev.paths.get(i).cloned();
    let mut out = Vec::new();
    let is_dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    match ev.kind {
        EventKind::Create(k) => {
            if let Some(path) = p(0) {
                let d = matches!(k, notify::event::CreateKind::Folder) || is_dir(&path);
                out.push(Change::Created { path, is_dir: d });
            }
        }
        EventKind::Remove(k) => {
            if let Some(path) = p(0) {
                out.push(Change::Deleted {
                    path,
                    is_dir: matches!(k, notify::event::RemoveKind::Folder),
                });
            }
        }
        EventKind::Modify(ModifyKind::Name(mode)) => {
            let tracker = ev.tracker().unwrap_or(0) as u32;
            match (mode, p(0), p(1)) {
                (RenameMode::Both, Some(from), Some(to))
                    if ev.tracker().is_none() || *last_pair != ev.tracker() =>
                {
                    let d = is_dir(&to);
                    out.push(Change::Moved {
                        from,
                        to,
                        is_dir: d,
                    });
                }
                (RenameMode::Both, ..) => {}
                (RenameMode::From, Some(path), _) => out.push(Change::MovedFrom {
                    path,
                    cookie: tracker,
                    is_dir: false,
                }),
                (RenameMode::To, Some(path), _) => {
                    *last_pair = ev.tracker();
                    let d = is_dir(&path);
                    out.push(Change::MovedTo {
                        path,
                        cookie: tracker,
                        is_dir: d,
                    });
                }
                (_, Some(path), _) => {
                    let d = is_dir(&path);
                    if path.exists() {
                        out.push(Change::Created { path, is_dir: d });
                    } else {
                        out.push(Change::Deleted { path, is_dir: d });
                    }
                }
                _ => {}
            }
        }
        EventKind::Modify(k) => {
            if let Some(path) = p(0) {
                out.push(Change::Modified {
                    path,
                    attrib: matches!(k, ModifyKind::Metadata(_)),
                });
            }
        }
        EventKind::Access(AccessKind::Open(_)) => out.extend(p(0).map(Change::Opened)),
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
            out.extend(p(0).map(Change::Closed))
        }
        EventKind::Access(AccessKind::Close(_)) => out.extend(p(0).map(Change::ClosedNoWrite)),
        _ => {}
    }
    out
}

/// The callback notify runs for each event: translate it and pass it on;
/// errors become warnings prefixed with `label`.
fn event_handler(
    tx: Sender<Msg>,
    label: &'static str,
) -> impl FnMut(notify::Result<Event>) + Send + 'static {
    let mut last_pair = None;
    move |res: notify::Result<Event>| {
        if crate::debug::dropping() {
            return;
        }
        match res {
            Ok(ev) => {
                for c in translate(ev, &mut last_pair) {
                    let _ = tx.send(Msg::Change(c));
                }
            }
            Err(e) => {
                let _ = tx.send(Msg::Warn(format!("{label}: {e}")));
            }
        }
    }
}

impl NotifyBackend {
    /// A PollWatcher on `roots`, started now (before the engine's own walk,
    /// so nothing changed between the two snapshots is missed).
    pub fn poll(
        tx: Sender<Msg>,
        interval: Duration,
        roots: &[PathBuf],
        recursive: bool,
    ) -> anyhow::Result<Self> {
        let handler = event_handler(tx, "poll");
        let cfg = notify::Config::default()
            .with_poll_interval(interval)
            .with_compare_contents(false);
        let mut watcher = notify::PollWatcher::new(handler, cfg)?;
        let mode = if recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        for r in roots {
            watcher
                .watch(r, mode)
                .map_err(|e| anyhow::anyhow!("{}: {e}", r.display()))?;
        }
        Ok(NotifyBackend {
            watcher: Box::new(watcher),
            per_dir: false,
            count: 0,
        })
    }

    /// The platform's native watcher (non-Linux), one watch per directory.
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    pub fn native(tx: Sender<Msg>) -> anyhow::Result<Self> {
        let handler = event_handler(tx, "watch");
        let watcher = notify::recommended_watcher(handler)?;
        Ok(NotifyBackend {
            watcher: Box::new(watcher),
            per_dir: true,
            count: 0,
        })
    }

    /// Places a watch on `dir` when this backend watches per directory.
    pub fn watch_dir(&mut self, dir: &Path) -> Option<i32> {
        if !self.per_dir {
            self.count += 1;
            return None;
        }
        match self.watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.count += 1;
                None
            }
            Err(e) => {
                eprintln!("fswatch-json: cannot watch {}: {e}", dir.display());
                None
            }
        }
    }

    /// Stops watching `dir` (native backend only).
    pub fn unwatch_path(&mut self, dir: &Path) {
        if self.per_dir && self.watcher.unwatch(dir).is_ok() {
            self.count = self.count.saturating_sub(1);
        }
    }

    pub fn count(&self) -> usize {
        self.count
    }
}
