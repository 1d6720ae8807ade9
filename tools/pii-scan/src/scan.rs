//! Scanning one file: open it without blocking, skip what is not a regular
//! readable text file, look inside gzip, zip and Office containers with a
//! bound on decompressed bytes, and turn matches into Finding records.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

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

/// What scanning one file produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// Lines for stderr (without the tool prefix).
    pub notes: Vec<String>,
    /// The file could not be read (counts towards exit status 1).
    pub rejected: bool,
    pub bytes: u64,
    /// The notes are routine (shown only with --verbose).
    pub routine: bool,
    /// The file scanned (set by the pool; with --state).
    pub subject: Option<PathBuf>,
    /// SHA-256 of the content scanned (with --state), when it was hashed.
    pub sha256: Option<String>,
    /// The content hash is the one the finding state knows: not scanned.
    pub unchanged: bool,
    /// With --state: this path (a file, or a directory and all under it)
    /// was deleted or moved away.
    pub gone: Option<PathBuf>,
}

impl Outcome {
    pub fn note(msg: String, rejected: bool) -> Self {
        Outcome {
            notes: vec![msg],
            rejected,
            ..Outcome::default()
        }
    }

    /// A note on a routine skip (a directory, a deleted file).
    pub fn routine(msg: String) -> Self {
        Outcome {
            notes: vec![msg],
            routine: true,
            ..Outcome::default()
        }
    }
}

/// Scans the file at `path`.
pub fn scan_file(engine: &Engine, path: &Path, limits: &Limits) -> Outcome {
    let shown = path.display();
    let mut file = match dlp_core::hash::open_regular(path) {
        Ok(f) => f,
        Err(e) => {
            return match e.kind() {
                io::ErrorKind::NotFound => {
                    Outcome::note(format!("{shown}: skipped: vanished"), false)
                }
                io::ErrorKind::InvalidInput => {
                    Outcome::note(format!("{shown}: skipped: {}", kind_of(path)), false)
                }
                io::ErrorKind::PermissionDenied => {
                    Outcome::note(format!("{shown}: unreadable: permission denied"), true)
                }
                _ => Outcome::note(format!("{shown}: unreadable: {e}"), true),
            }
        }
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if let Some(max) = limits.max_size {
        if size > max {
            return Outcome::note(
                format!("{shown}: skipped: {size} bytes exceeds --max-size {max}"),
                false,
            );
        }
    }
    let mut head = Vec::with_capacity(SNIFF);
    if let Err(e) = (&mut file).take(SNIFF as u64).read_to_end(&mut head) {
        return Outcome::note(format!("{shown}: unreadable: {e}"), true);
    }
    let mut out = Outcome {
        bytes: size,
        ..Outcome::default()
    };
    let mut index = 0u64;
    let mut emit = |out: &mut Outcome, ms: Vec<Match>, archive: &str| {
        let ts = dlp_core::time::now_rfc3339();
        for m in ms {
            index += 1;
            let mut f = m.to_finding(path, index, &ts, archive);
            f.host = dlp_core::host::this().map(str::to_owned);
            out.findings.push(f);
        }
    };
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
                out.notes
                    .push(format!("{shown}: skipped: binary content in gzip"));
                return Ok(());
            }
            let ms = engine.scan_reader(io::Cursor::new(h).chain(&mut dec), limits.stream)?;
            if dec.limit() == 0 {
                out.notes.push(format!(
                    "{shown}: decompression limit reached; scanned the first {} bytes",
                    limits.max_decompressed
                ));
            }
            emit(&mut out, ms, &inner);
        } else if head.starts_with(b"PK\x03\x04") {
            file.rewind()?;
            scan_zip(
                engine,
                file,
                limits,
                &mut out,
                &mut emit,
                &shown.to_string(),
            )?;
        } else if head.contains(&0) {
            out.notes.push(format!("{shown}: skipped: binary"));
        } else {
            file.rewind()?;
            let ms = engine.scan_reader(&mut file, limits.stream)?;
            emit(&mut out, ms, "");
        }
        Ok(())
    })();
    if let Err(e) = result {
        out.notes.push(format!("{shown}: unreadable: {e}"));
        out.rejected = true;
    }
    out
}

fn scan_zip(
    engine: &Engine,
    file: File,
    limits: &Limits,
    out: &mut Outcome,
    emit: &mut impl FnMut(&mut Outcome, Vec<Match>, &str),
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
            out.notes
                .push(format!("{shown}: {}: skipped: encrypted", member.name()));
            continue;
        }
        let name = member.name().to_owned();
        if budget == 0 {
            out.notes.push(format!(
                "{shown}: decompression limit reached before {name}"
            ));
            break;
        }
        let mut limited = (&mut member).take(budget);
        let ms = if office {
            let mut xml = Vec::new();
            limited.read_to_end(&mut xml)?;
            budget -= xml.len() as u64;
            engine.scan(&office::xml_text(&xml))
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
            let ms = engine.scan_reader(&mut counted, limits.stream)?;
            budget = budget.saturating_sub(counted.n);
            ms
        };
        if budget == 0 {
            out.notes
                .push(format!("{shown}: decompression limit reached in {name}"));
        }
        emit(out, ms, &name);
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
