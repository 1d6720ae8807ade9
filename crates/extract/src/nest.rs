//! One file's walk through what it holds: each stream is sniffed
//! ([`crate::sniff`]) and handed to its reader (archives, documents, PDF,
//! images, mail) or to the sink as text. Containers open to
//! `max_depth` levels; the bomb guards ([`crate::budget`]) and the member
//! count hold across the whole nest; every member that is skipped
//! (binary, too deep, too large, encrypted, corrupt) or cut short (a limit
//! reached) gets one note naming its chain (`file!a.zip!b.txt`).

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::rc::Rc;

use crate::budget::{Budgeted, Guard};
use crate::sniff::{sniff, Sniffed, SNIFF};
use crate::spool::Spooled;
use crate::{output_closed, Form, Limits, Ocr, Sink, Stream};

/// Where a stream's bytes come from.
pub enum Source<'s> {
    /// The file on disk (a zip or PDF is read from it in place).
    File(File),
    /// A stream (a member, a decompressed gzip, an attachment).
    Reader(&'s mut dyn Read),
}

/// One file's walk through its containers.
pub struct Nest<'a> {
    pub limits: &'a Limits,
    pub sink: &'a mut dyn Sink,
    shown: String,
    /// What the text of a top-level gzip is called.
    gz_name: String,
    pub guard: Rc<Guard>,
    /// The limits already said to be reached, by [`Limit`].
    noted: [bool; 3],
    entries: u64,
}

/// A limit that cuts a file's scan short, said once per file.
#[derive(Debug, Clone, Copy)]
enum Limit {
    /// `--max-decompressed`.
    Budget,
    /// `--file-timeout`.
    Time,
    /// `--max-entries`.
    Entries,
}

impl<'a> Nest<'a> {
    pub fn new(limits: &'a Limits, sink: &'a mut dyn Sink, shown: String, gz_name: String) -> Self {
        Nest {
            limits,
            sink,
            shown,
            gz_name,
            guard: Guard::new(limits.max_decompressed, limits.file_time),
            noted: [false; 3],
            entries: limits.max_entries,
        }
    }

    /// Walks the file itself.
    pub fn top(&mut self, src: Source) -> io::Result<()> {
        self.scan(src, "", 0)
    }

    /// `file!chain` for notes (`file#page=3` for a page of the file).
    pub fn at(&self, chain: &str) -> String {
        if chain.is_empty() || chain.starts_with('#') {
            format!("{}{chain}", self.shown)
        } else {
            format!("{}!{chain}", self.shown)
        }
    }

    /// Says what was skipped at `chain` (not an error).
    pub fn skip(&mut self, chain: &str, why: &str) {
        let msg = format!("{}: skipped: {why}", self.at(chain));
        self.sink.note(msg);
    }

    /// Says that `chain` is corrupt (an error).
    pub fn corrupt(&mut self, chain: &str, why: impl std::fmt::Display) {
        let msg = format!("{}: skipped: corrupt: {why}", self.at(chain));
        self.sink.reject(msg);
    }

    /// Scans what `src` holds, found at `chain` inside the file, `depth`
    /// containers deep.
    pub fn scan(&mut self, src: Source, chain: &str, depth: u32) -> io::Result<()> {
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
        if kind.is_container() && depth >= self.limits.max_depth {
            let why = format!(
                "container nested deeper than --max-depth {}",
                self.limits.max_depth
            );
            self.skip(chain, &why);
            return Ok(());
        }
        if let Some(f) = file.take() {
            if matches!(kind, Sniffed::Zip | Sniffed::Pdf | Sniffed::Image) {
                return self.spooled(kind, Spooled::file(f), chain, depth);
            }
            file = Some(f);
        }
        let rest: &mut dyn Read = match (&mut file, &mut reader) {
            (Some(f), _) => f,
            (_, Some(r)) => r,
            _ => unreachable!("a source"),
        };
        let name = self.name(chain, depth);
        match kind {
            Sniffed::Zip | Sniffed::Pdf | Sniffed::Image => {
                if kind == Sniffed::Image && self.limits.ocr == Ocr::Never {
                    // Not spooled only to be skipped.
                    return crate::image::read(
                        self,
                        &Spooled::Memory(Default::default()),
                        chain,
                        &name,
                    );
                }
                let spooled = Spooled::new(head, rest)?;
                self.spooled(kind, spooled, chain, depth)
            }
            Sniffed::Gzip => {
                let dec = flate2::read::MultiGzDecoder::new(Cursor::new(head).chain(rest));
                let mut dec = self.budgeted(dec);
                let r = self.scan(Source::Reader(&mut dec), chain, depth + 1);
                self.note_limits(chain);
                r
            }
            Sniffed::Tar => {
                crate::archive::tar(self, Cursor::new(head).chain(rest), chain, depth + 1)
            }
            Sniffed::Mail => crate::mail::message(self, head, rest, chain, depth),
            Sniffed::Ole => crate::msg::read(self, head, rest, chain, depth),
            Sniffed::Mbox => {
                crate::mbox::read(self, Cursor::new(head).chain(rest), chain, depth + 1)
            }
            Sniffed::Rtf => {
                let mut text = crate::rtf::rtf_text(Cursor::new(head).chain(rest));
                self.text(&mut text, &name, None, Form::Extracted)
            }
            Sniffed::Html => {
                self.parts(crate::html::html_text(Cursor::new(head).chain(rest)), &name)
            }
            Sniffed::Binary => {
                self.skip(chain, "binary");
                Ok(())
            }
            Sniffed::Encoded(enc, bom) => {
                let mut text = crate::decode::decoder(Cursor::new(&head[bom..]).chain(rest), enc);
                self.text(&mut text, &name, None, Form::Encoded(enc, bom))
            }
            Sniffed::Text => self.text(&mut Cursor::new(head).chain(rest), &name, None, Form::Text),
        }
    }

    /// Scans a zip, PDF or image held in `s`.
    fn spooled(&mut self, kind: Sniffed, s: Spooled, chain: &str, depth: u32) -> io::Result<()> {
        let name = self.name(chain, depth);
        match kind {
            Sniffed::Zip => crate::archive::zip(self, s.reader(), chain, depth + 1),
            Sniffed::Pdf => crate::pdf::read(self, &s, chain, &name),
            _ => crate::image::read(self, &s, chain, &name),
        }
    }

    /// The archive path text found at `chain` goes by: the chain, or for
    /// the text of a top-level gzip, the file's name without `.gz`.
    pub fn name(&self, chain: &str, depth: u32) -> String {
        if chain.is_empty() && depth > 0 {
            self.gz_name.clone()
        } else {
            chain.to_owned()
        }
    }

    /// Hands one stream of text to the sink.
    pub fn text(
        &mut self,
        r: &mut dyn Read,
        chain: &str,
        page: Option<u32>,
        form: Form,
    ) -> io::Result<()> {
        let stream = Stream {
            archive_path: chain,
            page,
            form,
        };
        let result = self.sink.text(r, &stream);
        self.note_limits(chain);
        result
    }

    /// Hands each part of extracted text (a document's text, each of
    /// its tables), separated by form feeds, to the sink as a stream.
    pub fn parts(&mut self, text: impl Read, name: &str) -> io::Result<()> {
        crate::pages::split(text, &mut |part, _| {
            self.text(part, name, None, Form::Extracted)
        })
        .map(drop)
    }

    pub fn budgeted<R: Read>(&self, inner: R) -> Budgeted<R> {
        Budgeted {
            inner,
            guard: Rc::clone(&self.guard),
        }
    }

    /// Says, once each, that the byte budget or the time limit was
    /// reached.
    pub fn note_limits(&mut self, chain: &str) {
        if self.guard.left() == 0 {
            self.limit_reached(Limit::Budget, chain);
        }
        if self.guard.late() {
            self.limit_reached(Limit::Time, chain);
        }
    }

    /// Says at `chain` that `limit` was reached and the rest not scanned,
    /// unless it was said before.
    fn limit_reached(&mut self, limit: Limit, chain: &str) {
        if std::mem::replace(&mut self.noted[limit as usize], true) {
            return;
        }
        let l = self.limits;
        let what = match limit {
            Limit::Budget => format!(
                "decompression limit reached (--max-decompressed: {} bytes)",
                l.max_decompressed
            ),
            Limit::Time => format!(
                "time limit reached (--file-timeout {}s)",
                l.file_time.map_or(0.0, |t| t.as_secs_f64())
            ),
            Limit::Entries => format!("member limit reached (--max-entries {})", l.max_entries),
        };
        let msg = format!("{}: {what}; the rest was not scanned", self.at(chain));
        self.sink.note(msg);
    }

    /// Counts one member; false (with a note, once) when the limit is
    /// reached.
    pub fn entry(&mut self, chain: &str) -> bool {
        if self.entries == 0 {
            self.limit_reached(Limit::Entries, chain);
            return false;
        }
        self.entries -= 1;
        true
    }

    /// Members left under `--max-entries`.
    pub fn entries_left(&self) -> u64 {
        self.entries
    }

    /// True (with a note) for a member over `--max-size`.
    pub fn too_large(&mut self, chain: &str, size: u64) -> bool {
        match self.limits.max_size {
            Some(max) if size > max => {
                self.skip(chain, &format!("{size} bytes exceeds --max-size {max}"));
                true
            }
            _ => false,
        }
    }

    /// Scans a member; an error reading it (not the output's) is reported
    /// as that member being corrupt and the walk goes on.
    pub fn member(&mut self, r: &mut dyn Read, chain: &str, depth: u32) -> io::Result<()> {
        let result = self.scan(Source::Reader(r), chain, depth);
        self.note_limits(chain);
        match result {
            Err(e) if !output_closed(&e) => {
                self.corrupt(chain, e);
                Ok(())
            }
            r => r,
        }
    }
}

/// `chain!name`, or `name` at the top.
pub fn join(chain: &str, name: &str) -> String {
    if chain.is_empty() {
        name.to_owned()
    } else {
        format!("{chain}!{name}")
    }
}

pub fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}
