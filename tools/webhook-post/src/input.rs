//! The stdin reader thread.
//!
//! Reading happens on its own thread so the main loop can wait for input
//! and for its timers (`--flush-after`, the per-minute window) at once.
//! Malformed lines are rejected here (the record reader's policy:
//! `webhook-post: line N: why`, or the end of input under `--strict`);
//! good records are handed
//! over through a bounded channel, so a slow main loop slows the reader
//! instead of growing memory. A record travels as its bytes only (plus the
//! path the per-minute cap groups by): the parsed form is dropped here, so
//! a buffered record costs its input size, not the several times more a
//! parsed JSON tree takes.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;
use dlp_runtime::{RecordReader, Rejects};
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

/// Marks the reader idle while it waits for input with nothing in hand.
struct Idle<'a>(&'a AtomicBool);

impl Drop for Idle<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Starts reading `input` on a thread; rejected lines go to `rejects`.
/// Once `stopping` is raised, the thread sends the lines it has already
/// read (buffered, not yet parsed), then [`Msg::Drained`], and ends.
/// `idle` is true while the thread waits for input with nothing in hand.
pub fn spawn(
    input: impl Read + Send + 'static,
    tx: Sender<Msg>,
    rejects: Rejects,
    stopping: Arc<AtomicBool>,
    idle: Arc<AtomicBool>,
) {
    let tx2 = tx.clone();
    let run = move || -> anyhow::Result<()> {
        let mut reader = RecordReader::new(input, rejects);
        let wait = || -> anyhow::Result<_> {
            idle.store(true, Ordering::SeqCst);
            Ok(Some(Idle(&idle)))
        };
        while let Some(line) = reader.next_record_with(wait)? {
            match parse(line) {
                Ok(item) => {
                    if tx.send(Msg::Record(item)).is_err() {
                        return Ok(());
                    }
                }
                Err(why) => reader.reject(&why)?,
            }
            if stopping.load(Ordering::SeqCst) && !reader.pending() {
                let _ = tx.send(Msg::Drained);
                return Ok(());
            }
        }
        let _ = tx.send(Msg::Eof);
        Ok(())
    };
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            if let Err(e) = run() {
                let _ = tx2.send(Msg::Fatal(format!("{e:#}")));
            }
        })
        .expect("spawning reader thread");
}
