//! Scanning one file: `extract` turns it into text streams with their
//! provenance (containers, documents, PDF pages, OCR, mail), each is
//! scanned by the engine as it is read, and findings are passed on
//! through [`Report`] as they are found.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use detect::{Engine, Match, StreamOptions};
use dlp_record::{Confidence, Finding};
use extract::Stream;

/// Limits for one scan.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// What extraction may cost (sizes, depth, members, time, OCR).
    pub extract: extract::Limits,
    pub stream: StreamOptions,
    /// The lowest confidence any rule reports: an OCR finding lowered
    /// below it (poorly recognised) is not reported.
    pub floor: Confidence,
}

/// What a scan reports, in order, for one file.
#[derive(Debug)]
pub enum Event {
    Finding(Box<Finding>),
    /// `count` findings already written as NDJSON lines (with
    /// [`Delivery::Lines`]).
    Lines {
        bytes: Vec<u8>,
        count: u64,
    },
    /// A line for stderr (without the tool prefix); `rejected` counts
    /// towards exit status 1; `routine` ones (a directory, a deleted or
    /// unchanged file) are shown only with --verbose.
    Note {
        msg: String,
        rejected: bool,
        routine: bool,
    },
    /// With --state, before anything else of a file: the worker hashed it
    /// (`sha256` is `None` when it could not, or the file is over
    /// --max-size); `unchanged` when the hash is the one the state knew,
    /// and the file was not scanned.
    Hashed {
        path: PathBuf,
        sha256: Option<String>,
        unchanged: bool,
    },
    /// With --state: this path (a file, or a directory and all under it)
    /// was deleted or moved away.
    Gone(PathBuf),
    /// The file is done; `bytes` were read from it.
    Done {
        bytes: u64,
    },
}

/// What the input event said about a file, carried to its findings.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The content hash the event carried.
    pub sha256: Option<String>,
    /// The file is on removable media (`fswatch-json --mounts`).
    pub removable: Option<bool>,
    /// The watched file whose content this file on removable media has.
    pub copied_from: Option<String>,
}

/// How a file's findings go to the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// One record each: the writer looks at each finding (finding state,
    /// `--announce`).
    Records,
    /// Written as NDJSON lines by the scan, in batches: the writer only
    /// copies them out. A dense file makes hundreds of thousands of
    /// findings a second; one record each, made in one thread and freed in
    /// another, cost more than finding them.
    Lines,
}

/// Findings written out, not yet sent (with [`Delivery::Lines`]).
#[derive(Default)]
struct Lines {
    /// The file's last finding, refilled with each next one.
    last: Option<Finding>,
    /// What the file's findings share, escaped once.
    memo: dlp_record::JsonMemo,
    bytes: Vec<u8>,
    count: u64,
}

/// Bytes of NDJSON lines sent at once.
const LINES_BATCH: usize = 64 << 10;

/// One file's events on their way out. [`Report::finding`] is the one
/// place a file's findings pass through, in order, numbered, with what
/// the input event said of the file (if anything) at hand.
pub struct Report<'a> {
    pub(crate) path: &'a Path,
    source: &'a Origin,
    index: u64,
    timestamp: String,
    bytes: u64,
    /// With [`Delivery::Lines`].
    lines: Option<Lines>,
    send: &'a mut dyn FnMut(Event) -> io::Result<()>,
}

impl<'a> Report<'a> {
    pub fn new(
        path: &'a Path,
        source: &'a Origin,
        delivery: Delivery,
        send: &'a mut dyn FnMut(Event) -> io::Result<()>,
    ) -> Self {
        Report {
            path,
            source,
            index: 0,
            timestamp: dlp_record::time::now_rfc3339(),
            bytes: 0,
            lines: (delivery == Delivery::Lines).then(Lines::default),
            send,
        }
    }

    /// The content hash the input event carried, if any.
    pub fn sha256(&self) -> Option<&str> {
        self.source.sha256.as_deref()
    }

    /// Passes on one finding of `stream`, whose OCR confidence is `ocr`.
    /// Fails when the output is gone, which ends the scan.
    pub fn finding(&mut self, m: Match, stream: &Stream, ocr: Option<u8>) -> io::Result<()> {
        self.index += 1;
        if self.lines.is_none() {
            let f = self.record(m, stream, ocr);
            return (self.send)(Event::Finding(Box::new(f)));
        }
        let f = match self.lines.as_mut().and_then(|l| l.last.take()) {
            Some(mut f) => {
                m.refill(&mut f, self.index, stream.archive_path);
                f.page = stream.page;
                f.ocr_confidence = ocr;
                f
            }
            None => self.record(m, stream, ocr),
        };
        let lines = self.lines.as_mut().expect("delivery by lines");
        f.write_json_with(&mut lines.bytes, &mut lines.memo);
        lines.bytes.push(b'\n');
        lines.count += 1;
        lines.last = Some(f);
        if lines.bytes.len() >= LINES_BATCH {
            self.send_lines()?;
        }
        Ok(())
    }

    /// The Finding record of one match.
    fn record(&self, m: Match, stream: &Stream, ocr: Option<u8>) -> Finding {
        let mut f = m.into_finding(self.path, self.index, &self.timestamp, stream.archive_path);
        f.page = stream.page;
        f.ocr_confidence = ocr;
        f.host = dlp_record::host::this().map(str::to_owned);
        f.removable = self.source.removable;
        f.copied_from.clone_from(&self.source.copied_from);
        f
    }

    /// Sends the findings written out so far (before any other event, so
    /// the order holds).
    fn send_lines(&mut self) -> io::Result<()> {
        match self.lines.as_mut().filter(|l| l.count > 0) {
            Some(l) => {
                let bytes = std::mem::replace(&mut l.bytes, Vec::with_capacity(LINES_BATCH + 4096));
                let count = std::mem::take(&mut l.count);
                (self.send)(Event::Lines { bytes, count })
            }
            None => Ok(()),
        }
    }

    /// Sends `e` after the findings written out so far.
    fn send(&mut self, e: Event) {
        if self.send_lines().is_ok() {
            let _ = (self.send)(e);
        }
    }

    /// A note for stderr.
    pub fn note(&mut self, msg: String) {
        self.send(Event::Note {
            msg,
            rejected: false,
            routine: false,
        });
    }

    /// A note for stderr that makes the exit status 1.
    pub fn reject(&mut self, msg: String) {
        self.send(Event::Note {
            msg,
            rejected: true,
            routine: false,
        });
    }

    /// With --state: the file was hashed before its scan.
    pub fn hashed(&mut self, sha256: Option<String>, unchanged: bool) {
        self.send(Event::Hashed {
            path: self.path.to_path_buf(),
            sha256,
            unchanged,
        });
    }

    /// Counts bytes read (for the progress line).
    pub fn add_bytes(&mut self, n: u64) {
        self.bytes += n;
    }

    /// Ends the file.
    pub fn done(&mut self) {
        self.send(Event::Done { bytes: self.bytes });
    }
}

/// Scans the file at `path`, reporting to `report`.
pub fn scan_file(engine: &Engine, path: &Path, limits: &Limits, report: &mut Report) {
    let mut sink = Scanner {
        engine,
        limits,
        report,
    };
    let bytes = extract::file(path, &limits.extract, &mut sink);
    sink.report.add_bytes(bytes);
}

/// Scans each stream extraction yields.
struct Scanner<'a, 'r> {
    engine: &'a Engine,
    limits: &'a Limits,
    report: &'a mut Report<'r>,
}

impl extract::Sink for Scanner<'_, '_> {
    fn text(&mut self, r: &mut dyn Read, s: &Stream) -> io::Result<()> {
        let (report, floor) = (&mut *self.report, self.limits.floor);
        let summary = self.engine.scan_stream(r, self.limits.stream, |mut m| {
            m.byte_range = s.locate(m.byte_range, m.codepoint_range);
            let ocr = s.ocr_confidence(m.byte_range);
            m.confidence = extract::recognised(m.confidence, ocr);
            if m.confidence < floor {
                return Ok(());
            }
            report.finding(m, s, ocr)
        })?;
        if summary.withheld > 0 {
            report.note(format!(
                "{}{}{}: {} findings of an ALL rule were not reported: more than {} were waiting for the rule to fire",
                report.path.display(),
                if s.archive_path.is_empty() { "" } else { "!" },
                s.archive_path,
                summary.withheld,
                detect::HELD_LIMIT
            ));
        }
        Ok(())
    }

    fn note(&mut self, msg: String) {
        self.report.note(msg);
    }

    fn reject(&mut self, msg: String) {
        self.report.reject(msg);
    }
}
