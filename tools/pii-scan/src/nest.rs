//! Containers inside containers: gzip, zip, tar (and tar.gz), and office
//! documents, opened to `--max-depth` levels. The zip-bomb guards count
//! across the whole nest of one file: decompressed bytes
//! (`--max-decompressed`) and members (`--max-entries`). `archive_path` is
//! the chain of member names (`inner.zip!deep/note.txt`), and every member
//! that is skipped (binary, too deep, too large, encrypted, corrupt) gets a
//! note on stderr naming its chain.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Cursor, Read, Seek, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use detect::Engine;

use crate::decode;
use crate::office;
use crate::scan::{output_closed, scan_text, sniff, Limits, Report, Sniffed, SNIFF};
use crate::xlsx;

/// A nested zip up to this size is opened in memory, a larger one from an
/// unlinked temporary file.
const SPOOL_IN_MEMORY: usize = 16 << 20;

/// Where a container's bytes come from.
pub enum Source<'s> {
    /// The file on disk (a zip is read from it directly).
    File(File),
    /// A stream (a member, a decompressed gzip).
    Reader(&'s mut dyn Read),
}

/// One file's walk through its containers.
pub struct Nest<'a, 'r> {
    engine: &'a Engine,
    limits: &'a Limits,
    pub report: &'a mut Report<'r>,
    shown: String,
    /// Decompressed bytes left for the whole nest.
    budget: Rc<Cell<u64>>,
    budget_noted: bool,
    entries: u64,
    entries_noted: bool,
}

impl<'a, 'r> Nest<'a, 'r> {
    pub fn new(
        engine: &'a Engine,
        limits: &'a Limits,
        report: &'a mut Report<'r>,
        shown: String,
    ) -> Self {
        Nest {
            engine,
            limits,
            report,
            shown,
            budget: Rc::new(Cell::new(limits.max_decompressed)),
            budget_noted: false,
            entries: limits.max_entries,
            entries_noted: false,
        }
    }

    /// `file!chain` for notes.
    fn at(&self, chain: &str) -> String {
        if chain.is_empty() {
            self.shown.clone()
        } else {
            format!("{}!{chain}", self.shown)
        }
    }

    /// Scans what `src` holds, found at `chain` inside the file, `depth`
    /// containers deep. `gz_name` names the text of a top-level gzip.
    pub fn scan(&mut self, src: Source, chain: &str, depth: u32, gz_name: &str) -> io::Result<()> {
        let (mut file, mut reader) = match src {
            Source::File(f) => (Some(f), None),
            Source::Reader(r) => (None, Some(r)),
        };
        let mut head = Vec::with_capacity(SNIFF);
        match (&mut file, &mut reader) {
            (Some(f), _) => f.take(SNIFF as u64).read_to_end(&mut head)?,
            (_, Some(r)) => r.take(SNIFF as u64).read_to_end(&mut head)?,
            _ => unreachable!("a source"),
        };
        let kind = sniff(&head);
        let container = matches!(kind, Sniffed::Gzip | Sniffed::Zip | Sniffed::Tar);
        if container && depth >= self.limits.max_depth {
            self.report.note(format!(
                "{}: skipped: container nested deeper than --max-depth {}",
                self.at(chain),
                self.limits.max_depth
            ));
            return Ok(());
        }
        if kind == Sniffed::Zip {
            if let Some(mut f) = file.take() {
                f.rewind()?;
                return self.zip(f, chain, depth + 1);
            }
        }
        let rest: &mut dyn Read = match (&mut file, &mut reader) {
            (Some(f), _) => f,
            (_, Some(r)) => r,
            _ => unreachable!("a source"),
        };
        match kind {
            Sniffed::Gzip => {
                let dec = flate2::read::MultiGzDecoder::new(Cursor::new(head).chain(rest));
                let mut dec = self.budgeted(dec);
                let r = self.scan(Source::Reader(&mut dec), chain, depth + 1, gz_name);
                self.note_budget(chain);
                r
            }
            Sniffed::Zip => {
                let spooled = spool(head, rest)?;
                self.zip(spooled, chain, depth + 1)
            }
            Sniffed::Tar => self.tar(Cursor::new(head).chain(rest), chain, depth + 1),
            Sniffed::Binary => {
                self.report
                    .note(format!("{}: skipped: binary", self.at(chain)));
                Ok(())
            }
            Sniffed::Text | Sniffed::Encoded(..) => {
                let archive = if chain.is_empty() && depth > 0 {
                    gz_name
                } else {
                    chain
                };
                let (e, l, r) = (self.engine, self.limits, &mut *self.report);
                match kind {
                    Sniffed::Encoded(enc, bom) => {
                        let text = decode::decoder(Cursor::new(&head[bom..]).chain(rest), enc);
                        scan_text(e, text, l, r, archive, Some((enc, bom)))
                    }
                    _ => scan_text(e, Cursor::new(head).chain(rest), l, r, archive, None),
                }
            }
        }
    }

    fn budgeted<R: Read>(&self, inner: R) -> Budgeted<R> {
        Budgeted {
            inner,
            left: Rc::clone(&self.budget),
        }
    }

    fn note_budget(&mut self, chain: &str) {
        if self.budget.get() == 0 && !self.budget_noted {
            self.budget_noted = true;
            self.report.note(format!(
                "{}: decompression limit reached (--max-decompressed: {} bytes); the rest was not scanned",
                self.at(chain),
                self.limits.max_decompressed
            ));
        }
    }

    /// Counts one member; false (with a note, once) when the limit is
    /// reached.
    fn entry(&mut self, chain: &str) -> bool {
        if self.entries == 0 {
            if !self.entries_noted {
                self.entries_noted = true;
                self.report.note(format!(
                    "{}: member limit reached (--max-entries {}); the rest was not scanned",
                    self.at(chain),
                    self.limits.max_entries
                ));
            }
            return false;
        }
        self.entries -= 1;
        true
    }

    fn too_large(&mut self, chain: &str, size: u64) -> bool {
        match self.limits.max_size {
            Some(max) if size > max => {
                self.report.note(format!(
                    "{}: skipped: {size} bytes exceeds --max-size {max}",
                    self.at(chain)
                ));
                true
            }
            _ => false,
        }
    }

    /// Scans a member; an error reading it (not the output's) is reported
    /// as that member being corrupt and the walk goes on.
    fn member(&mut self, r: &mut dyn Read, chain: &str, depth: u32) -> io::Result<()> {
        let result = self.scan(Source::Reader(r), chain, depth, "");
        self.note_budget(chain);
        match result {
            Err(e) if !output_closed(&e) => {
                self.report
                    .reject(format!("{}: skipped: corrupt: {e}", self.at(chain)));
                Ok(())
            }
            r => r,
        }
    }

    fn zip<R: Read + Seek>(&mut self, mut r: R, chain: &str, depth: u32) -> io::Result<()> {
        // The zip reader holds the whole central directory (~600 bytes a
        // member): refuse one that claims more members than are left.
        if let Some(n) = zip_members(&mut r)? {
            if n > self.entries {
                self.report.note(format!(
                    "{}: skipped: {n} members exceeds --max-entries {} (left: {})",
                    self.at(chain),
                    self.limits.max_entries,
                    self.entries
                ));
                return Ok(());
            }
        }
        let mut zip = zip::ZipArchive::new(r).map_err(invalid)?;
        let office = office::kind(zip.file_names());
        // A workbook's shared strings are read first: its sheets' text
        // cells point into them.
        let strings_at = match office {
            Some(office::Kind::Ooxml) => (0..zip.len()).find(|&i| {
                zip.name_for_index(i)
                    .is_some_and(|n| n.eq_ignore_ascii_case(xlsx::SHARED_STRINGS))
            }),
            _ => None,
        };
        let strings = match strings_at {
            Some(i) => self.shared_strings(&mut zip, i, chain)?,
            None => None,
        };
        for i in 0..zip.len() {
            if self.budget.get() == 0 {
                break;
            }
            let raw = zip
                .by_index_raw(i)
                .map(|m| (m.name().to_owned(), m.is_dir(), m.encrypted(), m.size()));
            let (member, is_dir, encrypted, size) = match raw {
                Ok(x) => x,
                Err(e) => {
                    let name = zip.name_for_index(i).unwrap_or("?").to_owned();
                    self.report.reject(format!(
                        "{}: skipped: corrupt: {e}",
                        self.at(&join(chain, &name))
                    ));
                    continue;
                }
            };
            let name = join(chain, &member);
            if is_dir
                || office.is_some_and(|k| !office::is_text_part(k, &member))
                || strings_at == Some(i)
            {
                continue;
            }
            if !self.entry(&name) {
                break;
            }
            if encrypted {
                self.report
                    .note(format!("{}: skipped: encrypted", self.at(&name)));
                continue;
            }
            if self.too_large(&name, size) {
                continue;
            }
            let mut m = match zip.by_index(i) {
                Ok(m) => m,
                Err(e) => {
                    self.report
                        .reject(format!("{}: skipped: corrupt: {e}", self.at(&name)));
                    continue;
                }
            };
            let mut r = self.budgeted(&mut m);
            match office {
                Some(kind) => self.office_part(&mut r, kind, &member, &name, strings.as_ref())?,
                None => self.member(&mut r, &name, depth)?,
            }
        }
        Ok(())
    }

    /// Scans a text part of an Office document: a workbook's sheet as a
    /// table with its header row, any other part as document text (never
    /// as a member that may be a container).
    fn office_part(
        &mut self,
        r: &mut impl Read,
        kind: office::Kind,
        member: &str,
        name: &str,
        strings: Option<&xlsx::SharedStrings>,
    ) -> io::Result<()> {
        if kind == office::Kind::Ooxml && xlsx::is_sheet(member) {
            let mut text = xlsx::sheet_text(r, strings);
            let result = scan_text(self.engine, &mut text, self.limits, self.report, name, None);
            self.note_budget(name);
            result?;
            if let Some(e) = text.take_error() {
                self.report
                    .reject(format!("{}: shared strings unreadable: {e}", self.at(name)));
            }
            return Ok(());
        }
        let result = scan_text(
            self.engine,
            office::xml_text(r),
            self.limits,
            self.report,
            name,
            None,
        );
        self.note_budget(name);
        result
    }

    /// Reads a workbook's shared strings (member `i`), counted as a member
    /// and against the decompression budget like any other; `None`, with
    /// a note, when they cannot be read (the sheets' text cells are then
    /// empty).
    fn shared_strings<R: Read + Seek>(
        &mut self,
        zip: &mut zip::ZipArchive<R>,
        i: usize,
        chain: &str,
    ) -> io::Result<Option<xlsx::SharedStrings>> {
        let name = join(chain, zip.name_for_index(i).unwrap_or(xlsx::SHARED_STRINGS));
        let meta = zip.by_index_raw(i).map(|m| (m.encrypted(), m.size()));
        let (encrypted, size) = match meta {
            Ok(x) => x,
            Err(e) => {
                self.report
                    .reject(format!("{}: skipped: corrupt: {e}", self.at(&name)));
                return Ok(None);
            }
        };
        if !self.entry(&name) || self.too_large(&name, size) {
            return Ok(None);
        }
        if encrypted {
            self.report
                .note(format!("{}: skipped: encrypted", self.at(&name)));
            return Ok(None);
        }
        let read = match zip.by_index(i) {
            Ok(mut m) => xlsx::SharedStrings::read(self.budgeted(&mut m)),
            Err(e) => Err(invalid(e)),
        };
        self.note_budget(&name);
        match read {
            Ok(s) => {
                if s.dropped > 0 {
                    self.report.note(format!(
                        "{}: {} shared strings past the first {} not kept; the cells that use them are scanned empty",
                        self.at(&name),
                        s.dropped,
                        xlsx::MAX_STRINGS
                    ));
                }
                Ok(Some(s))
            }
            Err(e) if output_closed(&e) => Err(e),
            Err(e) => {
                self.report
                    .reject(format!("{}: skipped: corrupt: {e}", self.at(&name)));
                Ok(None)
            }
        }
    }

    fn tar(&mut self, r: impl Read, chain: &str, depth: u32) -> io::Result<()> {
        let mut archive = tar::Archive::new(r);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let kind = entry.header().entry_type();
            if !kind.is_file() {
                continue;
            }
            let name = join(chain, &entry.path_bytes().escape_ascii().to_string());
            if !self.entry(&name) {
                break;
            }
            if self.too_large(&name, entry.size()) {
                continue;
            }
            self.member(&mut entry, &name, depth)?;
        }
        Ok(())
    }
}

/// The member count a zip's end-of-central-directory record claims
/// (zip64 too), if it has one.
fn zip_members<R: Read + Seek>(r: &mut R) -> io::Result<Option<u64>> {
    let len = r.seek(io::SeekFrom::End(0))?;
    let tail_len = len.min(22 + 65535);
    r.seek(io::SeekFrom::Start(len - tail_len))?;
    let mut tail = Vec::with_capacity(tail_len as usize);
    r.take(tail_len).read_to_end(&mut tail)?;
    r.rewind()?;
    let Some(at) = tail.windows(4).rposition(|w| w == b"PK\x05\x06") else {
        return Ok(None);
    };
    let Some(n) = tail.get(at + 10..at + 12) else {
        return Ok(None);
    };
    let n = u16::from_le_bytes([n[0], n[1]]);
    if n != u16::MAX {
        return Ok(Some(u64::from(n)));
    }
    // Zip64: the locator just before points at the zip64 record.
    let Some(loc) = at.checked_sub(20).and_then(|l| tail.get(l..l + 20)) else {
        return Ok(None);
    };
    if &loc[..4] != b"PK\x06\x07" {
        return Ok(None);
    }
    let off = u64::from_le_bytes(loc[8..16].try_into().expect("8 bytes"));
    let mut rec = [0u8; 40];
    r.seek(io::SeekFrom::Start(off))?;
    let got = r.read_exact(&mut rec);
    r.rewind()?;
    if got.is_err() || &rec[..4] != b"PK\x06\x06" {
        return Ok(None);
    }
    Ok(Some(u64::from_le_bytes(
        rec[32..40].try_into().expect("8 bytes"),
    )))
}

fn join(chain: &str, name: &str) -> String {
    if chain.is_empty() {
        name.to_owned()
    } else {
        format!("{chain}!{name}")
    }
}

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// A reader that stops (as at end of input) when the nest's decompressed
/// byte budget is spent.
struct Budgeted<R> {
    inner: R,
    left: Rc<Cell<u64>>,
}

impl<R: Read> Read for Budgeted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left.get();
        let max = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if max == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..max])?;
        self.left.set(left - n as u64);
        Ok(n)
    }
}

/// A nested zip made seekable: in memory when small, else in an unlinked
/// temporary file.
enum Spooled {
    Memory(Cursor<Vec<u8>>),
    Disk(File),
}

fn spool(head: Vec<u8>, rest: &mut dyn Read) -> io::Result<Spooled> {
    let mut buf = head;
    let want = SPOOL_IN_MEMORY.saturating_sub(buf.len()) as u64 + 1;
    rest.take(want).read_to_end(&mut buf)?;
    if buf.len() <= SPOOL_IN_MEMORY {
        return Ok(Spooled::Memory(Cursor::new(buf)));
    }
    let mut f = unlinked_temp("zip")?;
    f.write_all(&buf)?;
    drop(buf);
    io::copy(rest, &mut f)?;
    f.rewind()?;
    Ok(Spooled::Disk(f))
}

/// A new temporary file, already unlinked (gone when closed).
pub(crate) fn unlinked_temp(what: &str) -> io::Result<File> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "pii-scan-{}-{}.{what}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let f = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    let _ = std::fs::remove_file(&path);
    Ok(f)
}

impl Read for Spooled {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Spooled::Memory(c) => c.read(buf),
            Spooled::Disk(f) => f.read(buf),
        }
    }
}

impl Seek for Spooled {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        match self {
            Spooled::Memory(c) => c.seek(pos),
            Spooled::Disk(f) => f.seek(pos),
        }
    }
}
