//! The one stdout writer. Every batch of records (one accepted webhook's
//! findings) is written and flushed under one lock, so lines from
//! different webhooks never interleave and a batch is on its way to the
//! reader before its spool entry is removed.

use std::io::Stdout;
use std::sync::Mutex;

use dlp_core::RecordWriter;

/// Shared, closable record output.
pub struct Output {
    inner: Mutex<Sink>,
}

struct Sink {
    writer: RecordWriter<Stdout>,
    closed: bool,
}

/// Result of handing a batch to [`Output::emit`].
#[derive(Debug)]
pub enum Emitted {
    /// Written and flushed.
    Done,
    /// Output is closed for shutdown; nothing written (the spool keeps it).
    Closed,
}

impl Output {
    /// Output on the process's stdout.
    pub fn stdout() -> Self {
        Output {
            inner: Mutex::new(Sink {
                writer: RecordWriter::new(std::io::stdout()),
                closed: false,
            }),
        }
    }

    /// Writes all `lines` (each one JSON record) and flushes.
    pub fn emit(&self, lines: &[Vec<u8>]) -> anyhow::Result<Emitted> {
        let mut sink = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if sink.closed {
            return Ok(Emitted::Closed);
        }
        let result = lines
            .iter()
            .try_for_each(|l| sink.writer.raw_line(l))
            .and_then(|()| sink.writer.flush());
        if result.is_err() {
            // Stop writing after the first failure so no later batch lands
            // after a half-written one.
            sink.closed = true;
        }
        result.map(|()| Emitted::Done)
    }

    /// Flushes and refuses further batches (shutdown). Waits for a batch
    /// being written to finish first.
    pub fn close(&self) -> anyhow::Result<()> {
        let mut sink = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if sink.closed {
            return Ok(());
        }
        sink.closed = true;
        sink.writer.flush()
    }
}
