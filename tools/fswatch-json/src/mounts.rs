//! Removable media (`--mounts`): mount and unmount records, watching what
//! is plugged in, and spotting protected files copied onto it.
//!
//! Linux: `/proc/self/mountinfo` signals every change of the mount table
//! with `POLLPRI`; a thread waits for that (epoll through mio, no polling
//! loop), re-reads the table and sends the difference as [`MountChange`]s.
//! A mount is removable when its block device says so in sysfs
//! (`/sys/dev/block/MAJ:MIN/removable`, the parent's for a partition, or a
//! device on a USB bus) or when its mount point is under a `--mount-root`
//! (default `/media`, `/run/media`, `/mnt`: where desktops and admins mount
//! sticks; loop devices and tmpfs have no removable flag). Removable mounts
//! are watched like roots while mounted; events under them carry
//! `"removable": true` and, when a file there has the sha256 of a file in
//! the watched tree, `"copied_from"` names that file ([`Tags`]).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use dlp_record::{EventType, FsEvent};

use crate::engine::Engine;

/// One mounted file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub point: PathBuf,
    pub fstype: String,
    pub device: String,
    pub removable: bool,
}

/// A change of the mount table.
#[derive(Debug)]
pub enum MountChange {
    Mounted(Mount),
    Unmounted(Mount),
}

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Marks events under removable mounts and finds copies of watched files.
#[derive(Debug, Default)]
pub struct Tags {
    removable: Vec<PathBuf>,
    /// sha256 → a watched (non-removable) file with that content, and back.
    by_sha: HashMap<String, PathBuf>,
    sha_of: HashMap<PathBuf, String>,
}

impl Tags {
    fn on_removable(&self, p: &Path) -> bool {
        self.removable.iter().any(|m| p.starts_with(m))
    }

    fn remember(&mut self, path: PathBuf, sha: String) {
        if sha == EMPTY_SHA256 {
            return; // every empty file would be a "copy"
        }
        if let Some(old) = self.sha_of.insert(path.clone(), sha.clone()) {
            if self.by_sha.get(&old) == Some(&path) {
                self.by_sha.remove(&old);
            }
        }
        self.by_sha.insert(sha, path);
    }

    fn forget(&mut self, path: &Path) {
        if let Some(old) = self.sha_of.remove(path) {
            if self.by_sha.get(&old).is_some_and(|p| p == path) {
                self.by_sha.remove(&old);
            }
        }
    }

    /// Adds `removable`/`copied_from` to an event under removable media;
    /// keeps the content index of the watched tree from the others.
    pub fn tag(&mut self, ev: &mut FsEvent) {
        if matches!(ev.event_type, EventType::Mounted | EventType::Unmounted) {
            return;
        }
        let subject = ev.subject();
        if self.on_removable(&subject) {
            ev.removable = Some(true);
            if let Some(orig) = ev.sha256.as_ref().and_then(|s| self.by_sha.get(s)) {
                ev.copied_from = Some(orig.to_string_lossy().into_owned());
            }
            if ev.event_type == EventType::Moved {
                self.forget(&dlp_record::path_from_field(
                    &ev.src_path,
                    ev.src_path_b64.as_deref(),
                ));
            }
            return;
        }
        match ev.event_type {
            EventType::Deleted => self.forget(&subject),
            EventType::Moved => {
                self.forget(&dlp_record::path_from_field(
                    &ev.src_path,
                    ev.src_path_b64.as_deref(),
                ));
                if let Some(s) = ev.sha256.clone() {
                    self.remember(subject, s);
                }
            }
            _ => {
                if let Some(s) = ev.sha256.clone() {
                    self.remember(subject, s);
                }
            }
        }
    }
}

/// Parses `/proc/self/mountinfo` into (mount id, major, minor, point, fstype, source).
pub fn parse_mountinfo(text: &str) -> Vec<(u64, u32, u32, PathBuf, String, String)> {
    let mut v = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        if f.len() < sep + 3 || sep < 6 {
            continue;
        }
        let (Ok(id), Some((maj, min))) = (f[0].parse(), f[2].split_once(':')) else {
            continue;
        };
        let (Ok(maj), Ok(min)) = (maj.parse(), min.parse()) else {
            continue;
        };
        v.push((
            id,
            maj,
            min,
            unescape(f[4]),
            f[sep + 1].to_owned(),
            unescape(f[sep + 2]).to_string_lossy().into_owned(),
        ));
    }
    v
}

/// Undoes mountinfo's octal escapes (`\040` for a space) into raw bytes.
fn unescape(s: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if let Some(v) = s
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// Whether a mount is removable media (see the module docs).
pub fn is_removable(point: &Path, major: u32, minor: u32, roots: &[PathBuf]) -> bool {
    if roots.iter().any(|r| point.starts_with(r)) {
        return true;
    }
    if major == 0 {
        return false; // no block device (tmpfs, proc, overlay, ...)
    }
    let Ok(dev) = std::fs::canonicalize(format!("/sys/dev/block/{major}:{minor}")) else {
        return false;
    };
    let flag =
        |d: &Path| std::fs::read_to_string(d.join("removable")).is_ok_and(|s| s.trim() == "1");
    flag(&dev)
        || (dev.join("partition").exists() && dev.parent().is_some_and(flag))
        || dev.to_string_lossy().contains("/usb")
}

/// The mount table keyed by mount id.
#[cfg(target_os = "linux")]
type Table = HashMap<u64, Mount>;

#[cfg(target_os = "linux")]
fn read_table(f: &std::fs::File, roots: &[PathBuf]) -> std::io::Result<Table> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = f;
    f.seek(SeekFrom::Start(0))?;
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    Ok(parse_mountinfo(&text)
        .into_iter()
        .map(|(id, maj, min, point, fstype, device)| {
            let removable = is_removable(&point, maj, min, roots);
            (
                id,
                Mount {
                    point,
                    fstype,
                    device,
                    removable,
                },
            )
        })
        .collect())
}

/// Starts the mount-table thread; returns the mounts present now.
#[cfg(target_os = "linux")]
fn spawn(
    tx: crossbeam_channel::Sender<crate::Msg>,
    roots: Vec<PathBuf>,
) -> anyhow::Result<Vec<Mount>> {
    use anyhow::Context;
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};
    use std::os::fd::AsRawFd;

    let file =
        std::fs::File::open("/proc/self/mountinfo").context("--mounts: /proc/self/mountinfo")?;
    let mut poll = Poll::new().context("--mounts: epoll")?;
    poll.registry()
        .register(
            &mut SourceFd(&file.as_raw_fd()),
            Token(0),
            Interest::PRIORITY,
        )
        .context("--mounts: watching /proc/self/mountinfo")?;
    // Read after registering, so no change can fall in between.
    let mut known = read_table(&file, &roots).context("--mounts: reading /proc/self/mountinfo")?;
    let mut now: Vec<Mount> = known.values().cloned().collect();
    now.sort_by(|a, b| a.point.cmp(&b.point));
    std::thread::Builder::new()
        .name("mounts".into())
        .spawn(move || {
            let mut events = Events::with_capacity(4);
            loop {
                if let Err(e) = poll.poll(&mut events, None) {
                    if e.kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    let _ = tx.send(crate::Msg::Warn(format!(
                        "--mounts: {e}; mount changes are no longer reported"
                    )));
                    return;
                }
                let table = match read_table(&file, &roots) {
                    Ok(t) => t,
                    Err(e) => {
                        let _ = tx.send(crate::Msg::Warn(format!(
                            "--mounts: reading /proc/self/mountinfo: {e}"
                        )));
                        continue;
                    }
                };
                let mut changes = Vec::new();
                for (id, m) in &known {
                    if !table.contains_key(id) {
                        changes.push(MountChange::Unmounted(m.clone()));
                    }
                }
                let mut added: Vec<&Mount> = table
                    .iter()
                    .filter(|(id, _)| !known.contains_key(id))
                    .map(|(_, m)| m)
                    .collect();
                added.sort_by(|a, b| a.point.cmp(&b.point)); // parents before children
                changes.extend(added.into_iter().cloned().map(MountChange::Mounted));
                known = table;
                for c in changes {
                    if tx.send(crate::Msg::Mount(c)).is_err() {
                        return;
                    }
                }
            }
        })?;
    Ok(now)
}

#[cfg(not(target_os = "linux"))]
fn spawn(
    _tx: crossbeam_channel::Sender<crate::Msg>,
    _roots: Vec<PathBuf>,
) -> anyhow::Result<Vec<Mount>> {
    anyhow::bail!("--mounts needs Linux (/proc/self/mountinfo); on macOS, watch /Volumes instead")
}

/// `--mounts`: starts watching the mount table, indexes the watched tree's
/// hashes, and watches the removable media mounted now.
pub fn start<W: Write>(
    eng: &mut Engine<W>,
    tx: crossbeam_channel::Sender<crate::Msg>,
) -> anyhow::Result<()> {
    let present = spawn(tx, eng.cfg.mount_roots.clone())?;
    let mut tags = Tags::default();
    for (dir, node) in &eng.tree.dirs {
        for (name, meta) in &node.entries {
            if let Some(sha) = meta.sha_hex() {
                tags.remember(dir.join(name), sha);
            }
        }
    }
    eng.out.tags = Some(tags);
    for m in present.into_iter().filter(|m| m.removable) {
        watch(eng, &m)?;
    }
    Ok(())
}

fn watch<W: Write>(eng: &mut Engine<W>, m: &Mount) -> anyhow::Result<()> {
    if eng.roots.contains(&m.point) || !m.point.is_dir() {
        return Ok(());
    }
    eprintln!(
        "fswatch-json: watching removable media {} ({} {})",
        m.point.display(),
        m.fstype,
        m.device
    );
    if let Some(t) = eng.out.tags.as_mut() {
        t.removable.push(m.point.clone());
    }
    eng.roots.push(m.point.clone());
    let reason = eng.cfg.initial_scan.then_some("initial_scan");
    eng.add_tree(&m.point, reason)
}

fn record(t: EventType, m: &Mount) -> FsEvent {
    let mut ev = FsEvent::new(t, &m.point);
    ev.is_directory = true;
    ev.fstype = Some(m.fstype.clone());
    ev.device = Some(m.device.clone());
    ev.removable = Some(m.removable);
    ev
}

/// Handles one change of the mount table.
pub fn on_change<W: Write>(eng: &mut Engine<W>, c: MountChange) -> anyhow::Result<()> {
    match c {
        MountChange::Mounted(m) => {
            eng.out.emit(record(EventType::Mounted, &m), false)?;
            if m.removable {
                watch(eng, &m)?;
            }
        }
        MountChange::Unmounted(m) => {
            if eng.roots.contains(&m.point)
                && eng
                    .out
                    .tags
                    .as_ref()
                    .is_some_and(|t| t.removable.contains(&m.point))
            {
                // The files did not go anywhere: drop them from the view silently.
                let (_, wds) = eng.tree.remove_subtree(&m.point);
                eng.unwatch_all(&wds, &m.point);
                eng.roots.retain(|r| r != &m.point);
                if let Some(t) = eng.out.tags.as_mut() {
                    t.removable.retain(|r| r != &m.point);
                }
                eprintln!(
                    "fswatch-json: removable media {} unmounted",
                    m.point.display()
                );
            }
            eng.out.emit(record(EventType::Unmounted, &m), false)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_lines() {
        let t = "36 35 98:0 /mnt1 /mnt/my\\040stick rw,noatime master:1 - vfat /dev/sdb1 rw\n\
                 40 35 0:39 / /tmp/x rw,relatime - tmpfs none rw\n";
        let v = parse_mountinfo(t);
        assert_eq!(v.len(), 2);
        assert_eq!(
            v[0],
            (
                36,
                98,
                0,
                PathBuf::from("/mnt/my stick"),
                "vfat".into(),
                "/dev/sdb1".into()
            )
        );
        assert_eq!(v[1].3, PathBuf::from("/tmp/x"));
        assert!(is_removable(&v[0].3, 98, 0, &[PathBuf::from("/mnt")]));
        assert!(!is_removable(&v[1].3, 0, 39, &[PathBuf::from("/mnt")]));
    }

    #[test]
    fn tags_events_on_removable_media_and_finds_copies() {
        let mut t = Tags::default();
        t.removable.push(PathBuf::from("/media/usb"));
        let mut a = FsEvent::new(EventType::Created, Path::new("/home/a/secret.csv"));
        a.sha256 = Some("ab".into());
        t.tag(&mut a);
        assert_eq!((a.removable, a.copied_from.as_deref()), (None, None));
        let mut b = FsEvent::new(EventType::Modified, Path::new("/media/usb/x.csv"));
        b.sha256 = Some("ab".into());
        t.tag(&mut b);
        assert_eq!(
            (b.removable, b.copied_from.as_deref()),
            (Some(true), Some("/home/a/secret.csv"))
        );
        let mut d = FsEvent::new(EventType::Deleted, Path::new("/home/a/secret.csv"));
        t.tag(&mut d);
        let mut c = FsEvent::new(EventType::Created, Path::new("/media/usb/y.csv"));
        c.sha256 = Some("ab".into());
        t.tag(&mut c);
        assert_eq!(c.copied_from, None);
    }
}
