//! Grouping records into batches and handing each batch to delivery.
//!
//! A batch is written to a spool draft record by record as it fills (so a
//! buffered record costs disk, not memory) and committed durably, as the
//! records' own lines, *before* its key goes to the delivery thread, so
//! from the moment a batch is complete it survives a crash. It is rendered into its
//! POST body only when sent, so a batch the receiver finds too large (413)
//! can be split. `--max-per-minute` summaries travel the same way, as a
//! batch of their own.

use std::time::Instant;

use anyhow::Context;
use crossbeam_channel::Sender;
use dlp_store::spool::{Draft, Spool};
use outbox::Ctl;

use crate::cli::Config;
use crate::limit;
use crate::report::{self, Out};

/// The batch being filled.
pub struct Batcher<'a> {
    cfg: &'a Config,
    spool: &'a Spool,
    ctl: &'a Sender<Ctl>,
    /// The batch being written, and how many records it holds.
    draft: Option<Draft>,
    count: usize,
    started: Option<Instant>,
}

impl<'a> Batcher<'a> {
    /// An empty batch.
    pub fn new(cfg: &'a Config, spool: &'a Spool, ctl: &'a Sender<Ctl>) -> Self {
        Batcher {
            cfg,
            spool,
            ctl,
            draft: None,
            count: 0,
            started: None,
        }
    }

    fn store_err(&self) -> String {
        format!(
            "cannot store a batch in the spool {}",
            self.spool.dir().display()
        )
    }

    fn start(&self) -> anyhow::Result<Draft> {
        let mut d = self.spool.draft().with_context(|| self.store_err())?;
        d.write(outbox::HEADER).with_context(|| self.store_err())?;
        Ok(d)
    }

    /// Commits a draft and queues it for delivery.
    fn commit(&self, d: Draft) -> anyhow::Result<()> {
        let key = d.commit().with_context(|| self.store_err())?;
        let _ = self.ctl.send(Ctl::New(key));
        Ok(())
    }

    /// Spools `items` as one POST of their own and queues it for delivery.
    fn send(&self, items: &[Vec<u8>]) -> anyhow::Result<()> {
        let mut d = self.start()?;
        for i in items {
            d.write(i)
                .and_then(|()| d.write(b"\n"))
                .with_context(|| self.store_err())?;
        }
        self.commit(d)
    }

    /// Sends the partial batch, if any.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.started = None;
        self.count = 0;
        match self.draft.take() {
            Some(d) => self.commit(d),
            None => Ok(()),
        }
    }

    /// Adds a record; sends the batch when it is full.
    pub fn push(&mut self, item: Vec<u8>, now: Instant) -> anyhow::Result<()> {
        let mut d = match self.draft.take() {
            Some(d) => d,
            None => self.start()?,
        };
        d.write(&item)
            .and_then(|()| d.write(b"\n"))
            .with_context(|| self.store_err())?;
        self.draft = Some(d);
        self.count += 1;
        self.started.get_or_insert(now);
        if self.count >= self.cfg.batch {
            self.flush()?;
        }
        Ok(())
    }

    /// When the partial batch must go (`--flush-after`).
    pub fn due(&self) -> Option<Instant> {
        self.started.map(|s| s + self.cfg.flush_after)
    }
}

/// Logs a `summary` record and queues the summary message (after the current batch).
pub fn summarise(b: &mut Batcher<'_>, out: &Out, s: limit::Summary) -> anyhow::Result<()> {
    b.flush()?;
    let rec = s.record();
    report::log(
        out,
        &serde_json::json!({
            "status": "summary",
            "records": s.count,
            "path": rec["src_path"],
            "message": rec["message"],
            "timestamp": rec["timestamp"],
        }),
    );
    b.send(&[rec.to_string().into_bytes()])
}
