//! From spool item to records: each fetch worker takes one accepted
//! notification (an item of a group-committed [`Batch`]), fetches its
//! findings (or logs why there are none), writes one Finding per finding,
//! and drops the item from its spool entry only after the records are
//! flushed. Anything that cannot be completed stays in the spool for the
//! next start, or goes to `<spool>/failed` when retrying cannot help, so an
//! accepted result is never dropped silently.
//!
//! Delivery is exactly-once except for one edge: a kill that lands after an
//! item's records were flushed but before its entry was rewritten without
//! it replays that item's records on restart (at-least-once). Replayed
//! records are byte-identical (the timestamp is the acceptance time), so a
//! downstream `sort -u` removes them. Items that emitted nothing may be
//! replayed after a kill too; that only repeats their stderr lines.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use nfapi::{RequestMetadata, WebhookNotification};
use serde::{Deserialize, Serialize};

use crate::batch::{self, Batch};
use crate::fetch::FetchError;
use crate::Ctx;
use dlp_runtime::Emitted;

/// One item of a spooled batch, for a fetch worker.
#[derive(Debug, Clone)]
pub struct Job {
    pub batch: Arc<Batch>,
    pub index: usize,
}

/// What the spool holds for one accepted notification.
#[derive(Debug, Serialize, Deserialize)]
pub struct SpoolEntry {
    /// When the notification was accepted (RFC 3339); the records' timestamp.
    pub accepted_at: String,
    pub notification: WebhookNotification,
}

/// How long findings stay fetchable when `validUntil` is missing
/// (docs/nightfall-api.md §4.2).
const DEFAULT_VALIDITY: Duration = Duration::from_secs(24 * 3600);

/// Runs jobs until the channel closes or shutdown begins.
pub fn run(ctx: &Ctx, jobs: crossbeam_channel::Receiver<Job>) {
    while !ctx.draining() {
        match jobs.recv_timeout(Duration::from_millis(100)) {
            Ok(job) => process(ctx, &job),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// Reads every spool entry left by an earlier run into batches, oldest
/// first; returns them with the number of items. An unreadable entry is
/// reported and left in place for the next start.
pub fn load_spool(ctx: &Ctx) -> std::io::Result<(Vec<Arc<Batch>>, usize)> {
    let mut batches = Vec::new();
    let mut items = 0;
    for key in ctx.spool.list()? {
        match ctx.spool.read(&key) {
            Ok(data) => {
                let lines = batch::split(&data);
                items += lines.len();
                if lines.is_empty() {
                    // Only blank lines: nothing to do, nothing to keep.
                    if let Err(e) = ctx.spool.remove(&key) {
                        ctx.log(&format!("removing empty spool entry {key}: {e}"));
                    }
                } else {
                    batches.push(Batch::new(key, lines));
                }
            }
            Err(e) => ctx.log(&format!(
                "reading spool entry {key}: {e}; left for the next start"
            )),
        }
    }
    Ok((batches, items))
}

/// Handles one item completely, or leaves it in the spool.
pub fn process(ctx: &Ctx, job: &Job) {
    let Some(bytes) = job.batch.item(job.index) else {
        return;
    };
    let entry: SpoolEntry = match serde_json::from_slice(&bytes) {
        Ok(e) => e,
        Err(e) => {
            return give_up(
                ctx,
                job,
                &bytes,
                "?",
                &format!("unreadable spool entry: {e}"),
            )
        }
    };
    let n = &entry.notification;
    let id = n.upload_id.as_str();
    for err in &n.errors {
        ctx.log(&format!(
            "Nightfall reported an error | UploadID {id} | {err}"
        ));
    }
    if !n.findings_present || n.findings_url.is_empty() {
        if n.findings_present {
            ctx.log(&format!(
                "findingsPresent is true but findingsURL is empty | UploadID {id}"
            ));
        } else {
            ctx.log(&format!("No sensitive data present! | UploadID {id}"));
        }
        return done(ctx, &job.batch, job.index, false);
    }
    let deadline = nfapi_deadline(&entry);
    let doc = match ctx.fetcher.fetch(
        &n.findings_url,
        deadline,
        |why| ctx.log(&format!("UploadID {id}: {why}")),
        |d| ctx.sleep(d),
        || ctx.draining(),
    ) {
        Ok(doc) => doc,
        Err(FetchError::Stopped) => return,
        Err(FetchError::Permanent(why) | FetchError::Expired(why)) => {
            return give_up(ctx, job, &bytes, id, &why)
        }
    };
    let meta = RequestMetadata::parse(&n.request_metadata);
    let path = meta
        .as_ref()
        .map(|m| format!(" | Path {}", m.path))
        .unwrap_or_default();
    ctx.log(&format!(
        "Sensitive data found, outputting {} finding(s) | UploadID {id}{path}",
        doc.findings.len()
    ));
    let mut lines = Vec::with_capacity(doc.findings.len());
    for (i, f) in doc.findings.iter().enumerate() {
        if dlp_record::Confidence::parse(&f.confidence).is_none() {
            ctx.log(&format!(
                "UploadID {id}: finding {}: unknown confidence {:?}, reported as POSSIBLE",
                i + 1,
                f.confidence
            ));
        }
        let rec = nfapi::to_finding(f, id, meta.as_ref(), i as u64 + 1, &entry.accepted_at);
        lines.push(serde_json::to_vec(&rec).expect("Finding serialises"));
    }
    match ctx
        .out
        .batch(|w| lines.iter().try_for_each(|l| w.raw_line(l)))
    {
        Ok(Emitted::Done) => done(ctx, &job.batch, job.index, true),
        Ok(Emitted::Closed) => {}
        Err(e) => ctx.fail(e),
    }
}

fn nfapi_deadline(entry: &SpoolEntry) -> SystemTime {
    dlp_record::time::parse_rfc3339(&entry.notification.valid_until)
        .or_else(|| {
            dlp_record::time::parse_rfc3339(&entry.accepted_at).map(|t| t + DEFAULT_VALIDITY)
        })
        .unwrap_or_else(|| SystemTime::now() + DEFAULT_VALIDITY)
}

/// Marks an item finished; `durable`: it had effects (records, a dead
/// letter) that must not be repeated, so the entry is rewritten now.
fn done(ctx: &Ctx, batch: &Batch, index: usize, durable: bool) {
    if let Err(e) = batch.finish(&ctx.spool, index, durable) {
        ctx.log(&format!(
            "updating spool entry {}: {e} (its finished results will be replayed on the next start)",
            batch.key()
        ));
    }
}

/// Moves an item that can never succeed to `<spool>/failed` and says so.
fn give_up(ctx: &Ctx, job: &Job, bytes: &[u8], id: &str, why: &str) {
    match ctx.dead.put(bytes) {
        Ok(dead_key) => {
            ctx.log(&format!(
                "giving up on UploadID {id}: {why}; notification kept in {}/{dead_key}.entry",
                ctx.dead.dir().display()
            ));
            done(ctx, &job.batch, job.index, true);
        }
        Err(e) => ctx.log(&format!(
            "giving up on UploadID {id}: {why}; could not move it to {}: {e}",
            ctx.dead.dir().display()
        )),
    }
}
