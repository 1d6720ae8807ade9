//! The spool entry of one batch, as the outbox reads and writes it.
//!
//! An entry is a JSON header line, then the batch. With the header
//! `{"lines":true}` ([`HEADER`]) the batch is one line per record (what the
//! line holds is the transport's business), so the outbox counts its
//! records and can split it in two. With `{"lines":true,"addressed":true}`
//! ([`ADDRESSED`]) each line is `<address>\t<record>`: what the transport
//! worked out for the record when it was spooled (where it goes, its id),
//! so sending it parses nothing again ([`Batch::push_addressed`],
//! [`split_address`]); a split or rewritten entry keeps its header, and a
//! dead-lettered one keeps only the records. A header `{"records":N}`
//! without `"lines"` marks an entry whose content is opaque (a
//! pre-rendered body from an earlier version): it is sent and dead-lettered
//! whole, never split.
//!
//! An entry is written whole (to a temporary name, fsynced, renamed), so a
//! crash never leaves half of one.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use dlp_store::spool::Spool;

/// The header of an entry holding one line per record.
pub const HEADER: &[u8] = b"{\"lines\":true}\n";

/// The header of an entry holding one `<address>\t<record>` line per record.
pub const ADDRESSED: &[u8] = b"{\"lines\":true,\"addressed\":true}\n";

/// Name of the dead-letter directory inside the spool.
pub const DEAD_LETTER: &str = "dead-letter";

/// Stores `lines` (one record each, without newlines) as one entry and
/// returns its key.
pub fn store(spool: &Spool, lines: &[&[u8]]) -> io::Result<String> {
    with_newlines(HEADER, lines).store(spool)
}

fn with_newlines(header: &[u8], lines: &[&[u8]]) -> Batch {
    let size = lines.iter().map(|l| l.len() + 1).sum::<usize>();
    let mut b = Batch::with_header(header, size);
    for l in lines {
        b.push(l);
    }
    b
}

/// A batch filled record by record in the entry's own layout (header, then
/// each line and a newline), so storing it is one buffer and one write.
#[derive(Debug)]
pub struct Batch {
    data: Vec<u8>,
    header: usize,
    records: usize,
}

impl Batch {
    fn with_header(header: &[u8], capacity: usize) -> Batch {
        let mut data = Vec::with_capacity(header.len() + capacity);
        data.extend_from_slice(header);
        Batch {
            data,
            header: header.len(),
            records: 0,
        }
    }

    /// A batch of records as they are ([`HEADER`]).
    pub fn lines() -> Batch {
        Batch::with_header(HEADER, 64 * 1024)
    }

    /// A batch of addressed records ([`ADDRESSED`]).
    pub fn addressed() -> Batch {
        Batch::with_header(ADDRESSED, 64 * 1024)
    }

    /// Adds a record (one line, without its newline).
    pub fn push(&mut self, record: &[u8]) {
        self.data.extend_from_slice(record);
        self.data.push(b'\n');
        self.records += 1;
    }

    /// Adds a record with its address, which holds neither a tab nor a
    /// newline (a batch made by [`Batch::addressed`]).
    pub fn push_addressed(&mut self, address: &[u8], record: &[u8]) {
        assert!(
            !address.contains(&b'\t') && !address.contains(&b'\n'),
            "an address holds no tab or newline"
        );
        self.data.extend_from_slice(address);
        self.data.push(b'\t');
        self.push(record);
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Stores the batch as one entry, returns its key, and leaves the
    /// batch empty for the next records.
    pub fn store(&mut self, spool: &Spool) -> io::Result<String> {
        let key = spool.put(&self.data)?;
        self.data.truncate(self.header);
        self.records = 0;
        Ok(key)
    }
}

/// The address and the record of a line of an addressed entry; `None` when
/// the line has no address (it is corrupt).
pub fn split_address(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let tab = memchr::memchr(b'\t', line)?;
    Some((&line[..tab], &line[tab + 1..]))
}

/// The non-empty lines of `data`.
pub fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

/// One spooled batch, handed to [`crate::Transport::send`]; its content
/// is read from disk on demand ([`Entry::reader`], [`Entry::read`]), so a
/// batch costs no memory before the transport reads it.
#[derive(Debug)]
pub struct Entry {
    key: String,
    path: PathBuf,
    records: u64,
    lines: bool,
    addressed: bool,
    start: u64,
    size: u64,
}

impl Entry {
    /// Reads the header of entry `key` and counts its records; `Ok(None)`
    /// when it is corrupt (no valid header, or no record).
    pub(crate) fn load(spool: &Spool, key: &str) -> io::Result<Option<Entry>> {
        let file = spool.open_entry(key)?;
        let len = file.metadata()?.len();
        let mut r = BufReader::with_capacity(64 * 1024, file);
        let mut first = Vec::new();
        r.read_until(b'\n', &mut first)?;
        let Some(head) = serde_json::from_slice::<serde_json::Value>(&first).ok() else {
            return Ok(None);
        };
        let flag = |name| head.get(name).and_then(serde_json::Value::as_bool) == Some(true);
        let lines = flag("lines");
        let records = match head.get("records").and_then(serde_json::Value::as_u64) {
            _ if lines => count_lines(r)?,
            Some(n) => n,
            None => return Ok(None),
        };
        if records == 0 && lines {
            return Ok(None);
        }
        Ok(Some(Entry {
            key: key.to_owned(),
            path: spool.dir().join(format!("{key}.entry")),
            records,
            lines,
            addressed: lines && flag("addressed"),
            start: first.len() as u64,
            size: len.saturating_sub(first.len() as u64),
        }))
    }

    /// The spool key (time-ordered).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Records in the batch.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Whether the content is one line per record (see the module notes).
    pub fn is_lines(&self) -> bool {
        self.lines
    }

    /// Whether each line is `<address>\t<record>` ([`split_address`]).
    pub fn is_addressed(&self) -> bool {
        self.addressed
    }

    /// The header the entry was written with, kept when it is rewritten.
    fn header(&self) -> &'static [u8] {
        if self.addressed {
            ADDRESSED
        } else {
            HEADER
        }
    }

    /// Bytes of content (after the header).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the entry's file is still in the spool.
    pub(crate) fn still_spooled(&self) -> bool {
        self.path.exists()
    }

    /// The content as a stream.
    pub fn reader(&self) -> io::Result<impl BufRead> {
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(self.start))?;
        Ok(BufReader::with_capacity(64 * 1024, f))
    }

    /// The content; split it into records with [`lines`].
    pub fn read(&self) -> io::Result<Vec<u8>> {
        let mut data = Vec::with_capacity(self.size as usize);
        self.reader()?.read_to_end(&mut data)?;
        Ok(data)
    }

    /// Replaces the entry by its two halves (`key.0`, `key.1`, which sort
    /// right after it); returns their keys and record counts.
    pub(crate) fn split(&self, spool: &Spool) -> io::Result<[(String, usize); 2]> {
        let data = self.read()?;
        let all: Vec<&[u8]> = lines(&data).collect();
        let half = all.len() / 2;
        let (k0, k1) = (format!("{}.0", self.key), format!("{}.1", self.key));
        spool.put_named(&k0, &[&with_newlines(self.header(), &all[..half]).data])?;
        spool.put_named(&k1, &[&with_newlines(self.header(), &all[half..]).data])?;
        spool.remove(&self.key)?;
        Ok([(k0, half), (k1, all.len() - half)])
    }

    /// Rewrites the entry (same key, so same place in the order) to hold
    /// only the records not at the indexes `gone`, and loads it again;
    /// `None`, with nothing written, when no record is left.
    pub(crate) fn without(&self, spool: &Spool, gone: &[usize]) -> io::Result<Option<Entry>> {
        let data = self.read()?;
        let gone: HashSet<usize> = gone.iter().copied().collect();
        let keep: Vec<&[u8]> = lines(&data)
            .enumerate()
            .filter(|(i, _)| !gone.contains(i))
            .map(|(_, l)| l)
            .collect();
        if keep.is_empty() {
            return Ok(None);
        }
        spool.put_named(&self.key, &[&with_newlines(self.header(), &keep).data])?;
        Entry::load(spool, &self.key)
    }

    /// Moves the entry's content to `dead-letter/<key>.ndjson` (`.body`
    /// for an opaque entry; the records without their addresses for an
    /// addressed one, so the file can be fed again as it is) durably, then
    /// removes it from the spool.
    pub(crate) fn dead_letter(&self, spool: &Spool) -> io::Result<PathBuf> {
        let dir = spool.dir().join(DEAD_LETTER);
        std::fs::create_dir_all(&dir)?;
        let ext = if self.lines { "ndjson" } else { "body" };
        let path = dir.join(format!("{}.{ext}", self.key));
        let tmp = dir.join(format!("{}.tmp", self.key));
        let mut f = File::create(&tmp)?;
        if self.addressed {
            f.write_all(&self.records_only()?)?;
        } else {
            io::copy(&mut self.reader()?, &mut f)?;
        }
        f.flush()?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        File::open(&dir)?.sync_all()?;
        spool.remove(&self.key)?;
        Ok(path)
    }

    /// The records of an addressed entry, one a line (a line without an
    /// address is kept whole: nothing is lost).
    fn records_only(&self) -> io::Result<Vec<u8>> {
        let data = self.read()?;
        let mut out = Vec::with_capacity(data.len());
        for l in lines(&data) {
            out.extend_from_slice(split_address(l).map_or(l, |(_, r)| r));
            out.push(b'\n');
        }
        Ok(out)
    }

    /// Moves a corrupt entry aside (`<key>.bad`, no longer listed).
    pub(crate) fn set_aside(spool: &Spool, key: &str) -> PathBuf {
        let bad = spool.dir().join(format!("{key}.bad"));
        let _ = std::fs::rename(spool.dir().join(format!("{key}.entry")), &bad);
        bad
    }
}

/// Counts the non-empty lines of a stream without holding it.
fn count_lines(mut r: impl BufRead) -> io::Result<u64> {
    let (mut n, mut in_line) = (0u64, false);
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(n + u64::from(in_line));
        }
        let mut rest = buf;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            if in_line || i > 0 {
                n += 1;
            }
            in_line = false;
            rest = &rest[i + 1..];
        }
        in_line |= !rest.is_empty();
        let used = buf.len();
        r.consume(used);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_non_empty_lines_across_buffers() {
        for (data, n) in [
            (&b""[..], 0),
            (b"a", 1),
            (b"a\n", 1),
            (b"\n\na\n\nb", 2),
            (b"abc\ndef\n", 2),
        ] {
            assert_eq!(count_lines(data).unwrap(), n, "{data:?}");
            let small = BufReader::with_capacity(1, data);
            assert_eq!(count_lines(small).unwrap(), n, "{data:?}");
        }
    }

    #[test]
    fn heads_new_and_old_and_corrupt() {
        let dir = std::env::temp_dir().join(format!("outbox-entry-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = Spool::open(&dir).unwrap();
        let new = store(&spool, &[b"{\"a\":1}", b"{\"b\":2}"]).unwrap();
        let e = Entry::load(&spool, &new).unwrap().unwrap();
        assert_eq!((e.records(), e.is_lines(), e.size()), (2, true, 16));
        let data = e.read().unwrap();
        assert_eq!(
            lines(&data).collect::<Vec<_>>(),
            [&b"{\"a\":1}"[..], b"{\"b\":2}"]
        );
        let old = spool.put(b"{\"records\":3}\n[1,2,3]").unwrap();
        let e = Entry::load(&spool, &old).unwrap().unwrap();
        assert_eq!((e.records(), e.is_lines()), (3, false));
        assert_eq!(e.read().unwrap(), b"[1,2,3]");
        for bad in [&b"garbage"[..], b"{\"lines\":true}\n\n", b"{}\n"] {
            let k = spool.put(bad).unwrap();
            assert!(Entry::load(&spool, &k).unwrap().is_none(), "{bad:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn addressed_entries_keep_their_addresses_until_dead_lettered() {
        let dir = std::env::temp_dir().join(format!("outbox-addr-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spool = Spool::open(&dir).unwrap();
        let mut b = Batch::addressed();
        for (a, r) in [
            ("s.a 1", "{\"a\":1}"),
            ("s.b 2", "{\"b\":\t2}"),
            ("s.c 3", "c"),
        ] {
            b.push_addressed(a.as_bytes(), r.as_bytes());
        }
        assert_eq!(b.len(), 3);
        let key = b.store(&spool).unwrap();
        assert!(b.is_empty(), "emptied for the next records");
        let e = Entry::load(&spool, &key).unwrap().unwrap();
        assert_eq!(
            (e.records(), e.is_lines(), e.is_addressed()),
            (3, true, true)
        );
        let data = e.read().unwrap();
        let got: Vec<_> = lines(&data).map(|l| split_address(l).unwrap()).collect();
        assert_eq!(got[1], (&b"s.b 2"[..], &b"{\"b\":\t2}"[..]));
        // Rewritten and split: still addressed.
        let left = e.without(&spool, &[0]).unwrap().unwrap();
        assert!(left.is_addressed());
        let [(k0, 1), (k1, 1)] = left.split(&spool).unwrap() else {
            panic!("halves of one record each")
        };
        let half = Entry::load(&spool, &k1).unwrap().unwrap();
        assert!(half.is_addressed());
        assert_eq!(half.read().unwrap(), b"s.c 3\tc\n");
        // Dead-lettered: the records alone.
        let dead = Entry::load(&spool, &k0)
            .unwrap()
            .unwrap()
            .dead_letter(&spool)
            .unwrap();
        assert_eq!(std::fs::read(dead).unwrap(), b"{\"b\":\t2}\n");
        assert!(!Entry::load(&spool, &k1)
            .unwrap()
            .unwrap()
            .read()
            .unwrap()
            .is_empty());
        // A plain entry is not addressed; a line without a tab has no address.
        let plain = store(&spool, &[b"x"]).unwrap();
        assert!(!Entry::load(&spool, &plain).unwrap().unwrap().is_addressed());
        assert_eq!(split_address(b"no tab"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
