//! Building FsEvent records from the watcher's metadata (`--stat`, `--hash`).

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use dlp_record::{EventType, FsEvent};

use crate::tree::Meta;

/// Nanoseconds since the epoch as RFC 3339 (microsecond precision).
pub fn rfc3339_ns(ns: i64) -> String {
    let t = if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH
    };
    dlp_record::time::format_rfc3339(t)
}

/// Which optional fields to fill.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub stat: bool,
    pub hash: bool,
}

impl Fields {
    /// An event about `path` with `meta` (when known) and `is_dir` as fallback.
    pub fn event(self, t: EventType, path: &Path, meta: Option<&Meta>, is_dir: bool) -> FsEvent {
        let mut ev = FsEvent::new(t, path);
        self.fill(&mut ev, meta, is_dir);
        ev
    }

    /// Fills `is_directory` and the optional fields from `meta`.
    pub fn fill(self, ev: &mut FsEvent, meta: Option<&Meta>, is_dir: bool) {
        ev.is_directory = meta.map_or(is_dir, Meta::is_dir);
        let Some(m) = meta else { return };
        if self.stat {
            ev.size = Some(m.size);
            ev.mtime = Some(rfc3339_ns(m.mtime_ns));
            ev.mode = Some(format!("{:04o}", m.mode & 0o7777));
            ev.uid = Some(m.uid);
        }
        if self.hash {
            ev.sha256 = m.sha_hex();
        }
    }

    /// A synthetic event (initial scan, baseline, rescan, new directory).
    pub fn synthetic(
        self,
        t: EventType,
        path: &Path,
        meta: Option<&Meta>,
        is_dir: bool,
        reason: &str,
    ) -> FsEvent {
        let mut ev = self.event(t, path, meta, is_dir);
        ev.is_synthetic = true;
        ev.reason = Some(reason.to_owned());
        ev
    }
}
