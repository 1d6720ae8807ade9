//! The delivery log on stdout, shared by the reading and delivery threads.
//!
//! One record per batch outcome, flushed at once (they are rare next to
//! the input). A closed stdout (`| head`) is not an error: the tool stops
//! reading, leaves what is undelivered in the spool and exits 0; any other
//! output error is fatal. Either way the main loop is woken so it notices.

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use dlp_core::RecordWriter;
use serde_json::Value;

const OPEN: u8 = 0;
const CLOSED: u8 = 1;
const FAILED: u8 = 2;

/// Shared stdout record writer.
pub struct Out {
    w: Mutex<RecordWriter<Stdout>>,
    state: AtomicU8,
    error: Mutex<Option<String>>,
    wake: Box<dyn Fn() + Send + Sync>,
}

impl Out {
    /// A writer on stdout; `wake` is called when output stops working.
    pub fn stdout(wake: impl Fn() + Send + Sync + 'static) -> Self {
        Out {
            w: Mutex::new(RecordWriter::new(io::stdout())),
            state: AtomicU8::new(OPEN),
            error: Mutex::new(None),
            wake: Box::new(wake),
        }
    }

    /// Writes and flushes one record; failures are remembered, not returned.
    pub fn record(&self, rec: &Value) {
        if self.state.load(Ordering::SeqCst) != OPEN {
            return;
        }
        let mut w = self.w.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = w.record(rec).and_then(|_| w.flush()) {
            let closed = dlp_core::exit::is_broken_pipe(&e);
            self.state
                .store(if closed { CLOSED } else { FAILED }, Ordering::SeqCst);
            if !closed {
                *self.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{e:#}"));
            }
            (self.wake)();
        }
    }

    /// True once stdout is closed or failing: time to stop.
    pub fn stopped(&self) -> bool {
        self.state.load(Ordering::SeqCst) != OPEN
    }

    /// The output error, when stdout failed for another reason than being closed.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A delivery record.
pub struct Delivery<'a> {
    pub status: &'static str,
    pub records: u64,
    pub http_status: Option<u16>,
    pub attempts: u32,
    pub latency_ms: u64,
    pub error: Option<&'a str>,
    pub batch: &'a str,
    /// Where a failed batch was kept.
    pub dead_letter: Option<String>,
}

impl Delivery<'_> {
    /// The wire form.
    pub fn to_value(&self) -> Value {
        let mut v = serde_json::json!({
            "status": self.status,
            "records": self.records,
            "attempts": self.attempts,
            "latency_ms": self.latency_ms,
            "timestamp": dlp_core::time::now_rfc3339(),
            "batch": self.batch,
        });
        if let Some(s) = self.http_status {
            v["http_status"] = s.into();
        }
        if let Some(e) = self.error {
            v["error"] = e.into();
        }
        if let Some(p) = &self.dead_letter {
            v["dead_letter"] = p.as_str().into();
        }
        v
    }
}
