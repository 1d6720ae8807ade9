//! What dlp-pipes tools keep on disk between runs, written so that a crash
//! loses nothing.
//!
//! This crate is the durable spool, one file per entry written atomically
//! and one process per spool ([`spool`]: nf-webhook's accepted webhooks,
//! the outbox's batches waiting for delivery), where a tool's state lives
//! and the start-up checks of a state path ([`spool::default_state_dir`],
//! [`spool::check_file_dir`], [`spool::check_spool_dir`]), and the finding
//! state that reports each finding once, with its keyed identity
//! ([`finding_state`]: pii-scan's `--state`).
//!
//! It is not delivery (retry, order and dead letters are the `outbox`
//! crate's) and not the record format (`dlp-record`).

pub mod finding_state;
pub mod spool;
