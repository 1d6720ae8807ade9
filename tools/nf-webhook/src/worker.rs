//! From spool entry to records: each fetch worker takes the key of an
//! accepted notification, fetches its findings (or logs why there are
//! none), writes one Finding per finding, and removes the entry only after
//! the records are flushed. Anything that cannot be completed stays in the
//! spool for the next start, or goes to `<spool>/failed` when retrying
//! cannot help, so an accepted result is never dropped silently.
//!
//! Delivery is exactly-once except for one edge: a kill that lands after a
//! batch was flushed but before its entry was removed replays that batch
//! on restart (at-least-once). Replayed records are byte-identical (the
//! timestamp is the acceptance time), so a downstream `sort -u` removes them.

use std::time::{Duration, SystemTime};

use nfapi::{RequestMetadata, WebhookNotification};
use serde::{Deserialize, Serialize};

use crate::fetch::FetchError;
use crate::output::Emitted;
use crate::Ctx;

/// What the spool holds for one accepted notification.
#[derive(Debug, Serialize, Deserialize)]
pub struct SpoolEntry {
    /// When the notification was accepted (RFC 3339); the records' timestamp.
    pub accepted_at: String,
    pub notification: WebhookNotification,
}

/// How long findings stay fetchable when `validUntil` is missing (§4.2).
const DEFAULT_VALIDITY: Duration = Duration::from_secs(24 * 3600);

/// Runs jobs until the channel closes or shutdown begins.
pub fn run(ctx: &Ctx, jobs: crossbeam_channel::Receiver<String>) {
    while !ctx.draining() {
        match jobs.recv_timeout(Duration::from_millis(100)) {
            Ok(key) => process(ctx, &key),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// Handles one spool entry completely, or leaves it in place.
pub fn process(ctx: &Ctx, key: &str) {
    let entry: SpoolEntry = match ctx.spool.read(key) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(e) => e,
            Err(e) => return give_up(ctx, key, "?", &format!("unreadable spool entry: {e}")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            return ctx.log(&format!(
                "reading spool entry {key}: {e}; left for the next start"
            ))
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
        return done(ctx, key);
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
            return give_up(ctx, key, id, &why)
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
        if dlp_core::Confidence::parse(&f.confidence).is_none() {
            ctx.log(&format!(
                "UploadID {id}: finding {}: unknown confidence {:?}, reported as POSSIBLE",
                i + 1,
                f.confidence
            ));
        }
        let rec = nfapi::to_finding(f, id, meta.as_ref(), i as u64 + 1, &entry.accepted_at);
        lines.push(serde_json::to_vec(&rec).expect("Finding serialises"));
    }
    match ctx.out.emit(&lines) {
        Ok(Emitted::Done) => done(ctx, key),
        Ok(Emitted::Closed) => {}
        Err(e) => ctx.fail(e),
    }
}

fn nfapi_deadline(entry: &SpoolEntry) -> SystemTime {
    dlp_core::time::parse_rfc3339(&entry.notification.valid_until)
        .or_else(|| dlp_core::time::parse_rfc3339(&entry.accepted_at).map(|t| t + DEFAULT_VALIDITY))
        .unwrap_or_else(|| SystemTime::now() + DEFAULT_VALIDITY)
}

fn done(ctx: &Ctx, key: &str) {
    if let Err(e) = ctx.spool.remove(key) {
        ctx.log(&format!(
            "removing spool entry {key}: {e} (it will be replayed on the next start)"
        ));
    }
}

/// Moves an entry that can never succeed to `<spool>/failed` and says so.
fn give_up(ctx: &Ctx, key: &str, id: &str, why: &str) {
    let kept = ctx
        .spool
        .read(key)
        .map_err(|e| e.to_string())
        .and_then(|b| ctx.dead.put(&b).map_err(|e| e.to_string()));
    match kept {
        Ok(dead_key) => {
            ctx.log(&format!(
                "giving up on UploadID {id}: {why}; notification kept in {}/{dead_key}.entry",
                ctx.dead.dir().display()
            ));
            done(ctx, key);
        }
        Err(e) => ctx.log(&format!(
            "giving up on UploadID {id}: {why}; could not move it to {}: {e}",
            ctx.dead.dir().display()
        )),
    }
}
