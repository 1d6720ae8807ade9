//! Buffered record output.
//!
//! Records are serialised straight into a buffer (never `println!`, which
//! panics on a closed pipe) and the buffer is flushed by the caller when it
//! is about to wait for input, so live pipelines see each record at once
//! while batch runs stay fast. Write errors, including a broken pipe, are
//! returned to the caller; [`crate::run_main`] turns a broken pipe into a
//! quiet exit 0 and anything else into a fatal error.

use std::io::{self, BufWriter, Write};

use anyhow::Context;
use serde::Serialize;

/// An output that buffers and can be flushed when the tool is about to
/// wait for input (see [`crate::ndjson::for_each_line`]).
pub trait Flush {
    /// Flushes buffered output; errors are fatal to the caller.
    fn flush_output(&mut self) -> anyhow::Result<()>;
}

impl<W: Write> Flush for RecordWriter<W> {
    fn flush_output(&mut self) -> anyhow::Result<()> {
        self.flush()
    }
}

/// A buffered NDJSON sink.
pub struct RecordWriter<W: Write> {
    inner: BufWriter<W>,
}

impl RecordWriter<io::StdoutLock<'static>> {
    /// A writer on the process's stdout.
    pub fn stdout() -> Self {
        RecordWriter::new(io::stdout().lock())
    }
}

impl<W: Write> RecordWriter<W> {
    /// Wraps `w` with a 64 KiB buffer.
    pub fn new(w: W) -> Self {
        RecordWriter {
            inner: BufWriter::with_capacity(64 * 1024, w),
        }
    }

    /// Writes one record as a JSON line.
    pub fn record<T: Serialize + ?Sized>(&mut self, rec: &T) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.inner, rec)
            .map_err(|e| match e.io_error_kind() {
                Some(kind) => anyhow::Error::new(io::Error::new(kind, e)),
                None => anyhow::Error::new(e),
            })
            .context("writing output")?;
        self.inner.write_all(b"\n").context("writing output")
    }

    /// Writes `line` followed by a newline, byte for byte.
    pub fn raw_line(&mut self, line: &[u8]) -> anyhow::Result<()> {
        self.inner.write_all(line).context("writing output")?;
        self.inner.write_all(b"\n").context("writing output")
    }

    /// Writes bytes as they are (for non-NDJSON output such as CSV).
    pub fn raw(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.inner.write_all(bytes).context("writing output")
    }

    /// Flushes buffered output; the result must be checked.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.inner.flush().context("writing output")
    }

    /// The underlying writer (for callers that format their own bytes).
    pub fn get_mut(&mut self) -> &mut BufWriter<W> {
        &mut self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_compact_lines() {
        let mut buf = Vec::new();
        {
            let mut w = RecordWriter::new(&mut buf);
            w.record(&serde_json::json!({"a": 1})).unwrap();
            w.raw_line(b"{\"b\":2}").unwrap();
            w.flush().unwrap();
        }
        assert_eq!(buf, b"{\"a\":1}\n{\"b\":2}\n");
    }

    #[test]
    fn reports_full_device() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from_raw_os_error(28))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = RecordWriter::new(Full);
        w.record(&1).unwrap();
        let err = w.flush().unwrap_err();
        assert!(format!("{err:#}").contains("writing output"));
    }
}
