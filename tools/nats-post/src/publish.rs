//! Publishing one spooled batch and waiting for JetStream's acknowledgements.
//!
//! The publishes of a batch are pipelined (all sent, then all acks
//! awaited against one deadline), so a batch costs about one round trip to
//! the stream leader plus its replication, not one per record. Records
//! whose ack did not come are kept for the next attempt; those that were
//! acknowledged are not sent again (and would be dropped by the duplicate
//! window if they were).

use std::time::{Duration, Instant};

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};
use async_nats::jetstream::Context;
use bytes::Bytes;
use dlp_nats::async_nats;

use crate::cli::Config;

/// One record as it is published.
#[derive(Debug)]
pub struct Message {
    pub subject: String,
    /// The `Nats-Msg-Id`.
    pub id: String,
    pub payload: Bytes,
}

/// What happened to a batch.
#[derive(Debug, Default)]
pub struct Acks {
    /// Records acknowledged now.
    pub acked: usize,
    /// Of those, records the stream already had (duplicate window).
    pub duplicates: usize,
    /// Highest stream sequence acknowledged.
    pub seq: u64,
    /// Indexes of records not acknowledged, with the first error.
    pub failed: Vec<usize>,
    pub error: Option<String>,
    /// The server refused a record because its subject is stored by
    /// another stream than `--stream`: a configuration error, not an
    /// outage.
    pub wrong_stream: bool,
}

/// Creates the stream unless it exists.
pub async fn ensure_stream(js: &Context, cfg: &Config) -> Result<(), String> {
    let sc = StreamConfig {
        name: cfg.stream.clone(),
        subjects: vec![cfg.template.filter()],
        num_replicas: cfg.replicas,
        duplicate_window: cfg.duplicate_window,
        storage: StorageType::File,
        ..Default::default()
    };
    let fut = js.get_or_create_stream(sc);
    match tokio::time::timeout(cfg.timeout + Duration::from_secs(1), fut).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("creating or finding stream {}: {e}", cfg.stream)),
        Err(_) => Err(format!(
            "creating or finding stream {}: timed out",
            cfg.stream
        )),
    }
}

fn describe(kind: PublishErrorKind, e: &dyn std::fmt::Display, subject: &str) -> String {
    match kind {
        PublishErrorKind::StreamNotFound => format!(
            "no stream stores subject {subject} yet (normal while a stream is created or elects a leader; if it lasts, the stream has other subjects)"
        ),
        _ => e.to_string(),
    }
}

/// True when the server refused a publish for the `Nats-Expected-Stream`
/// header: the subject is stored by another stream.
fn is_wrong_stream(e: &dyn std::fmt::Display) -> bool {
    e.to_string()
        .to_ascii_lowercase()
        .contains("expected stream")
}

/// Publishes `recs` and waits for their acks until `cfg.timeout` after
/// the last one was sent.
pub async fn batch(js: &Context, cfg: &Config, recs: &[Message]) -> Acks {
    let mut out = Acks::default();
    let mut futs = Vec::with_capacity(recs.len());
    for (i, r) in recs.iter().enumerate() {
        if out.error.is_some() {
            out.failed.push(i);
            continue;
        }
        // The server stores it only in --stream, or refuses it.
        let p = PublishMessage::build()
            .payload(r.payload.clone())
            .message_id(r.id.as_str())
            .expected_stream(&cfg.stream);
        match js.send_publish(r.subject.clone(), p).await {
            Ok(f) => futs.push((i, f)),
            Err(e) => {
                out.error = Some(describe(e.kind(), &e, &r.subject));
                out.failed.push(i);
            }
        }
    }
    let deadline = tokio::time::Instant::from_std(Instant::now() + cfg.timeout);
    for (i, f) in futs {
        match tokio::time::timeout_at(deadline, f).await {
            Ok(Ok(ack)) => {
                out.acked += 1;
                if ack.duplicate {
                    out.duplicates += 1;
                }
                out.seq = out.seq.max(ack.sequence);
            }
            Ok(Err(e)) => {
                if is_wrong_stream(&e) {
                    out.wrong_stream = true;
                    out.error = Some(format!(
                        "subject {} is stored by another stream than {}: a stream that owns it already exists (name that stream with --stream, or choose another --subject)",
                        recs[i].subject, cfg.stream
                    ));
                } else if out.error.is_none() {
                    out.error = Some(describe(e.kind(), &e, &recs[i].subject));
                }
                out.failed.push(i);
            }
            Err(_) => {
                if out.error.is_none() {
                    out.error = Some("timed out waiting for acknowledgements".into());
                }
                out.failed.push(i);
            }
        }
    }
    out.failed.sort_unstable();
    out
}
