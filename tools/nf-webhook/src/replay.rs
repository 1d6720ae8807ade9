//! The replay cache on disk, so a signed result captured and re-sent
//! after a restart is still refused. `<spool>/replay-cache` holds one line
//! per accepted signature, `<64 hex digits> <expiry, Unix seconds>`; the
//! committer appends a batch's signatures (one write, one fdatasync)
//! before the batch itself is written, so nothing is answered 200 whose
//! signature is not durable. On start the live lines are loaded (expired
//! and torn ones dropped) and the file is rewritten; while running it is
//! rewritten with only the live entries whenever it has grown to twice
//! their number, so it stays bounded by the in-memory cache
//! (`--replay-cache`) and entries never outlive the tolerance window.
//!
//! One edge is conservative: if the signatures are durable but the batch
//! write then fails (answered 503), those exact requests stay refused as
//! replays after a restart within the tolerance window; a sender retrying
//! with a new timestamp signs anew and is accepted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// File name inside the spool directory.
pub const FILE: &str = "replay-cache";

/// Fewest lines before a compaction is considered.
const COMPACT_MIN: usize = 4096;

/// One remembered signature and when it expires.
pub type Seen = ([u8; 32], u64);

/// The append-only log of accepted signatures.
pub struct ReplayLog {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    file: File,
    lines: usize,
    compact_at: usize,
}

impl ReplayLog {
    /// Loads the live entries (expiring after `now`) and rewrites the file
    /// with only those.
    pub fn open(dir: &Path, now: u64) -> io::Result<(ReplayLog, Vec<Seen>)> {
        let path = dir.join(FILE);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let live: Vec<Seen> = text
            .split(|&b| b == b'\n')
            .filter_map(parse_line)
            .filter(|&(_, exp)| exp > now)
            .collect();
        let file = rewrite(&path, &live)?;
        let log = ReplayLog {
            path,
            state: Mutex::new(State {
                file,
                lines: live.len(),
                compact_at: COMPACT_MIN.max(live.len() * 2),
            }),
        };
        Ok((log, live))
    }

    /// Appends `seen` durably. Returns true when the log has grown enough
    /// that the caller should [`ReplayLog::compact`] it.
    pub fn append(&self, seen: &[Seen]) -> io::Result<bool> {
        if seen.is_empty() {
            return Ok(false);
        }
        let mut buf = Vec::with_capacity(seen.len() * 80);
        for (key, exp) in seen {
            buf.extend_from_slice(format_line(key, *exp).as_bytes());
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.file.write_all(&buf)?;
        st.file.sync_data()?;
        st.lines += seen.len();
        Ok(st.lines >= st.compact_at)
    }

    /// Rewrites the log with only `live` (the in-memory cache's entries).
    pub fn compact(&self, live: &[Seen]) -> io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.file = rewrite(&self.path, live)?;
        st.lines = live.len();
        st.compact_at = COMPACT_MIN.max(live.len() * 2);
        Ok(())
    }
}

fn format_line(key: &[u8; 32], exp: u64) -> String {
    format!("{} {exp}\n", dlp_record::hash::hex(key))
}

fn parse_line(line: &[u8]) -> Option<Seen> {
    let line = std::str::from_utf8(line).ok()?;
    let (hex, exp) = line.split_once(' ')?;
    let key = <[u8; 32]>::try_from(dlp_record::hash::unhex(hex)?).ok()?;
    Some((key, exp.trim().parse().ok()?))
}

/// Writes `live` to a temporary file, fsyncs, renames it over `path`, and
/// returns the new file opened for appending.
fn rewrite(path: &Path, live: &[Seen]) -> io::Result<File> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    let mut buf = Vec::with_capacity(live.len() * 80);
    for (key, exp) in live {
        buf.extend_from_slice(format_line(key, *exp).as_bytes());
    }
    f.write_all(&buf)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    OpenOptions::new().append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_drops_expired_and_torn_lines_and_compacts() {
        let dir = std::env::temp_dir().join(format!("replay-log-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let (log, live) = ReplayLog::open(&dir, 100).unwrap();
        assert!(live.is_empty());
        assert!(!log.append(&[([1; 32], 150), ([2; 32], 250)]).unwrap());
        drop(log);
        // A torn last line from a crash is ignored.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join(FILE))
            .unwrap();
        f.write_all(b"abcd 99").unwrap();
        drop(f);
        let (log, live) = ReplayLog::open(&dir, 200).unwrap();
        assert_eq!(live, vec![([2; 32], 250)]);
        let text = fs::read_to_string(dir.join(FILE)).unwrap();
        assert_eq!(text.lines().count(), 1);
        // Growth past the threshold asks for a compaction.
        let many: Vec<Seen> = (0..COMPACT_MIN as u64)
            .map(|i| {
                let mut k = [0u8; 32];
                k[..8].copy_from_slice(&i.to_be_bytes());
                (k, 300)
            })
            .collect();
        assert!(log.append(&many).unwrap());
        log.compact(&[([2; 32], 250)]).unwrap();
        assert_eq!(
            fs::read_to_string(dir.join(FILE)).unwrap().lines().count(),
            1
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
