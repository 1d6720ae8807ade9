//! The stdin reader thread: records into spooled batches.
//!
//! A batch is closed when it is full (`--batch`) or when the input has
//! nothing more buffered (the next read would wait), so a live pipeline
//! sends each record at once while a bulk load makes large batches. A
//! closed batch is written to the spool (one fsync for the whole batch)
//! before its key goes to the publisher: from then on it survives a crash.
//! Malformed lines are reported as `nats-post: line N: why` and skipped, or
//! end the input under `--strict`.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dlp_core::ndjson::{Line, LineReader};
use dlp_core::signals;
use dlp_core::spool::Spool;
use tokio::sync::mpsc::UnboundedSender;

use crate::cli::Config;
use crate::entry;
use crate::subject::{prepare, Prepared};

/// Messages to the publisher.
#[derive(Debug)]
pub enum Msg {
    /// A batch was spooled under this key.
    Batch(String),
    /// End of input (or a signal: the reader stopped with nothing in hand).
    Eof,
    /// Input cannot go on (read error, spool error, or a bad line under `--strict`).
    Fatal(String),
    /// Something happened elsewhere (a signal): look at the flags.
    Wake,
}

fn store(
    spool: &Spool,
    batch: &mut Vec<Prepared>,
    tx: &UnboundedSender<Msg>,
) -> Result<(), String> {
    if batch.is_empty() {
        return Ok(());
    }
    let data = entry::encode(batch);
    batch.clear();
    let key = spool.put(&data).map_err(|e| {
        format!(
            "cannot store a batch in the spool {}: {e}",
            spool.dir().display()
        )
    })?;
    let _ = tx.send(Msg::Batch(key));
    Ok(())
}

/// Starts reading `input` on a thread; rejected lines set `rejected`.
pub fn spawn(
    input: impl Read + Send + 'static,
    cfg: Arc<Config>,
    spool: Spool,
    tx: UnboundedSender<Msg>,
    rejected: Arc<AtomicBool>,
) {
    let tx2 = tx.clone();
    let run = move || -> Result<(), String> {
        let mut reader = LineReader::new(input);
        let mut batch: Vec<Prepared> = Vec::with_capacity(cfg.batch);
        loop {
            if signals::requested() {
                store(&spool, &mut batch, &tx)?;
                return Ok(());
            }
            if !reader.pending() {
                store(&spool, &mut batch, &tx)?;
            }
            let prepared = match reader.next_line() {
                Ok(None) => break,
                Err(e) => {
                    store(&spool, &mut batch, &tx)?;
                    return Err(format!("reading input: {e}"));
                }
                Ok(Some(Line::TooLong(n))) => {
                    Err(format!("line of {n} bytes exceeds the line-length limit"))
                }
                Ok(Some(Line::Text(t))) if t.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(Some(Line::Text(t))) => prepare(t, &cfg.template, &cfg.host),
            };
            match prepared {
                Ok(p) => {
                    batch.push(p);
                    if batch.len() >= cfg.batch {
                        store(&spool, &mut batch, &tx)?;
                    }
                }
                Err(why) if cfg.strict => {
                    store(&spool, &mut batch, &tx)?;
                    return Err(format!("line {}: {why}", reader.line_no()));
                }
                Err(why) => {
                    eprintln!("nats-post: line {}: {why}", reader.line_no());
                    rejected.store(true, Ordering::SeqCst);
                }
            }
        }
        store(&spool, &mut batch, &tx)
    };
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let _ = tx2.send(match run() {
                Ok(()) => Msg::Eof,
                Err(why) => Msg::Fatal(why),
            });
        })
        .expect("spawning reader thread");
}
