//! Output side: the record writer and the optional debouncer in front of it.
//!
//! Without `--debounce` every event goes straight to the buffered writer
//! (flushed by the event loop whenever the event channel is empty). With
//! it, events wait per subject path until the path has been quiet for the
//! window; a later event replaces an earlier one (the last type wins, but
//! a file created within the window stays `created` with its latest
//! content), and an atomic save — a temp file seen within the window and
//! then renamed over the target — becomes one `modified` (or `created`) of
//! the target.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dlp_record::{path_from_field, EventType, FsEvent};
use dlp_runtime::RecordWriter;

/// Which events of one path may replace one another in the window: the
/// last of a class wins, but an event never replaces one of another class,
/// so a read right after a `chmod` cannot hide the `attrib`, nor a write
/// the read before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Class {
    /// What the path is and holds: created, modified, closed, deleted,
    /// moved, and the rest.
    Content,
    /// Metadata (`attrib`).
    Attrib,
    /// Reads: opened, closed_no_write.
    Access,
}

impl Class {
    fn of(t: EventType) -> Class {
        match t {
            EventType::Attrib => Class::Attrib,
            EventType::Opened | EventType::ClosedNoWrite => Class::Access,
            _ => Class::Content,
        }
    }
}

type Key = (PathBuf, Class);

/// Coalesces events per path and class.
struct Debouncer {
    window: Duration,
    pending: HashMap<Key, (FsEvent, u64)>,
    /// (deadline, key, generation); deadlines are non-decreasing.
    queue: VecDeque<(Instant, Key, u64)>,
    generation: u64,
}

impl Debouncer {
    fn push(&mut self, mut ev: FsEvent, dest_existed: bool, now: Instant) {
        if ev.event_type == EventType::Moved {
            let src = path_from_field(&ev.src_path, ev.src_path_b64.as_deref());
            let burst = [Class::Content, Class::Attrib, Class::Access]
                .map(|c| self.pending.remove(&(src.clone(), c)).is_some());
            if burst[0] {
                // Atomic save: the temp file's burst and the rename are one change of the target.
                ev = atomic_save(ev, dest_existed);
            }
        }
        let path = ev.subject();
        let created = self
            .pending
            .get(&(path.clone(), Class::Content))
            .is_some_and(|(old, _)| old.event_type == EventType::Created);
        match (created, ev.event_type) {
            // Opened and read right after it appeared (by its creator):
            // still only the new file.
            (true, EventType::Opened | EventType::ClosedNoWrite) => return,
            // Written, or chmod-ed, right after it appeared: still one new
            // file, with what it holds now (one alert per new file).
            (true, EventType::Modified | EventType::Closed | EventType::Attrib) => {
                ev.event_type = EventType::Created;
                ev.previous_sha256 = None;
                ev.previous = None;
                ev.changed.clear();
            }
            _ => {}
        }
        let key = (path, Class::of(ev.event_type));
        if let Some((old, _)) = self.pending.get(&key) {
            // Keep what was there before the burst, so the coalesced event
            // still says what it replaced.
            if ev.previous_sha256.is_none() {
                ev.previous_sha256 = old.previous_sha256.clone();
            }
            if let (Some(first), Some(now)) = (&old.previous, ev.previous.as_mut()) {
                merge_previous(now, first);
            }
        }
        self.generation += 1;
        self.pending.insert(key.clone(), (ev, self.generation));
        self.queue
            .push_back((now + self.window, key, self.generation));
    }

    fn pop_due(&mut self, now: Instant, all: bool) -> Option<FsEvent> {
        while let Some((deadline, _, _)) = self.queue.front() {
            if !all && *deadline > now {
                return None;
            }
            let (_, key, generation) = self.queue.pop_front()?;
            if self
                .pending
                .get(&key)
                .is_some_and(|(_, g)| *g == generation)
            {
                return self.pending.remove(&key).map(|(ev, _)| ev);
            }
        }
        None
    }
}

/// A temp file renamed over (or onto) its target: one `modified` (or
/// `created`) of the target with the temp file's content.
fn atomic_save(mut ev: FsEvent, dest_existed: bool) -> FsEvent {
    let t = if dest_existed {
        EventType::Modified
    } else {
        EventType::Created
    };
    let mut save = FsEvent::new(t, &ev.subject());
    save.is_directory = ev.is_directory;
    save.size = ev.size.take();
    save.mtime = ev.mtime.take();
    save.mode = ev.mode.take();
    save.uid = ev.uid.take();
    save.sha256 = ev.sha256.take();
    save.previous_sha256 = ev.previous_sha256.take();
    save.removable = ev.removable.take();
    save.copied_from = ev.copied_from.take();
    save
}

/// Two `attrib` events coalesced: the old value of each attribute is the
/// one before the first change.
fn merge_previous(now: &mut dlp_record::AttrValues, first: &dlp_record::AttrValues) {
    macro_rules! keep_first {
        ($($f:ident),*) => { $( if first.$f.is_some() { now.$f.clone_from(&first.$f); } )* };
    }
    keep_first!(mode, uid, gid, acl, xattrs, ino, nlink);
}

/// Where events go.
pub struct Emitter<W: Write> {
    out: RecordWriter<W>,
    debounce: Option<Debouncer>,
    /// Events written so far.
    pub written: u64,
    /// Removable-media tags (`--mounts`).
    pub tags: Option<crate::mounts::Tags>,
    /// The process behind each event (`--who`).
    #[cfg(target_os = "linux")]
    pub who: Option<crate::who::Who>,
}

impl<W: Write> Emitter<W> {
    pub fn new(out: RecordWriter<W>, debounce: Option<Duration>) -> Self {
        let debounce = debounce.map(|window| Debouncer {
            window,
            pending: HashMap::new(),
            queue: VecDeque::new(),
            generation: 0,
        });
        Emitter {
            out,
            debounce,
            written: 0,
            tags: None,
            #[cfg(target_os = "linux")]
            who: None,
        }
    }

    /// Emits one event. `dest_existed` tells the debouncer whether a move
    /// replaced an existing file (for atomic-save detection).
    pub fn emit(&mut self, mut ev: FsEvent, dest_existed: bool) -> anyhow::Result<()> {
        if let Some(t) = self.tags.as_mut() {
            t.tag(&mut ev);
        }
        if ev.host.is_none() {
            ev.host = dlp_record::host::this().map(str::to_owned);
        }
        match &mut self.debounce {
            Some(d) if ev.event_type != EventType::Overflow => {
                d.push(ev, dest_existed, Instant::now());
                Ok(())
            }
            _ => {
                self.drain(true)?;
                self.write(ev)
            }
        }
    }

    fn write(&mut self, mut ev: FsEvent) -> anyhow::Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(w) = &self.who {
            // A debounced event waited its window: fanotify's report of the
            // same access is in by now. Otherwise give it a moment.
            let wait = if self.debounce.is_some() {
                Duration::ZERO
            } else {
                Duration::from_millis(50)
            };
            w.attribute(&mut ev, wait);
        }
        self.written += 1;
        self.out.record(&ev)
    }

    /// Writes the debounced events that are due (or all of them).
    pub fn drain(&mut self, all: bool) -> anyhow::Result<()> {
        match &self.debounce {
            Some(d) if !d.queue.is_empty() => {}
            _ => return Ok(()),
        }
        let now = Instant::now();
        while let Some(ev) = self.debounce.as_mut().and_then(|d| d.pop_due(now, all)) {
            self.write(ev)?;
        }
        Ok(())
    }

    /// When the next debounced event is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.debounce
            .as_ref()
            .and_then(|d| d.queue.front().map(|(t, _, _)| *t))
    }

    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn run(events: Vec<(FsEvent, bool)>) -> Vec<FsEvent> {
        let mut buf = Vec::new();
        {
            let mut e = Emitter::new(RecordWriter::new(&mut buf), Some(Duration::from_secs(3600)));
            for (ev, existed) in events {
                e.emit(ev, existed).unwrap();
            }
            e.drain(true).unwrap();
            e.flush().unwrap();
        }
        buf.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    #[test]
    fn burst_on_one_path_becomes_last_type() {
        let (p, g) = (Path::new("/d/f"), Path::new("/d/g"));
        let out = run(vec![
            (FsEvent::new(EventType::Modified, p), false),
            (FsEvent::new(EventType::Deleted, p), false),
            (FsEvent::new(EventType::Modified, g), false),
        ]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].event_type, EventType::Deleted);
        assert_eq!(out[0].src_path, "/d/f");
        assert_eq!(out[1].src_path, "/d/g");
    }

    #[test]
    fn a_new_file_written_read_and_chmod_ed_at_once_is_one_created() {
        let p = Path::new("/d/f");
        let mut written = FsEvent::new(EventType::Modified, p);
        written.sha256 = Some("new".into());
        written.previous_sha256 = Some("empty".into());
        let out = run(vec![
            (FsEvent::new(EventType::Created, p), false),
            (FsEvent::new(EventType::Opened, p), false),
            (written, false),
            (FsEvent::new(EventType::ClosedNoWrite, p), false),
            (FsEvent::new(EventType::Attrib, p), false),
        ]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].event_type, EventType::Created);
        assert_eq!(out[0].previous_sha256, None);
    }

    #[test]
    fn a_read_or_a_write_never_hides_an_attrib_and_vice_versa() {
        let p = Path::new("/d/f");
        let mut chmod = FsEvent::new(EventType::Attrib, p);
        chmod.previous = Some(Box::new(dlp_record::AttrValues {
            mode: Some("0644".into()),
            ..Default::default()
        }));
        let mut again = FsEvent::new(EventType::Attrib, p);
        again.previous = Some(Box::new(dlp_record::AttrValues {
            mode: Some("0666".into()),
            ..Default::default()
        }));
        let out = run(vec![
            (chmod, false),
            (FsEvent::new(EventType::Opened, p), false),
            (FsEvent::new(EventType::Modified, p), false),
            (again, false),
            (FsEvent::new(EventType::ClosedNoWrite, p), false),
        ]);
        let types: Vec<EventType> = out.iter().map(|e| e.event_type).collect();
        assert_eq!(
            types,
            [
                EventType::Modified,
                EventType::Attrib,
                EventType::ClosedNoWrite
            ]
        );
        // Two chmods in the window: the old mode is the one before the first.
        assert_eq!(
            out[1].previous.as_ref().unwrap().mode.as_deref(),
            Some("0644")
        );
    }

    #[test]
    fn atomic_save_is_one_modified() {
        let tmp = Path::new("/d/.f.swp");
        let out = run(vec![
            (FsEvent::new(EventType::Created, tmp), false),
            (FsEvent::new(EventType::Modified, tmp), false),
            (
                FsEvent::new(EventType::Moved, tmp).with_dest(Path::new("/d/f")),
                true,
            ),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].event_type, EventType::Modified);
        assert_eq!(out[0].src_path, "/d/f");
        assert_eq!(out[0].dest_path, "");
    }

    #[test]
    fn plain_rename_stays_a_move() {
        let out = run(vec![(
            FsEvent::new(EventType::Moved, Path::new("/d/a")).with_dest(Path::new("/d/b")),
            false,
        )]);
        assert_eq!(out[0].event_type, EventType::Moved);
        assert_eq!(out[0].dest_path, "/d/b");
    }
}
