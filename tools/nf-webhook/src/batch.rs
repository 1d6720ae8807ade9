//! One spool entry holds a batch of accepted notifications (group commit:
//! one fsync for everything that arrived together). The entry is NDJSON,
//! one [`crate::worker::SpoolEntry`] per line, so an entry written by an
//! older nf-webhook (one compact JSON object) is simply a batch of one.
//!
//! Fetch workers take the items of a batch one by one, in parallel. A
//! [`Batch`] remembers which items are finished and keeps the file honest:
//! after an item's records are flushed (or it was moved to `failed`), the
//! entry is rewritten atomically without the finished items, and it is
//! removed once every item is finished. An item that emitted nothing (no
//! findings) is not worth a rewrite of its own: it leaves the file with the
//! next rewrite, and if a crash comes first, replaying it only repeats its
//! stderr lines.

use std::io;
use std::sync::{Arc, Mutex};

use dlp_store::spool::Spool;

/// Splits an entry into its items (non-blank lines).
pub fn split(data: &[u8]) -> Vec<Vec<u8>> {
    data.split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(<[u8]>::to_vec)
        .collect()
}

/// Joins items into an entry, one per line.
pub fn join<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        out.extend_from_slice(item);
        out.push(b'\n');
    }
    out
}

/// A spool entry being worked on.
#[derive(Debug)]
pub struct Batch {
    key: String,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    items: Vec<Vec<u8>>,
    done: Vec<bool>,
    left: usize,
}

/// What [`Batch::finish`] did to the spool entry.
#[derive(Debug, PartialEq, Eq)]
pub enum Finished {
    /// Nothing yet (the item leaves the file with a later rewrite).
    Kept,
    /// Rewritten without the finished items.
    Rewritten,
    /// Every item is finished; the entry is gone.
    Removed,
}

impl Batch {
    /// A batch stored under `key` holding `items`.
    pub fn new(key: String, items: Vec<Vec<u8>>) -> Arc<Self> {
        let n = items.len();
        Arc::new(Batch {
            key,
            state: Mutex::new(State {
                items,
                done: vec![false; n],
                left: n,
            }),
        })
    }

    /// The spool key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Number of items (finished or not).
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// True when the batch has no items at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of item `i`, or `None` once it is finished.
    pub fn item(&self, i: usize) -> Option<Vec<u8>> {
        let st = self.lock();
        (!st.done.get(i).copied().unwrap_or(true)).then(|| st.items[i].clone())
    }

    /// Marks item `i` finished. `durable`: its effects are visible outside
    /// (records flushed, dead letter written), so the entry must stop
    /// holding it now: it is rewritten (or removed when nothing is left)
    /// before this returns. Otherwise only the last item removes the entry.
    pub fn finish(&self, spool: &Spool, i: usize, durable: bool) -> io::Result<Finished> {
        let mut st = self.lock();
        if st.done.get(i).copied().unwrap_or(true) {
            return Ok(Finished::Kept);
        }
        st.done[i] = true;
        st.left -= 1;
        if st.left == 0 {
            spool.remove(&self.key)?;
            return Ok(Finished::Removed);
        }
        if !durable {
            return Ok(Finished::Kept);
        }
        let rest = join(
            st.items
                .iter()
                .zip(&st.done)
                .filter(|(_, &d)| !d)
                .map(|(it, _)| it.as_slice()),
        );
        // The lock is held while writing, so rewrites of one batch never
        // race on its temporary file and the last one written is the newest.
        spool.rewrite(&self.key, &rest)?;
        Ok(Finished::Rewritten)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_join_round_trip_and_old_single_entries() {
        let items = vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()];
        let data = join(items.iter().map(Vec::as_slice));
        assert_eq!(data, b"{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(split(&data), items);
        // An entry from before group commit: one object, no newline.
        assert_eq!(split(b"{\"a\":1}"), vec![b"{\"a\":1}".to_vec()]);
        assert!(split(b"\n \n").is_empty());
    }

    #[test]
    fn finish_rewrites_only_when_durable_and_removes_when_empty() {
        let dir = std::env::temp_dir().join(format!("nfw-batch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = Spool::open(&dir).unwrap();
        let items = vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()];
        let key = spool.put(&join(items.iter().map(Vec::as_slice))).unwrap();
        let b = Batch::new(key.clone(), items);
        assert_eq!(b.finish(&spool, 1, false).unwrap(), Finished::Kept);
        assert_eq!(b.item(1), None);
        assert_eq!(spool.read(&key).unwrap(), b"a\nb\nc\n");
        assert_eq!(b.finish(&spool, 0, true).unwrap(), Finished::Rewritten);
        assert_eq!(spool.read(&key).unwrap(), b"c\n");
        assert_eq!(b.finish(&spool, 0, true).unwrap(), Finished::Kept);
        assert_eq!(b.item(2), Some(b"c".to_vec()));
        assert_eq!(b.finish(&spool, 2, false).unwrap(), Finished::Removed);
        assert!(spool.list().unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
