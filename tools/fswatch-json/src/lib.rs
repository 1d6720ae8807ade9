//! fswatch-json: a lossless real-time file watcher writing FsEvent NDJSON,
//! with content hashes and a persisted baseline for integrity monitoring.
//!
//! Threads: a backend thread (inotify reader or notify's poller) sends
//! messages into a bounded channel ([`QUEUE`] messages); the main thread
//! owns the tree view, the watch set and the output, so no locks are
//! needed. Output is flushed whenever the channel is empty. When stdout is
//! not read, the main thread blocks on it, the channel fills and the
//! backend stops reading: memory stays bounded and the kernel's queue
//! overflows instead (then a rescan reports what it dropped).

mod attrs;
mod cli;
mod debug;
mod emit;
mod engine;
#[cfg(target_os = "linux")]
mod inotify_backend;
mod mounts;
mod notify_backend;
mod record;
mod scan;
mod state;
mod tree;
#[cfg(target_os = "linux")]
mod who;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use dlp_runtime::ExitCode;
use dlp_runtime::RecordWriter;

pub use engine::Change;
use engine::Engine;
use notify_backend::NotifyBackend;

/// What the backend and signal threads send to the main loop.
pub enum Msg {
    #[cfg(target_os = "linux")]
    Inotify(Vec<inotify_backend::RawEvent>),
    Change(Change),
    /// An injected overflow (see `debug`).
    Overflow,
    /// A signal arrived: look at `signals::requested()`.
    Wake,
    /// The mount table changed (`--mounts`).
    Mount(mounts::MountChange),
    Warn(String),
    Error(String),
}

/// Messages the backend may queue ahead of the main loop (inotify
/// messages carry up to 4096 events each).
const QUEUE: usize = 8;

/// The watch mechanism in use.
pub enum Backend {
    #[cfg(target_os = "linux")]
    Inotify(inotify_backend::InotifyBackend),
    Notify(NotifyBackend),
    /// No watching: a one-shot walk (`--check`).
    Off,
}

impl Backend {
    fn watch_dir(&mut self, dir: &Path, is_root: bool) -> std::io::Result<Option<i32>> {
        match self {
            #[cfg(target_os = "linux")]
            Backend::Inotify(b) => b.watch_dir(dir, is_root),
            Backend::Notify(b) => {
                let _ = is_root;
                Ok(b.watch_dir(dir))
            }
            Backend::Off => Ok(None),
        }
    }
    fn unwatch(&mut self, wd: i32) {
        #[cfg(target_os = "linux")]
        if let Backend::Inotify(b) = self {
            b.unwatch(wd);
        }
        let _ = wd;
    }
    fn unwatch_path(&mut self, dir: &Path) {
        if let Backend::Notify(b) = self {
            b.unwatch_path(dir);
        }
    }
    fn rename(&mut self, wd: i32, to: PathBuf) {
        #[cfg(target_os = "linux")]
        if let Backend::Inotify(b) = self {
            b.rename(wd, to);
            return;
        }
        let _ = (wd, to);
    }
    fn is_inotify(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Backend::Inotify(_) = self {
            return true;
        }
        false
    }
    fn count(&self) -> usize {
        match self {
            #[cfg(target_os = "linux")]
            Backend::Inotify(b) => b.count(),
            Backend::Notify(b) => b.count(),
            Backend::Off => 0,
        }
    }
}

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <cli::Args as clap::CommandFactory>::command()
}

/// Entry point for the binary.
pub fn main() -> std::process::ExitCode {
    let args: cli::Args = dlp_runtime::cli::parse("fswatch-json", command());
    dlp_runtime::run_main("fswatch-json", || run(args))
}

fn run(args: cli::Args) -> anyhow::Result<ExitCode> {
    let cfg = args.into_config()?;
    if let (true, Some(p)) = (cfg.list, &cfg.state) {
        let mut out = std::io::stdout().lock();
        return match state::list(p, &mut out) {
            Err(e) if dlp_runtime::is_broken_pipe(&e) => Ok(ExitCode::Ok),
            r => r.map(|()| ExitCode::Ok),
        };
    }
    if let Some(p) = &cfg.state {
        // Fail now, not when the baseline is first saved.
        dlp_store::spool::check_file_dir(p, "--state")?;
    }
    let mut roots = Vec::new();
    for p in &cfg.paths {
        match scan::check_root(p) {
            Ok(()) => roots.push(p.clone()),
            Err(e) if cfg.paths.len() > 1 => eprintln!("fswatch-json: {e:#} (skipped)"),
            Err(e) => return Err(e),
        }
    }
    if roots.is_empty() {
        anyhow::bail!("none of the given paths can be watched");
    }
    if cfg.check {
        return check(cfg, roots);
    }
    let (tx, rx) = crossbeam_channel::bounded::<Msg>(QUEUE);
    dlp_runtime::signals::install()?;
    let wake = tx.clone();
    dlp_runtime::signals::on_signal(move || {
        // A full queue wakes the loop anyway.
        let _ = wake.try_send(Msg::Wake);
    });
    debug::install(tx.clone())?;

    let backend = match cfg.poll {
        Some(iv) => Backend::Notify(NotifyBackend::poll(tx.clone(), iv, &roots, cfg.recursive)?),
        #[cfg(target_os = "linux")]
        None => Backend::Inotify(inotify_backend::InotifyBackend::start(
            tx.clone(),
            cfg.access,
        )?),
        #[cfg(not(target_os = "linux"))]
        None => Backend::Notify(NotifyBackend::native(tx.clone())?),
    };
    let mount_tx = cfg.mounts.then(|| tx.clone());
    drop(tx);
    let baseline = match &cfg.state {
        Some(p) => state::load(p)?,
        None => None,
    };
    #[allow(unused_mut)]
    let mut out = emit::Emitter::new(RecordWriter::stdout(), cfg.debounce);
    #[cfg(target_os = "linux")]
    if cfg.who {
        out.who = Some(who::Who::start()?);
    }
    #[cfg(not(target_os = "linux"))]
    if cfg.who {
        anyhow::bail!("--who needs Linux (fanotify)");
    }
    let mut eng = Engine::new(cfg, backend, out, roots.clone());
    let initial = eng.cfg.initial_scan;
    for r in &roots {
        let reason = initial.then_some("initial_scan");
        eng.add_tree_with(r, reason, baseline.as_ref())?;
    }
    if let Some(mtx) = mount_tx {
        mounts::start(&mut eng, mtx)?;
    }
    announce(&eng);
    if let Some(base) = &baseline {
        // With --initial-scan everything present was just reported; only deletions remain.
        eng.compare_baseline(base, !initial)?;
    }
    drop(baseline);
    let result = event_loop(&mut eng, &rx);
    // Save the baseline on every way out (signal, closed stdout, error).
    let saved = save_state(&mut eng);
    let flushed = eng.out.drain(true).and_then(|()| eng.out.flush());
    result?;
    flushed?;
    saved?;
    Ok(ExitCode::Ok)
}

/// `--check`: walks the tree (hashing every file again), compares it with
/// the baseline and writes the differences; with `--update`, or without a
/// baseline yet, saves the tree as the baseline.
fn check(cfg: cli::Config, roots: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let state = cfg.state.clone().expect("--check requires --state");
    let baseline = state::load(&state)?;
    let update = cfg.update;
    let out = emit::Emitter::new(RecordWriter::stdout(), None);
    let mut eng = Engine::new(cfg, Backend::Off, out, roots.clone());
    for r in &roots {
        eng.add_tree_with(r, None, None)?;
    }
    let Some(base) = baseline else {
        save_state(&mut eng)?;
        eprintln!(
            "fswatch-json: no baseline at {} yet: recorded {} entries; later runs with --check compare against it",
            state.display(),
            eng.tree.dirs.values().map(|d| d.entries.len()).sum::<usize>()
        );
        return Ok(ExitCode::Ok);
    };
    let n = eng.compare_baseline(&base, true)?;
    eng.out.drain(true)?;
    eng.out.flush()?;
    if update {
        save_state(&mut eng)?;
        eprintln!(
            "fswatch-json: {n} difference(s) accepted; {} is the new baseline",
            state.display()
        );
        return Ok(ExitCode::Ok);
    }
    if n > 0 {
        eprintln!(
            "fswatch-json: {n} difference(s) from the baseline {}",
            state.display()
        );
        return Ok(ExitCode::Rejected);
    }
    Ok(ExitCode::Ok)
}

fn announce<W: Write>(eng: &Engine<W>) {
    let n = eng.backend.count();
    match (&eng.backend, eng.cfg.poll) {
        (_, Some(iv)) => eprintln!(
            "fswatch-json: watching {n} directories (polling every {} ms)",
            iv.as_millis()
        ),
        #[cfg(target_os = "linux")]
        (Backend::Inotify(b), None) => {
            let max = inotify_backend::max_user_watches().map_or("?".to_owned(), |m| m.to_string());
            let failed = if b.failed > 0 {
                format!("; {} directories NOT watched", b.failed)
            } else {
                String::new()
            };
            eprintln!(
                "fswatch-json: watching {n} directories ({n} of max_user_watches {max}{failed})"
            );
        }
        _ => eprintln!("fswatch-json: watching {n} directories"),
    }
}

fn save_state<W: Write>(eng: &mut Engine<W>) -> anyhow::Result<()> {
    if let Some(p) = eng.cfg.state.clone() {
        state::save(&p, &eng.tree)?;
        eng.dirty = false;
    }
    Ok(())
}

/// How long a MOVED_FROM waits for its MOVED_TO before it counts as a move out.
const MOVE_PAIR_WAIT: Duration = Duration::from_millis(50);

fn event_loop<W: Write>(eng: &mut Engine<W>, rx: &Receiver<Msg>) -> anyhow::Result<()> {
    let mut next_save = Instant::now() + eng.cfg.state_interval;
    loop {
        if dlp_runtime::signals::requested() {
            eng.expire_pending_moves(Duration::ZERO)?;
            return Ok(());
        }
        let msg = match rx.try_recv() {
            Ok(m) => Some(m),
            Err(TryRecvError::Disconnected) => return Ok(()),
            Err(TryRecvError::Empty) => {
                eng.out.flush()?;
                let now = Instant::now();
                let mut deadline = now + Duration::from_secs(3600);
                if let Some(t) = eng.pending_move_deadline(MOVE_PAIR_WAIT) {
                    deadline = deadline.min(t);
                }
                if let Some(t) = eng.out.next_deadline() {
                    deadline = deadline.min(t);
                }
                if eng.cfg.state.is_some() {
                    deadline = deadline.min(next_save);
                }
                match rx.recv_timeout(deadline.saturating_duration_since(now)) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return Ok(()),
                }
            }
        };
        if let Some(m) = msg {
            handle(eng, m)?;
            if eng.roots.is_empty() {
                return Ok(()); // every root was removed: nothing left to watch
            }
        }
        eng.expire_pending_moves(MOVE_PAIR_WAIT)?;
        eng.out.drain(false)?;
        if eng.cfg.state.is_some() && Instant::now() >= next_save {
            if eng.dirty {
                save_state(eng)?;
            }
            next_save = Instant::now() + eng.cfg.state_interval;
        }
    }
}

fn handle<W: Write>(eng: &mut Engine<W>, m: Msg) -> anyhow::Result<()> {
    match m {
        #[cfg(target_os = "linux")]
        Msg::Inotify(batch) => {
            for raw in batch {
                if let Some(c) = inotify_change(eng, raw) {
                    eng.on_change(c)?;
                }
            }
        }
        Msg::Change(c) => eng.on_change(c)?,
        Msg::Overflow => eng.on_change(Change::Overflow)?,
        Msg::Wake => {}
        Msg::Mount(c) => mounts::on_change(eng, c)?,
        Msg::Warn(w) => eprintln!("fswatch-json: {w}"),
        Msg::Error(e) => anyhow::bail!("{e}"),
    }
    Ok(())
}

/// Resolves a raw inotify event against the watch map.
#[cfg(target_os = "linux")]
fn inotify_change<W: Write>(eng: &mut Engine<W>, raw: inotify_backend::RawEvent) -> Option<Change> {
    use inotify::EventMask as M;
    let Backend::Inotify(b) = &mut eng.backend else {
        return None;
    };
    if raw.mask.contains(M::Q_OVERFLOW) {
        return Some(Change::Overflow);
    }
    if raw.mask.contains(M::IGNORED) {
        b.forget(raw.wd);
        return None;
    }
    let dir = b.dir_of(raw.wd)?.clone();
    let is_dir = raw.mask.contains(M::ISDIR);
    let Some(name) = raw.name else {
        // An event about the watched directory itself: only a root's own
        // removal matters (others are reported through the parent's watch).
        if raw.mask.intersects(M::DELETE_SELF | M::MOVE_SELF) && eng.roots.contains(&dir) {
            return Some(Change::RootGone(dir));
        }
        return None;
    };
    let path = dir.join(name);
    let m = raw.mask;
    Some(if m.contains(M::CREATE) {
        Change::Created { path, is_dir }
    } else if m.contains(M::MOVED_FROM) {
        Change::MovedFrom {
            path,
            cookie: raw.cookie,
            is_dir,
        }
    } else if m.contains(M::MOVED_TO) {
        Change::MovedTo {
            path,
            cookie: raw.cookie,
            is_dir,
        }
    } else if m.contains(M::DELETE) {
        Change::Deleted { path, is_dir }
    } else if m.contains(M::MODIFY) {
        Change::Modified {
            path,
            attrib: false,
        }
    } else if m.contains(M::ATTRIB) {
        Change::Modified { path, attrib: true }
    } else if m.contains(M::CLOSE_WRITE) {
        Change::Closed(path)
    } else if m.contains(M::CLOSE_NOWRITE) {
        Change::ClosedNoWrite(path)
    } else if m.contains(M::OPEN) {
        Change::Opened(path)
    } else {
        return None;
    })
}
