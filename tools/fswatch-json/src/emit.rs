//! Output side: the record writer and the optional debouncer in front of it.
//!
//! Without `--debounce` every event goes straight to the buffered writer
//! (flushed by the event loop whenever the event channel is empty). With
//! it, events wait per subject path until the path has been quiet for the
//! window; a later event replaces an earlier one (the last type wins), and
//! an atomic save — a temp file seen within the window and then renamed
//! over the target — becomes one `modified` (or `created`) of the target.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dlp_core::output::RecordWriter;
use dlp_core::records::{path_from_field, EventType, FsEvent};

/// Coalesces events per path.
struct Debouncer {
    window: Duration,
    pending: HashMap<PathBuf, (FsEvent, u64)>,
    /// (deadline, path, generation); deadlines are non-decreasing.
    queue: VecDeque<(Instant, PathBuf, u64)>,
    generation: u64,
}

impl Debouncer {
    fn push(&mut self, mut ev: FsEvent, dest_existed: bool, now: Instant) {
        if ev.event_type == EventType::Moved {
            let src = path_from_field(&ev.src_path, ev.src_path_b64.as_deref());
            if self.pending.remove(&src).is_some() {
                // Atomic save: the temp file's burst and the rename are one change of the target.
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
                ev = save;
            }
        }
        let key = ev.subject();
        self.generation += 1;
        if ev.previous_sha256.is_none() {
            // Keep the hash from before the burst, so the coalesced event still says what it replaced.
            if let Some((old, _)) = self.pending.get(&key) {
                ev.previous_sha256 = old.previous_sha256.clone();
            }
        }
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

/// Where events go.
pub struct Emitter<W: Write> {
    out: RecordWriter<W>,
    debounce: Option<Debouncer>,
    /// Events written so far.
    pub written: u64,
    /// Removable-media tags (`--mounts`).
    pub tags: Option<crate::mounts::Tags>,
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
        }
    }

    /// Emits one event. `dest_existed` tells the debouncer whether a move
    /// replaced an existing file (for atomic-save detection).
    pub fn emit(&mut self, mut ev: FsEvent, dest_existed: bool) -> anyhow::Result<()> {
        if let Some(t) = self.tags.as_mut() {
            t.tag(&mut ev);
        }
        if ev.host.is_none() {
            ev.host = dlp_core::host::this().map(str::to_owned);
        }
        match &mut self.debounce {
            Some(d) if ev.event_type != EventType::Overflow => {
                d.push(ev, dest_existed, Instant::now());
                Ok(())
            }
            _ => {
                self.drain(true)?;
                self.write(&ev)
            }
        }
    }

    fn write(&mut self, ev: &FsEvent) -> anyhow::Result<()> {
        self.written += 1;
        self.out.record(ev)
    }

    /// Writes the debounced events that are due (or all of them).
    pub fn drain(&mut self, all: bool) -> anyhow::Result<()> {
        match &self.debounce {
            Some(d) if !d.queue.is_empty() => {}
            _ => return Ok(()),
        }
        let now = Instant::now();
        while let Some(ev) = self.debounce.as_mut().and_then(|d| d.pop_due(now, all)) {
            self.write(&ev)?;
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
        let p = Path::new("/d/f");
        let out = run(vec![
            (FsEvent::new(EventType::Created, p), false),
            (FsEvent::new(EventType::Modified, p), false),
            (FsEvent::new(EventType::Modified, p), false),
            (FsEvent::new(EventType::Modified, Path::new("/d/g")), false),
        ]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].event_type, EventType::Modified);
        assert_eq!(out[0].src_path, "/d/f");
        assert_eq!(out[1].src_path, "/d/g");
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
