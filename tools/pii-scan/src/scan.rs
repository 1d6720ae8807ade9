//! Scanning one file: open it without blocking, skip what is not a regular
//! readable file, tell text from containers (see [`crate::nest`]) and
//! binary, and pass findings on through [`Report`] as they are found.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use detect::{Engine, Match, StreamOptions};
use dlp_core::{Finding, Range};

use crate::decode::{self, Encoding};
use crate::nest::{Nest, Source};

/// Bytes looked at to tell text from binary and containers apart.
pub(crate) const SNIFF: usize = 8 * 1024;

/// Limits for one scan.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Skip files (and archive members) larger than this.
    pub max_size: Option<u64>,
    /// Decompressed bytes one file may yield, across all its nested
    /// containers.
    pub max_decompressed: u64,
    /// Archive members one file may hold, across all its nested
    /// containers.
    pub max_entries: u64,
    /// Containers opened inside one another (a zip in a zip is 2).
    pub max_depth: u32,
    pub stream: StreamOptions,
}

/// What a scan reports, in order, for one file.
#[derive(Debug)]
pub enum Event {
    Finding(Box<Finding>),
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

/// One file's events on their way out. [`Report::finding`] is the one
/// place a file's findings pass through, in order, numbered, with what
/// the input event said of the file (if anything) at hand.
pub struct Report<'a> {
    pub(crate) path: &'a Path,
    source: &'a Origin,
    index: u64,
    timestamp: String,
    bytes: u64,
    send: &'a mut dyn FnMut(Event) -> io::Result<()>,
}

impl<'a> Report<'a> {
    pub fn new(
        path: &'a Path,
        source: &'a Origin,
        send: &'a mut dyn FnMut(Event) -> io::Result<()>,
    ) -> Self {
        Report {
            path,
            source,
            index: 0,
            timestamp: dlp_core::time::now_rfc3339(),
            bytes: 0,
            send,
        }
    }

    /// The content hash the input event carried, if any.
    pub fn sha256(&self) -> Option<&str> {
        self.source.sha256.as_deref()
    }

    /// Passes on one finding (`archive` is its path inside containers).
    /// Fails when the output is gone, which ends the scan.
    pub fn finding(&mut self, m: Match, archive: &str) -> io::Result<()> {
        self.index += 1;
        let mut f = m.to_finding(self.path, self.index, &self.timestamp, archive);
        f.host = dlp_core::host::this().map(str::to_owned);
        f.removable = self.source.removable;
        f.copied_from.clone_from(&self.source.copied_from);
        (self.send)(Event::Finding(Box::new(f)))
    }

    /// A note for stderr.
    pub fn note(&mut self, msg: String) {
        let _ = (self.send)(Event::Note {
            msg,
            rejected: false,
            routine: false,
        });
    }

    /// A note for stderr that makes the exit status 1.
    pub fn reject(&mut self, msg: String) {
        let _ = (self.send)(Event::Note {
            msg,
            rejected: true,
            routine: false,
        });
    }

    /// With --state: the file was hashed before its scan.
    pub fn hashed(&mut self, sha256: Option<String>, unchanged: bool) {
        let _ = (self.send)(Event::Hashed {
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
        let _ = (self.send)(Event::Done { bytes: self.bytes });
    }
}

/// Scans the file at `path`, reporting to `report`.
pub fn scan_file(engine: &Engine, path: &Path, limits: &Limits, report: &mut Report) {
    let shown = path.display().to_string();
    let file = match dlp_core::hash::open_regular(path) {
        Ok(f) => f,
        Err(e) => {
            match e.kind() {
                io::ErrorKind::NotFound => report.note(format!("{shown}: skipped: vanished")),
                io::ErrorKind::InvalidInput => {
                    report.note(format!("{shown}: skipped: {}", kind_of(path)))
                }
                io::ErrorKind::PermissionDenied => {
                    report.reject(format!("{shown}: unreadable: permission denied"))
                }
                _ => report.reject(format!("{shown}: unreadable: {e}")),
            }
            return;
        }
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if let Some(max) = limits.max_size {
        if size > max {
            report.note(format!(
                "{shown}: skipped: {size} bytes exceeds --max-size {max}"
            ));
            return;
        }
    }
    report.add_bytes(size);
    let gz_name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut nest = Nest::new(engine, limits, report, shown.clone());
    if let Err(e) = nest.scan(Source::File(file), "", 0, &gz_name) {
        if !output_closed(&e) {
            nest.report.reject(format!("{shown}: unreadable: {e}"));
        }
    }
}

/// True for the error a scan ends with when its output is gone.
pub(crate) fn output_closed(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// What the first bytes of a stream say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Gzip,
    Zip,
    Tar,
    Text,
    /// Text in another encoding, after a byte-order mark of this length.
    Encoded(Encoding, usize),
    Binary,
}

pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    if head.starts_with(&[0x1f, 0x8b]) {
        Sniffed::Gzip
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Sniffed::Zip
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Sniffed::Tar
    } else if let Some((enc, bom)) = decode::detect(head, head.len() == SNIFF) {
        Sniffed::Encoded(enc, bom)
    } else if head.contains(&0) {
        Sniffed::Binary
    } else {
        Sniffed::Text
    }
}

/// Scans one stream of text, passing findings on as they are found. With
/// `encoded`, `r` yields text decoded from that encoding (after a
/// byte-order mark of that length), and byte ranges are mapped back to the
/// original bytes.
pub(crate) fn scan_text(
    engine: &Engine,
    r: impl Read,
    limits: &Limits,
    report: &mut Report,
    archive: &str,
    encoded: Option<(Encoding, usize)>,
) -> io::Result<()> {
    let summary = engine.scan_stream(r, limits.stream, |mut m| {
        if let Some((enc, bom)) = encoded {
            let at = |cp: u64| bom as u64 + enc.unit() * cp;
            m.byte_range = Range {
                start: at(m.codepoint_range.start),
                end: at(m.codepoint_range.end),
            };
        }
        report.finding(m, archive)
    })?;
    if summary.withheld > 0 {
        report.note(format!(
            "{}{}{archive}: {} findings of an ALL rule were not reported: more than {} were waiting for the rule to fire",
            report.path.display(),
            if archive.is_empty() { "" } else { "!" },
            summary.withheld,
            detect::gate::HELD_LIMIT
        ));
    }
    Ok(())
}

fn kind_of(path: &Path) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => "directory",
        Ok(m) if m.file_type().is_fifo() => "FIFO",
        Ok(m) if m.file_type().is_socket() => "socket",
        Ok(m) if m.file_type().is_block_device() || m.file_type().is_char_device() => "device",
        _ => "not a regular file",
    }
}
