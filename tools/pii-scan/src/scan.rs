//! Scanning one file: open it without blocking, skip what is not a regular
//! readable text file, look inside gzip, zip and Office containers with a
//! bound on decompressed bytes, and turn matches into Finding records.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::Path;

use detect::{Engine, Match, StreamOptions};
use dlp_core::Finding;

use crate::office;

/// Bytes looked at to tell text from binary.
const SNIFF: usize = 8 * 1024;

/// Limits for one scan.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Skip files larger than this (on disk).
    pub max_size: Option<u64>,
    /// Stop decompressing a container after this many bytes in total.
    pub max_decompressed: u64,
    pub stream: StreamOptions,
}

/// What a scan reports, in order, for one file.
#[derive(Debug)]
pub enum Event {
    Finding(Box<Finding>),
    /// A line for stderr (without the tool prefix); `rejected` counts
    /// towards exit status 1.
    Note {
        msg: String,
        rejected: bool,
    },
    /// The file is done; `bytes` were read from it.
    Done {
        bytes: u64,
    },
}

/// One file's events on their way out. [`Report::finding`] is the one
/// place a file's findings pass through, in order, numbered, with the
/// content hash the input event carried (if any) at hand.
pub struct Report<'a> {
    path: &'a Path,
    sha256: Option<&'a str>,
    index: u64,
    timestamp: String,
    bytes: u64,
    send: &'a mut dyn FnMut(Event) -> io::Result<()>,
}

impl<'a> Report<'a> {
    pub fn new(
        path: &'a Path,
        sha256: Option<&'a str>,
        send: &'a mut dyn FnMut(Event) -> io::Result<()>,
    ) -> Self {
        Report {
            path,
            sha256,
            index: 0,
            timestamp: dlp_core::time::now_rfc3339(),
            bytes: 0,
            send,
        }
    }

    /// The content hash the input event carried, if any.
    pub fn sha256(&self) -> Option<&str> {
        self.sha256
    }

    /// Passes on one finding (`archive` is its path inside containers).
    /// Fails when the output is gone, which ends the scan.
    pub fn finding(&mut self, m: Match, archive: &str) -> io::Result<()> {
        self.index += 1;
        let f = m.to_finding(self.path, self.index, &self.timestamp, archive);
        (self.send)(Event::Finding(Box::new(f)))
    }

    /// A note for stderr.
    pub fn note(&mut self, msg: String) {
        let _ = (self.send)(Event::Note {
            msg,
            rejected: false,
        });
    }

    /// A note for stderr that makes the exit status 1.
    pub fn reject(&mut self, msg: String) {
        let _ = (self.send)(Event::Note {
            msg,
            rejected: true,
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
    let shown = path.display();
    let mut file = match dlp_core::hash::open_regular(path) {
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
    let mut head = Vec::with_capacity(SNIFF);
    if let Err(e) = (&mut file).take(SNIFF as u64).read_to_end(&mut head) {
        report.reject(format!("{shown}: unreadable: {e}"));
        return;
    }
    report.add_bytes(size);
    let result: io::Result<()> = (|| {
        if head.starts_with(&[0x1f, 0x8b]) {
            file.rewind()?;
            let inner = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut dec = flate2::read::MultiGzDecoder::new(file).take(limits.max_decompressed);
            let mut h = Vec::new();
            (&mut dec).take(SNIFF as u64).read_to_end(&mut h)?;
            if h.contains(&0) {
                report.note(format!("{shown}: skipped: binary content in gzip"));
                return Ok(());
            }
            stream(
                engine,
                io::Cursor::new(h).chain(&mut dec),
                limits,
                report,
                &inner,
            )?;
            if dec.limit() == 0 {
                report.note(format!(
                    "{shown}: decompression limit reached; scanned the first {} bytes",
                    limits.max_decompressed
                ));
            }
        } else if head.starts_with(b"PK\x03\x04") {
            file.rewind()?;
            scan_zip(engine, file, limits, report, &shown.to_string())?;
        } else if head.contains(&0) {
            report.note(format!("{shown}: skipped: binary"));
        } else {
            file.rewind()?;
            stream(engine, &mut file, limits, report, "")?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        report.reject(format!("{shown}: unreadable: {e}"));
    }
}

/// Scans one stream of text, passing findings on as they are found.
fn stream(
    engine: &Engine,
    r: impl Read,
    limits: &Limits,
    report: &mut Report,
    archive: &str,
) -> io::Result<()> {
    let summary = engine.scan_stream(r, limits.stream, |m| report.finding(m, archive))?;
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

fn scan_zip(
    engine: &Engine,
    file: File,
    limits: &Limits,
    report: &mut Report,
    shown: &str,
) -> io::Result<()> {
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    let office = office::is_office(&names);
    let mut budget = limits.max_decompressed;
    for i in 0..zip.len() {
        let mut member = zip
            .by_index(i)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if member.is_dir() || (office && !office::is_text_part(member.name())) {
            continue;
        }
        if member.encrypted() {
            report.note(format!("{shown}: {}: skipped: encrypted", member.name()));
            continue;
        }
        let name = member.name().to_owned();
        if budget == 0 {
            report.note(format!(
                "{shown}: decompression limit reached before {name}"
            ));
            break;
        }
        let mut limited = (&mut member).take(budget);
        if office {
            let mut xml = Vec::new();
            limited.read_to_end(&mut xml)?;
            budget -= xml.len() as u64;
            for m in engine.scan(&office::xml_text(&xml)) {
                report.finding(m, &name)?;
            }
        } else {
            let mut h = Vec::new();
            (&mut limited).take(SNIFF as u64).read_to_end(&mut h)?;
            if h.contains(&0) {
                budget -= h.len() as u64;
                continue;
            }
            let mut counted = Counted {
                inner: io::Cursor::new(h).chain(limited),
                n: 0,
            };
            stream(engine, &mut counted, limits, report, &name)?;
            budget = budget.saturating_sub(counted.n);
        }
        if budget == 0 {
            report.note(format!("{shown}: decompression limit reached in {name}"));
        }
    }
    Ok(())
}

struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
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
