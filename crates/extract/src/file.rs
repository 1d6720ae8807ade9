//! The entry points: a file on disk (opened without blocking; FIFOs,
//! devices and directories are skipped with a note) or any reader, walked
//! through [`crate::nest`].

use std::io::{self, Read};
use std::path::Path;

use crate::nest::{Nest, Source};
use crate::{output_closed, Limits, Sink};

/// Extracts the file at `path`, naming it `path.display()` in notes, and
/// returns its size (0 when it was not read). Errors are said through the
/// sink; only a closed output ends it early.
pub fn file(path: &Path, limits: &Limits, sink: &mut dyn Sink) -> u64 {
    let shown = path.display().to_string();
    let file = match dlp_record::hash::open_regular(path) {
        Ok(f) => f,
        Err(e) => {
            match e.kind() {
                io::ErrorKind::NotFound => sink.note(format!("{shown}: skipped: vanished")),
                io::ErrorKind::InvalidInput => {
                    sink.note(format!("{shown}: skipped: {}", kind_of(path)))
                }
                io::ErrorKind::PermissionDenied => {
                    sink.reject(format!("{shown}: unreadable: permission denied"))
                }
                _ => sink.reject(format!("{shown}: unreadable: {e}")),
            }
            return 0;
        }
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if let Some(max) = limits.max_size {
        if size > max {
            sink.note(format!(
                "{shown}: skipped: {size} bytes exceeds --max-size {max}"
            ));
            return 0;
        }
    }
    let mut nest = Nest::new(limits, sink, shown.clone(), gz_name(path));
    if let Err(e) = nest.top(Source::File(file)) {
        if !output_closed(&e) {
            nest.sink.reject(format!("{shown}: unreadable: {e}"));
        }
    }
    size
}

/// Extracts what `r` yields, a file called `name` (for notes, and the
/// name of a gzip's text). Fails only when the sink's output is gone;
/// read errors are said through the sink.
pub fn reader(
    r: &mut dyn Read,
    name: &str,
    limits: &Limits,
    sink: &mut dyn Sink,
) -> io::Result<()> {
    let mut nest = Nest::new(limits, sink, name.to_owned(), gz_name(Path::new(name)));
    match nest.top(Source::Reader(r)) {
        Err(e) if output_closed(&e) => Err(e),
        Err(e) => {
            nest.sink.reject(format!("{name}: unreadable: {e}"));
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// The name a top-level gzip's text goes by: the file's name without its
/// last extension.
fn gz_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
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
