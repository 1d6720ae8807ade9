//! The stdin reader thread.
//!
//! Reading happens on its own thread so the main loop can wait for input
//! and for its timers (`--flush-after`, the per-minute window) at once.
//! Malformed lines are reported here as `webhook-post: line N: why` and
//! skipped (or end the input under `--strict`); good records are handed
//! over through a bounded channel, so a slow main loop slows the reader
//! instead of growing memory. A record travels as its bytes only (plus the
//! path the per-minute cap groups by): the parsed form is dropped here, so
//! a buffered record costs its input size, not the several times more a
//! parsed JSON tree takes.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;
use dlp_core::ndjson::{Line, LineReader};
use serde_json::Value;

/// One good input record.
#[derive(Debug)]
pub struct Rec {
    /// The line as read (one JSON object, no newline).
    pub raw: Vec<u8>,
    /// The file it is about ([`crate::template::subject_path`]).
    pub path: Option<String>,
}

/// Messages to the main loop.
pub enum Msg {
    Record(Rec),
    /// End of input.
    Eof,
    /// Input cannot go on (read error, or a malformed line under `--strict`).
    Fatal(String),
    /// Something happened elsewhere (signal, stdout closed): look at the flags.
    Wake,
    /// After `stopping` was raised: every line already read has been sent.
    Drained,
}

fn parse(line: &[u8]) -> Result<Rec, String> {
    let value: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    if !value.is_object() {
        return Err("not a JSON object".into());
    }
    Ok(Rec {
        raw: line.to_vec(),
        path: crate::template::subject_path(&value),
    })
}

/// Starts reading `input` on a thread; rejected lines set `rejected`.
/// Once `stopping` is raised, the thread sends the lines it has already
/// read (buffered, not yet parsed), then [`Msg::Drained`], and ends.
/// `idle` is true while the thread waits for input with nothing in hand.
pub fn spawn(
    input: impl Read + Send + 'static,
    tx: Sender<Msg>,
    strict: bool,
    rejected: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
    idle: Arc<AtomicBool>,
) {
    let run = move || {
        let mut reader = LineReader::new(input);
        loop {
            idle.store(!reader.pending(), Ordering::SeqCst);
            let next = reader.next_line();
            idle.store(false, Ordering::SeqCst);
            let item = match next {
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(Msg::Fatal(format!("reading input: {e}")));
                    return;
                }
                Ok(Some(Line::TooLong(n))) => {
                    Err(format!("line of {n} bytes exceeds the line-length limit"))
                }
                Ok(Some(Line::Text(t))) if t.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(Some(Line::Text(t))) => parse(t),
            };
            match item {
                Ok(item) => {
                    if tx.send(Msg::Record(item)).is_err() {
                        return;
                    }
                }
                Err(why) if strict => {
                    let _ = tx.send(Msg::Fatal(format!("line {}: {why}", reader.line_no())));
                    return;
                }
                Err(why) => {
                    eprintln!("webhook-post: line {}: {why}", reader.line_no());
                    rejected.store(true, Ordering::SeqCst);
                }
            }
            if stopping.load(Ordering::SeqCst) && !reader.pending() {
                let _ = tx.send(Msg::Drained);
                return;
            }
        }
        let _ = tx.send(Msg::Eof);
    };
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(run)
        .expect("spawning reader thread");
}
