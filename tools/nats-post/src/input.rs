//! The stdin reader thread: records into spooled batches.
//!
//! Each record is checked, stamped with its host and given its subject and
//! message id ([`prepare`]) as it is read, and spooled with them
//! ([`crate::entry`]), so it is never parsed again. A batch is closed when
//! it is full (`--batch`) or when the input has nothing more buffered (the
//! next read would wait), so a live pipeline sends each record at once
//! while a bulk load makes large batches. A closed batch is written to the spool (`outbox::Batch`: one
//! fsync for the whole batch) before its key goes to the outbox: from then
//! on it survives a crash.
//! Malformed lines are rejected by the record reader's policy
//! (`nats-post: line N: why`, or the end of input under `--strict`).

use std::io::Read;
use std::sync::Arc;

use crossbeam_channel::Sender;
use dlp_runtime::signals;
use dlp_runtime::{RecordReader, Rejects};
use dlp_store::spool::Spool;
use outbox::{Batch, Ctl};

use crate::cli::Config;
use crate::entry;
use crate::subject::prepare;

/// Messages to the main loop.
#[derive(Debug)]
pub enum Msg {
    /// End of input (or a signal: the reader stopped with nothing in hand).
    Eof,
    /// Input cannot go on (read error, spool error, or a bad line under `--strict`).
    Fatal(String),
    /// Something happened elsewhere (a signal, stdout closed, delivery
    /// stopped): look at the flags.
    Wake,
}

fn store(spool: &Spool, batch: &mut Batch, ctl: &Sender<Ctl>) -> Result<(), String> {
    if batch.is_empty() {
        return Ok(());
    }
    let key = batch.store(spool).map_err(|e| {
        format!(
            "cannot store a batch in the spool {}: {e}",
            spool.dir().display()
        )
    })?;
    // The outbox has stopped (a configuration error): the batch waits in
    // the spool for the next start.
    let _ = ctl.send(Ctl::New(key));
    Ok(())
}

/// Starts reading `input` on a thread: batches go to the outbox (`ctl`),
/// the end of input to the main loop (`tx`), rejected lines to `rejects`.
pub fn spawn(
    input: impl Read + Send + 'static,
    cfg: Arc<Config>,
    spool: Spool,
    ctl: Sender<Ctl>,
    tx: Sender<Msg>,
    rejects: Rejects,
) {
    let run = move || -> anyhow::Result<()> {
        let mut reader = RecordReader::new(input, rejects);
        let mut batch = Batch::addressed();
        let mut scratch = Vec::new();
        let flush = |batch: &mut Batch| store(&spool, batch, &ctl).map_err(anyhow::Error::msg);
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
                    entry::push(&mut batch, &p, &mut scratch);
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
            let _ = tx.send(match run() {
                Ok(()) => Msg::Eof,
                Err(why) => Msg::Fatal(format!("{why:#}")),
            });
        })
        .expect("spawning reader thread");
}
