//! `--append FILE`: rows appended to a CSV file that stays one table.
//!
//! FILE is opened with `O_APPEND` (created when missing, never truncated),
//! so rows written by this run land after whatever is there, even when
//! another writer appends too. While an exclusive lock (`flock`) is held,
//! its first line is compared with the header this run writes: an empty
//! FILE gets the header row, a FILE with the same header gets rows only,
//! and a FILE with another header is refused (exit status 2) before any
//! row is written, naming both headers.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{bail, Context};

use crate::HeaderMode;

/// Bytes read to find the first line (a longer first line is not ours).
const MAX_HEADER: usize = 64 * 1024;

/// Opens `path` to append rows to, having written `header` (a CSV line
/// without its newline) when it is empty; refuses a file whose first line
/// is another header. With `HeaderMode::Never`, no header is written and
/// none is checked.
pub fn open(path: &Path, header: &str, mode: HeaderMode) -> anyhow::Result<File> {
    let shown = path.display();
    if path.as_os_str() == "-" {
        bail!("--append needs a file (to write to stdout, leave --append out)");
    }
    // Read access too: the header is checked through the same descriptor
    // (reads start at offset 0; O_APPEND writes go to the end whatever the
    // read position).
    let mut f = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot open {shown} to append rows to"))?;
    let meta = f.metadata().with_context(|| format!("{shown}"))?;
    if !meta.is_file() {
        bail!("{shown} is not a regular file (--append takes a CSV file)");
    }
    if mode == HeaderMode::Never {
        return Ok(f);
    }
    f.lock()
        .with_context(|| format!("locking {shown} to check its header"))?;
    match first_line(&f).with_context(|| format!("reading the header of {shown}"))? {
        None => {
            f.write_all(format!("{header}\n").as_bytes())
                .and_then(|()| f.flush())
                .with_context(|| format!("writing the header to {shown}"))?;
        }
        Some(first) if first == header.as_bytes() => {}
        Some(first) => bail!(
            "{shown} has other columns than this run writes (its header: {}; this run's: {}); append to a new file, or choose the columns it has",
            cut(&first),
            cut(header.as_bytes())
        ),
    }
    f.unlock().with_context(|| format!("unlocking {shown}"))?;
    Ok(f)
}

/// The first line read from `r` (a file at its start) without its line
/// end, or `None` when it is empty; at most [`MAX_HEADER`] bytes are read.
pub(crate) fn first_line(mut r: impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; MAX_HEADER];
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
        if buf[..n].contains(&b'\n') {
            break;
        }
    }
    if n == 0 {
        return Ok(None);
    }
    let line = buf[..n].split(|&b| b == b'\n').next().unwrap_or_default();
    Ok(Some(line.strip_suffix(b"\r").unwrap_or(line).to_vec()))
}

/// A header for a message: text, at most 200 characters.
fn cut(h: &[u8]) -> String {
    let s = String::from_utf8_lossy(h);
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.into_owned(),
    }
}
