//! The stdin reader thread: records into spooled batches.
//!
//! A batch is closed when it is full (`--batch`) or when the input has
//! nothing more buffered (the next read would wait), so a live pipeline
//! sends each record at once while a bulk load makes large batches. A
//! closed batch is written to the spool (one fsync for the whole batch)
//! before its key goes to the publisher: from then on it survives a crash.
//! Malformed lines are rejected by the record reader's policy
//! (`nats-post: line N: why`, or the end of input under `--strict`).

use std::io::Read;
use std::sync::Arc;

use dlp_runtime::signals;
use dlp_runtime::{RecordReader, Rejects};
use dlp_store::spool::Spool;
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

/// Starts reading `input` on a thread; rejected lines go to `rejects`.
pub fn spawn(
    input: impl Read + Send + 'static,
    cfg: Arc<Config>,
    spool: Spool,
    tx: UnboundedSender<Msg>,
    rejects: Rejects,
) {
    let tx2 = tx.clone();
    let run = move || -> anyhow::Result<()> {
        let mut reader = RecordReader::new(input, rejects);
        let mut batch: Vec<Prepared> = Vec::with_capacity(cfg.batch);
        let flush =
            |batch: &mut Vec<Prepared>| store(&spool, batch, &tx).map_err(anyhow::Error::msg);
        loop {
            if signals::requested() {
                return flush(&mut batch);
            }
            // The input has nothing more buffered: the batch goes now.
            let next = reader.next_record_with(|| flush(&mut batch).map(Some));
            let prepared = match next {
                Ok(Some(line)) => prepare(line, &cfg.template, &cfg.host),
                Ok(None) => break,
                Err(e) => {
                    flush(&mut batch)?;
                    return Err(e);
                }
            };
            match prepared {
                Ok(p) => {
                    batch.push(p);
                    if batch.len() >= cfg.batch {
                        flush(&mut batch)?;
                    }
                }
                Err(why) => {
                    if let Err(e) = reader.reject(&why) {
                        flush(&mut batch)?;
                        return Err(e);
                    }
                }
            }
        }
        flush(&mut batch)
    };
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let _ = tx2.send(match run() {
                Ok(()) => Msg::Eof,
                Err(why) => Msg::Fatal(format!("{why:#}")),
            });
        })
        .expect("spawning reader thread");
}
