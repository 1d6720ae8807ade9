//! Native Linux backend: one non-recursive inotify watch per directory.
//!
//! Why not notify's inotify watcher: notify 8.2 never requests
//! IN_CLOSE_NOWRITE (so reads of protected files cannot be reported),
//! always requests IN_OPEN (every read in the tree costs a kernel event even
//! when access events are not wanted) and places watches on every
//! subdirectory before any exclude can apply. This module uses the same
//! `inotify` crate notify uses, with a mask chosen from the options, and
//! leaves placement to the engine (which skips excluded subtrees).
//!
//! A dedicated thread reads the inotify descriptor into a bounded channel
//! (messages of at most [`MAX_BATCH`] events). While the output keeps up,
//! it reads as fast as the kernel fills the queue. When the output is
//! blocked (stdout not read) the channel fills, the thread stops reading,
//! and the kernel's own bounded queue (max_queued_events) overflows
//! instead of our memory growing: the kernel then delivers IN_Q_OVERFLOW,
//! and the engine's rescan reports what was dropped, so the stream stays
//! lossless with bounded memory.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask, Watches};

use crate::Msg;

/// One kernel event, owned, as sent by the reader thread.
#[derive(Debug)]
pub struct RawEvent {
    pub wd: i32,
    pub mask: EventMask,
    pub cookie: u32,
    pub name: Option<OsString>,
}

/// The watch set.
pub struct InotifyBackend {
    watches: Watches,
    map: HashMap<i32, (WatchDescriptor, PathBuf)>,
    mask: WatchMask,
    limit_hit: bool,
    /// Directories that could not be watched (limit, permissions).
    pub failed: usize,
}

/// fs.inotify.max_user_watches, when readable.
pub fn max_user_watches() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl InotifyBackend {
    /// Opens an inotify instance and starts its reader thread.
    pub fn start(tx: Sender<Msg>, access: bool) -> anyhow::Result<Self> {
        let mut inotify = Inotify::init().map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc_emfile()) {
                " (too many inotify instances or open files: raise fs.inotify.max_user_instances with \
                 `sysctl fs.inotify.max_user_instances=1024`, or the open-files limit with `ulimit -n`)"
            } else {
                ""
            };
            anyhow::anyhow!("cannot start inotify: {e}{hint}")
        })?;
        let watches = inotify.watches();
        let mut mask = WatchMask::CREATE
            | WatchMask::DELETE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::MODIFY
            | WatchMask::ATTRIB
            | WatchMask::ONLYDIR
            | WatchMask::DONT_FOLLOW
            | WatchMask::EXCL_UNLINK;
        if access {
            mask |= WatchMask::OPEN | WatchMask::CLOSE_WRITE | WatchMask::CLOSE_NOWRITE;
        }
        std::thread::Builder::new()
            .name("inotify-reader".into())
            .spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                let mut last_wake = Instant::now() - BURST_GAP;
                loop {
                    let mut batch: Vec<RawEvent> = Vec::new();
                    // Sleep in the kernel until something happens ...
                    match inotify.read_events_blocking(&mut buf) {
                        Ok(events) => collect(events, &mut batch),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            let _ = tx.send(Msg::Error(format!("reading inotify events: {e}")));
                            return;
                        }
                    }
                    // ... and during a burst let events gather for a moment,
                    // then drain them without blocking (no fcntl round trips),
                    // so one wake-up and one message carry hundreds of events.
                    // A lone event is passed on at once.
                    let now = Instant::now();
                    if now.duration_since(last_wake) < BURST_GAP {
                        std::thread::sleep(BURST_PAUSE);
                    }
                    last_wake = now;
                    loop {
                        match inotify.read_events(&mut buf) {
                            Ok(events) => {
                                let before = batch.len();
                                collect(events, &mut batch);
                                if batch.len() == before || batch.len() >= MAX_BATCH {
                                    break;
                                }
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            Err(e) => {
                                let _ = tx.send(Msg::Error(format!("reading inotify events: {e}")));
                                return;
                            }
                        }
                    }
                    if !batch.is_empty() && tx.send(Msg::Inotify(batch)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(InotifyBackend {
            watches,
            map: HashMap::new(),
            mask,
            limit_hit: false,
            failed: 0,
        })
    }

    /// Watches one directory. `Ok(None)` when it could not be watched for a
    /// reason that was reported (limit, permission); `Err` when it vanished.
    pub fn watch_dir(&mut self, dir: &Path, is_root: bool) -> Result<Option<i32>, std::io::Error> {
        if self.limit_hit {
            self.failed += 1;
            return Ok(None);
        }
        let mut mask = self.mask;
        if is_root {
            mask |= WatchMask::DELETE_SELF | WatchMask::MOVE_SELF;
        }
        match self.watches.add(dir, mask) {
            Ok(wd) => {
                let id = wd.get_watch_descriptor_id();
                self.map.insert(id, (wd, dir.to_path_buf()));
                Ok(Some(id))
            }
            Err(e) if e.raw_os_error() == Some(28) => {
                // ENOSPC from inotify_add_watch: the per-user watch limit.
                self.limit_hit = true;
                self.failed += 1;
                let max = max_user_watches().map_or("?".to_owned(), |m| m.to_string());
                let suggest = max_user_watches().map_or(524_288, |m| (m * 2).max(524_288));
                eprintln!(
                    "fswatch-json: inotify watch limit reached at {} (fs.inotify.max_user_watches = {max}, shared by \
                     all of this user's processes); directories beyond it are NOT watched. Raise it with: \
                     sudo sysctl fs.inotify.max_user_watches={suggest} (or exclude large trees with --exclude)",
                    dir.display()
                );
                Ok(None)
            }
            Err(e) if e.raw_os_error() == Some(libc_emfile()) => {
                self.failed += 1;
                eprintln!(
                    "fswatch-json: cannot watch {}: {e}; raise the open-files limit (`ulimit -n`)",
                    dir.display()
                );
                Ok(None)
            }
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::NotFound)
                    || e.raw_os_error() == Some(20) =>
            {
                Err(e)
            }
            Err(e) => {
                self.failed += 1;
                eprintln!("fswatch-json: cannot watch {}: {e}", dir.display());
                Ok(None)
            }
        }
    }

    /// The directory a watch is on.
    pub fn dir_of(&self, wd: i32) -> Option<&PathBuf> {
        self.map.get(&wd).map(|(_, p)| p)
    }

    /// Removes a watch we no longer want (the kernel may already have).
    pub fn unwatch(&mut self, wd: i32) {
        if let Some((w, _)) = self.map.remove(&wd) {
            let _ = self.watches.remove(w);
        }
    }

    /// The kernel removed a watch (IN_IGNORED).
    pub fn forget(&mut self, wd: i32) {
        self.map.remove(&wd);
    }

    /// A watched directory was renamed.
    pub fn rename(&mut self, wd: i32, to: PathBuf) {
        if let Some(e) = self.map.get_mut(&wd) {
            e.1 = to;
        }
    }

    pub fn count(&self) -> usize {
        self.map.len()
    }
}

const fn libc_emfile() -> i32 {
    24
}

/// Most events in one message to the main loop.
pub const MAX_BATCH: usize = 4096;

/// Wake-ups closer together than this mean a burst is under way.
const BURST_GAP: Duration = Duration::from_millis(10);
/// How long a burst's events gather before they are read.
const BURST_PAUSE: Duration = Duration::from_millis(1);

/// Appends a read's events to `batch` (unless an injected overflow is
/// discarding them, see `debug`).
fn collect(events: inotify::Events<'_>, batch: &mut Vec<RawEvent>) {
    batch.extend(
        events
            .filter(|_| !crate::debug::dropping())
            .map(|e| RawEvent {
                wd: e.wd.get_watch_descriptor_id(),
                mask: e.mask,
                cookie: e.cookie,
                name: e.name.map(|n| n.to_os_string()),
            }),
    );
}
