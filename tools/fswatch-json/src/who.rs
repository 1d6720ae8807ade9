//! `--who` (Linux, root): the process behind a read or a write.
//!
//! inotify says what happened to a file, never who did it. fanotify says
//! who: each of its events carries the pid of the process that opened,
//! read, wrote or closed the file, and an open descriptor of the file (its
//! path read back from `/proc/self/fd`). A thread reads the fanotify group,
//! turns each event into an [`Actor`] at once (the process may exit a
//! moment later: its name and user are read while it still exists) and
//! keeps the latest reader and the latest writer of each path for a few
//! seconds. When an event is written, [`Who::attribute`] adds `pid`,
//! `comm`, `process_uid` and `user` from the matching one.
//!
//! Marks mirror the inotify watches: one per watched directory, with
//! `FAN_EVENT_ON_CHILD`, added as directories are watched. What is
//! attributed: `opened`, `closed_no_write` (reads), `modified`, `closed`
//! and `created` (writes). What is not: deletions, moves and metadata
//! changes (fanotify reports those without a pid-to-file link unless
//! run in its file-handle mode, which this does not use); a process that
//! ended before its event was read (reported without `comm`/`user`); a
//! write through a memory mapping (no write event at all); and our own
//! reads (hashing) are left out.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dlp_record::{EventType, FsEvent};
use nix::sys::fanotify::{EventFFlags, Fanotify, InitFlags, MarkFlags, MaskFlags};

/// How long an actor stays attributable to a later event on its path.
const KEEP: Duration = Duration::from_secs(5);
/// Paths kept before old entries are pruned.
const PRUNE_AT: usize = 50_000;

/// The process behind an event.
#[derive(Debug, Clone)]
pub struct Actor {
    pub pid: u32,
    pub comm: Option<String>,
    pub uid: Option<u32>,
    pub user: Option<String>,
    at: Instant,
}

#[derive(Default)]
struct Recent {
    /// path → (latest reader, latest writer).
    map: HashMap<PathBuf, (Option<Actor>, Option<Actor>)>,
}

/// The fanotify group and what it has seen lately.
pub struct Who {
    fan: Arc<Fanotify>,
    recent: Arc<Mutex<Recent>>,
}

const READS: MaskFlags = MaskFlags::FAN_OPEN
    .union(MaskFlags::FAN_ACCESS)
    .union(MaskFlags::FAN_CLOSE_NOWRITE);
const WRITES: MaskFlags = MaskFlags::FAN_MODIFY.union(MaskFlags::FAN_CLOSE_WRITE);

impl Who {
    /// Opens a fanotify group and starts the thread that reads it.
    pub fn start() -> anyhow::Result<Who> {
        let fan = Fanotify::init(
            InitFlags::FAN_CLASS_NOTIF | InitFlags::FAN_CLOEXEC,
            EventFFlags::O_RDONLY | EventFFlags::O_LARGEFILE | EventFFlags::O_CLOEXEC,
        )
        .map_err(|e| {
            anyhow::anyhow!(
                "--who needs fanotify, which needs root (CAP_SYS_ADMIN): {}",
                e.desc()
            )
        })?;
        let who = Who {
            fan: Arc::new(fan),
            recent: Arc::new(Mutex::new(Recent::default())),
        };
        let (fan, recent) = (who.fan.clone(), who.recent.clone());
        std::thread::Builder::new()
            .name("fanotify".into())
            .spawn(move || read_loop(&fan, &recent))?;
        Ok(who)
    }

    /// Marks `dir` (events on the files in it).
    pub fn mark(&self, dir: &Path) {
        let mask = READS | WRITES | MaskFlags::FAN_EVENT_ON_CHILD;
        if let Err(e) = self.fan.mark(
            MarkFlags::FAN_MARK_ADD,
            mask,
            nix::fcntl::AT_FDCWD,
            Some(dir),
        ) {
            eprintln!(
                "fswatch-json: --who: cannot mark {}: {} (events there are not attributed)",
                dir.display(),
                e.desc()
            );
        }
    }

    /// Adds who did it to `ev` when a reader or writer of its path was
    /// seen within the last seconds. `wait`: how long to give the reader
    /// thread to catch up with an event not seen yet.
    pub fn attribute(&self, ev: &mut FsEvent, wait: Duration) {
        let write = match ev.event_type {
            EventType::Opened | EventType::ClosedNoWrite => false,
            EventType::Modified | EventType::Closed | EventType::Created => true,
            _ => return,
        };
        let path = ev.subject();
        let deadline = Instant::now() + wait;
        loop {
            if let Some(a) = self.lookup(&path, write) {
                ev.pid = Some(a.pid);
                ev.comm = a.comm;
                ev.process_uid = a.uid;
                ev.user = a.user;
                return;
            }
            if Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn lookup(&self, path: &Path, write: bool) -> Option<Actor> {
        let r = self.recent.lock().ok()?;
        let (read, wrote) = r.map.get(path)?;
        let a = if write { wrote } else { read };
        a.as_ref().filter(|a| a.at.elapsed() < KEEP).cloned()
    }
}

fn read_loop(fan: &Fanotify, recent: &Mutex<Recent>) {
    let me = std::process::id();
    loop {
        let events = match fan.read_events() {
            Ok(v) => v,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                eprintln!("fswatch-json: --who: reading fanotify: {}", e.desc());
                return;
            }
        };
        for ev in events {
            let pid = ev.pid().max(0) as u32;
            let Some(fd) = ev.fd() else {
                continue; // queue overflow: nothing to attribute
            };
            if pid == me {
                continue;
            }
            let Ok(path) = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) else {
                continue;
            };
            let actor = actor(pid);
            let write = ev.mask().intersects(WRITES);
            let Ok(mut r) = recent.lock() else { return };
            if r.map.len() >= PRUNE_AT {
                r.map.retain(|_, (a, b)| {
                    a.as_ref().is_some_and(|a| a.at.elapsed() < KEEP)
                        || b.as_ref().is_some_and(|b| b.at.elapsed() < KEEP)
                });
            }
            let slot = r.map.entry(path).or_default();
            if write {
                slot.1 = Some(actor);
            } else {
                slot.0 = Some(actor);
            }
        }
    }
}

/// What `/proc` says about `pid` now (name, real uid, user name).
fn actor(pid: u32) -> Actor {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_owned());
    let uid = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next()?.parse().ok())
        });
    Actor {
        pid,
        comm,
        uid,
        user: uid.and_then(user_name),
        at: Instant::now(),
    }
}

/// The name of `uid` in `/etc/passwd`, looked up once per uid.
fn user_name(uid: u32) -> Option<String> {
    static NAMES: Mutex<Option<HashMap<u32, Option<String>>>> = Mutex::new(None);
    let mut names = NAMES.lock().ok()?;
    let names = names.get_or_insert_with(HashMap::new);
    names
        .entry(uid)
        .or_insert_with(|| {
            let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
            passwd.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                let id: u32 = f.nth(1)?.parse().ok()?;
                (id == uid).then(|| name.to_owned())
            })
        })
        .clone()
}
