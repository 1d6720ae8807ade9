//! Grouping records into batches and handing each batch to delivery.
//!
//! A batch is rendered into its POST body and written durably to the
//! spool *before* its key goes to the delivery thread, so from the moment
//! a record leaves the batch it survives a crash. `--max-per-minute`
//! summaries travel the same way, as a batch of their own.

use std::time::Instant;

use anyhow::Context;
use crossbeam_channel::Sender;
use dlp_core::spool::Spool;

use crate::cli::Config;
use crate::delivery::{self, Ctl};
use crate::limit;
use crate::render::Item;
use crate::report::Out;

/// The batch being filled.
pub struct Batcher<'a> {
    cfg: &'a Config,
    spool: &'a Spool,
    ctl: &'a Sender<Ctl>,
    items: Vec<Item>,
    started: Option<Instant>,
}

impl<'a> Batcher<'a> {
    /// An empty batch.
    pub fn new(cfg: &'a Config, spool: &'a Spool, ctl: &'a Sender<Ctl>) -> Self {
        Batcher {
            cfg,
            spool,
            ctl,
            items: Vec::new(),
            started: None,
        }
    }

    /// Spools `items` as one POST and queues it for delivery.
    fn send(&self, items: &[Item]) -> anyhow::Result<()> {
        let body = self.cfg.renderer.body(items);
        let entry = delivery::encode_entry(items.len() as u64, &body);
        let key = self.spool.put(&entry).with_context(|| {
            format!(
                "cannot store a batch in the spool {}",
                self.spool.dir().display()
            )
        })?;
        let _ = self.ctl.send(Ctl::New(key));
        Ok(())
    }

    /// Sends the partial batch, if any.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        if !self.items.is_empty() {
            let items = std::mem::take(&mut self.items);
            self.send(&items)?;
        }
        self.started = None;
        Ok(())
    }

    /// Adds a record; sends the batch when it is full.
    pub fn push(&mut self, item: Item, now: Instant) -> anyhow::Result<()> {
        self.items.push(item);
        self.started.get_or_insert(now);
        if self.items.len() >= self.cfg.batch {
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
    out.record(&serde_json::json!({
        "status": "summary",
        "records": s.count,
        "path": rec["src_path"],
        "message": rec["message"],
        "timestamp": rec["timestamp"],
    }));
    b.send(&[Item::from_value(rec)])
}
