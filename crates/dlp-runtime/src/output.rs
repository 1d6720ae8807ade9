//! Buffered record output.
//!
//! Records are serialised straight into a buffer (never `println!`, which
//! panics on a closed pipe) and the buffer is flushed by the caller when it
//! is about to wait for input, so live pipelines see each record at once
//! while batch runs stay fast. Write errors, including a broken pipe, are
//! returned to the caller; [`crate::run_main`] turns a broken pipe into a
//! quiet exit 0 and anything else into a fatal error.

use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use serde::Serialize;

/// An output that buffers and can be flushed when the tool is about to
/// wait for input (see [`crate::for_each_line`]).
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
    /// One finding's line while it is written.
    line: Vec<u8>,
    /// What consecutive findings share, escaped once.
    memo: dlp_record::JsonMemo,
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
            line: Vec::new(),
            memo: dlp_record::JsonMemo::default(),
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

    /// Writes one finding as a JSON line: the bytes [`Self::record`]
    /// writes for it, without serde (see [`dlp_record::Finding::write_json`]).
    pub fn finding(&mut self, f: &dlp_record::Finding) -> anyhow::Result<()> {
        self.line.clear();
        f.write_json_with(&mut self.line, &mut self.memo);
        self.line.push(b'\n');
        self.inner.write_all(&self.line).context("writing output")
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

/// What became of a batch handed to [`SharedOutput::batch`].
#[derive(Debug, PartialEq, Eq)]
pub enum Emitted {
    /// Written and flushed.
    Done,
    /// Output is closed (by [`SharedOutput::close`] or an earlier failure,
    /// such as the reader going away); nothing was written.
    Closed,
}

/// The one record output of a multi-threaded tool: each batch is written and
/// flushed under one lock, so batches from different threads never
/// interleave and a batch is on its way to the reader when `batch` returns.
/// After the first write failure nothing more is written (no batch lands
/// after a half-written one); a closed pipe is remembered as "stopped", any
/// other failure also as an error for the tool to report.
pub struct SharedOutput<W: Write = io::Stdout> {
    sink: Mutex<Sink<W>>,
    stopped: AtomicBool,
    wake: Option<Box<dyn Fn() + Send + Sync>>,
}

struct Sink<W: Write> {
    writer: RecordWriter<W>,
    error: Option<String>,
}

impl SharedOutput {
    /// Output on the process's stdout.
    pub fn stdout() -> Self {
        SharedOutput::new(io::stdout())
    }
}

impl<W: Write> SharedOutput<W> {
    /// Output on `w`.
    pub fn new(w: W) -> Self {
        SharedOutput {
            sink: Mutex::new(Sink {
                writer: RecordWriter::new(w),
                error: None,
            }),
            stopped: AtomicBool::new(false),
            wake: None,
        }
    }

    /// Calls `wake` once when output stops working, so a main loop waiting
    /// on something else notices.
    pub fn on_stop(mut self, wake: impl Fn() + Send + Sync + 'static) -> Self {
        self.wake = Some(Box::new(wake));
        self
    }

    /// Writes one batch with `write` and flushes it, unless output is
    /// closed. A failure is returned and stops all later batches.
    pub fn batch(
        &self,
        write: impl FnOnce(&mut RecordWriter<W>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Emitted> {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        if self.stopped.load(Ordering::SeqCst) {
            return Ok(Emitted::Closed);
        }
        let result = write(&mut sink.writer).and_then(|()| sink.writer.flush());
        if let Err(e) = &result {
            if !crate::exit::is_broken_pipe(e) {
                sink.error = Some(format!("{e:#}"));
            }
            self.stop();
        }
        result.map(|()| Emitted::Done)
    }

    /// Flushes and refuses further batches (shutdown); waits for a batch
    /// being written to finish first.
    pub fn close(&self) -> anyhow::Result<()> {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        if self.stopped.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        sink.writer.flush()
    }

    /// True once output is closed or failed: time to stop producing.
    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// The write error, when output failed for another reason than the
    /// reader going away.
    pub fn error(&self) -> Option<String> {
        self.sink
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .error
            .clone()
    }

    fn stop(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            if let Some(wake) = &self.wake {
                wake();
            }
        }
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

    #[test]
    fn shared_output_stops_after_the_first_failure() {
        struct Failing(io::ErrorKind, std::sync::Arc<AtomicBool>);
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                self.1.store(true, Ordering::SeqCst);
                Err(self.0.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for (kind, error) in [
            (io::ErrorKind::BrokenPipe, false),
            (io::ErrorKind::StorageFull, true),
        ] {
            let touched = std::sync::Arc::new(AtomicBool::new(false));
            let woken = std::sync::Arc::new(AtomicBool::new(false));
            let w = woken.clone();
            let out = SharedOutput::new(Failing(kind, touched.clone()))
                .on_stop(move || w.store(true, Ordering::SeqCst));
            assert!(out.batch(|w| w.record(&1)).is_err());
            assert!(out.stopped() && woken.load(Ordering::SeqCst));
            assert_eq!(out.error().is_some(), error, "{kind:?}");
            touched.store(false, Ordering::SeqCst);
            assert_eq!(out.batch(|w| w.record(&2)).unwrap(), Emitted::Closed);
            assert!(
                !touched.load(Ordering::SeqCst),
                "nothing written after a failure"
            );
        }
    }

    #[test]
    fn shared_output_batches_do_not_interleave() {
        let out = std::sync::Arc::new(SharedOutput::new(Vec::new()));
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let out = out.clone();
                s.spawn(move || {
                    for _ in 0..200 {
                        out.batch(|w| (0..3).try_for_each(|_| w.raw_line(&[b'a' + t])))
                            .unwrap();
                    }
                });
            }
        });
        out.close().unwrap();
        assert_eq!(out.batch(|w| w.raw_line(b"late")).unwrap(), Emitted::Closed);
        let sink = std::sync::Arc::into_inner(out)
            .unwrap()
            .sink
            .into_inner()
            .unwrap();
        let text = String::from_utf8(sink.writer.inner.into_inner().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2400);
        assert!(lines.chunks(3).all(|c| c[0] == c[1] && c[1] == c[2]));
    }
}
