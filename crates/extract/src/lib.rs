//! Extraction: a file in, the text streams to scan out, each with its
//! provenance. Containers (gzip, zip, tar), Office and OpenDocument
//! documents (sheets as tables under their header row), PDF text (poppler's
//! `pdftotext`), OCR of images and of PDF pages without text (Tesseract),
//! mail (`.eml`, mbox, Outlook `.msg`; attachments opened like any
//! member), RTF and HTML
//! text, and text in UTF-16 or Latin-1 are all turned into UTF-8 text
//! handed to a [`Sink`], one stream at a time, with where it came from: the
//! chain of members (`inbox.mbox!2!cards.csv`), the PDF page, whether it
//! was recognised by OCR and how sure Tesseract was of each word.
//!
//! The limits hold across the whole nest of one file: containers opened
//! inside one another ([`Limits::max_depth`]), decompressed or extracted
//! bytes ([`Limits::max_decompressed`]), members ([`Limits::max_entries`])
//! and time ([`Limits::file_time`]). External programs run sandboxed
//! (`sandbox`): fixed argv, cleared environment, input on stdin, time,
//! memory and output limits, no network. Anything skipped is said once
//! through [`Sink::note`] naming its chain.
//!
//! ```
//! use std::io::Read;
//! struct Print(Vec<String>);
//! impl extract::Sink for Print {
//!     fn text(&mut self, r: &mut dyn Read, s: &extract::Stream) -> std::io::Result<()> {
//!         let mut t = String::new();
//!         r.read_to_string(&mut t)?;
//!         self.0.push(format!("{}: {t}", s.archive_path));
//!         Ok(())
//!     }
//!     fn note(&mut self, _: String) {}
//!     fn reject(&mut self, _: String) {}
//! }
//! let mut sink = Print(Vec::new());
//! let gz = {
//!     use std::io::Write;
//!     let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
//!     e.write_all(b"ssn 536-22-8726\n").unwrap();
//!     e.finish().unwrap()
//! };
//! extract::reader(&mut &gz[..], "notes.gz", &extract::Limits::default(), &mut sink).unwrap();
//! assert_eq!(sink.0, ["notes: ssn 536-22-8726\n"]);
//! ```

mod archive;
mod budget;
mod decode;
mod document;
mod entity;
mod file;
mod html;
mod image;
mod mail;
mod mbox;
mod msg;
mod nest;
mod ocr;
mod ods;
mod office;
mod pages;
mod pdf;
mod rtf;
mod sandbox;
mod sniff;
mod spool;
mod table;
mod transcode;
mod xlsx;
mod xml;

use std::io::{self, Read};
use std::time::Duration;

use dlp_record::{Confidence, Range};

pub use decode::Encoding;
pub use file::{file, reader};
pub use ocr::Word;
pub use sandbox::isolated as network_isolated;

/// Limits for one file's extraction, across all its nested containers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Skip files (and members) larger than this.
    pub max_size: Option<u64>,
    /// Decompressed or extracted bytes one file may yield.
    pub max_decompressed: u64,
    /// Members (archive members, mail messages and attachments) one file
    /// may hold.
    pub max_entries: u64,
    /// Containers opened inside one another (a zip in a zip is 2; a mail
    /// attachment is one level below its message).
    pub max_depth: u32,
    /// Time one file's extraction may take: external programs are killed
    /// at it and container walks stop.
    pub file_time: Option<Duration>,
    /// When images and PDF pages without text are read by OCR.
    pub ocr: Ocr,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_size: None,
            max_decompressed: 1 << 30,
            max_entries: 100_000,
            max_depth: 3,
            file_time: Some(Duration::from_secs(120)),
            ocr: Ocr::Auto,
        }
    }
}

/// When OCR runs (`--ocr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ocr {
    /// Images up to [`ocr::AUTO_MAX_BYTES`] and [`ocr::AUTO_MAX_PIXELS`],
    /// and up to [`ocr::AUTO_MAX_PAGES`] text-less pages of a PDF.
    #[default]
    Auto,
    /// Every image and text-less page, up to the bomb guards
    /// ([`ocr::MAX_PIXELS`]) and the time limit.
    Always,
    /// No OCR: images are skipped, as binary files are.
    Never,
}

/// How a stream's text was obtained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Form<'a> {
    /// The file's (or member's) own UTF-8 bytes: offsets are its offsets.
    Text,
    /// Decoded from this encoding after a byte-order mark of this length:
    /// code point `n` starts at byte `bom + unit × n` of the original.
    Encoded(Encoding, usize),
    /// Extracted from a document (Office, PDF, mail, RTF, HTML): offsets
    /// are in the extracted text.
    Extracted,
    /// Recognised by OCR: the words with Tesseract's confidence in each,
    /// by their byte offsets in the text.
    Ocr(&'a [Word]),
}

/// Where a stream of text comes from.
#[derive(Debug, Clone, Copy)]
pub struct Stream<'a> {
    /// The chain of members inside the file (`inner.zip!deep/note.txt`,
    /// `inbox.mbox!2!cards.csv`); empty for the file's own text.
    pub archive_path: &'a str,
    /// The PDF page (1-based).
    pub page: Option<u32>,
    pub form: Form<'a>,
}

impl Stream<'_> {
    /// Where a finding at `bytes` (code points `codepoints`) of this
    /// stream's text is: in the original's bytes for decoded text, in the
    /// text itself otherwise.
    pub fn locate(&self, bytes: Range, codepoints: Range) -> Range {
        match self.form {
            Form::Encoded(enc, bom) => {
                let at = |cp: u64| bom as u64 + enc.unit() * cp;
                Range {
                    start: at(codepoints.start),
                    end: at(codepoints.end),
                }
            }
            _ => bytes,
        }
    }

    /// For text read by OCR: how sure the recogniser was of the words of
    /// `bytes` (their lowest confidence, 0-100).
    pub fn ocr_confidence(&self, bytes: Range) -> Option<u8> {
        match self.form {
            Form::Ocr(words) => Some(ocr::confidence(words, bytes.start, bytes.end).unwrap_or(0)),
            _ => None,
        }
    }
}

/// A finding's confidence given how sure OCR was of its characters
/// (`None`: not read by OCR): kept at 80 or more, one level lower from 60,
/// two below.
pub fn recognised(c: Confidence, ocr: Option<u8>) -> Confidence {
    match ocr {
        None | Some(80..) => c,
        Some(60..) => c.shift(-1),
        _ => c.shift(-2),
    }
}

/// Where extracted text goes.
pub trait Sink {
    /// Reads one stream of text (to its end, or stops early when its
    /// output is gone: an error of kind `BrokenPipe` ends the file).
    fn text(&mut self, text: &mut dyn Read, stream: &Stream) -> io::Result<()>;
    /// A member or file skipped, or a limit reached (said once).
    fn note(&mut self, msg: String);
    /// Something unreadable or corrupt: the caller's exit status says so.
    fn reject(&mut self, msg: String);
}

/// True for the error a file's extraction ends with when the sink's
/// output is gone.
pub fn output_closed(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}
