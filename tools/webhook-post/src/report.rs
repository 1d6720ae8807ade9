//! The delivery log on stdout, shared by the reading and delivery threads.
//!
//! One record per batch outcome, flushed at once (they are rare next to
//! the input). A closed stdout (`| head`) is not an error: the tool stops
//! reading, leaves what is undelivered in the spool and exits 0; any other
//! output error is fatal. Either way the main loop is woken so it notices.

use dlp_runtime::SharedOutput;
use serde_json::Value;

/// The delivery log: stdout, shared by the reading and delivery threads.
pub type Out = SharedOutput;

/// Writes and flushes one log record. A failure is not returned: the output
/// remembers it and reports itself stopped, and the main loop acts on that.
pub fn log(out: &Out, rec: &Value) {
    let _ = out.batch(|w| w.record(rec));
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
            "timestamp": dlp_record::time::now_rfc3339(),
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
