//! How a dlp-pipes tool runs as a Unix filter: the conventions every tool
//! keeps, written once.
//!
//! This crate is the record reader with its reject policy and the loop
//! over it ([`RecordReader`], [`Rejects`], [`for_each_line`]; the lines
//! under it in [`ndjson`]), the record writers that flush when input would
//! block and end quietly on a closed stdout ([`RecordWriter`],
//! [`SharedOutput`]), the exit-code table and the `main` wrappers
//! ([`ExitCode`], [`run_main`], [`filter_main`]), SIGINT/SIGTERM
//! ([`signals`]), the ordered worker pool ([`pool`]) and the parallel
//! record loop on it ([`par`]), the command-line conventions ([`cli`]: clap
//! errors, FILE operands, `--host`; [`units`]: sizes and durations) and
//! retry back-off ([`backoff`]).
//!
//! It is not the record format (`dlp-record`, which it writes and reads)
//! and keeps nothing on disk (the spool and finding state are
//! `dlp-store`'s). No heavy dependency: notify, ureq, tiny_http, csv and
//! zip belong to the tools that need them.

pub mod backoff;
pub mod cli;
mod exit;
pub mod ndjson;
mod output;
pub mod par;
pub mod pool;
mod reader;
pub mod signals;
pub mod units;

pub use exit::{filter_main, is_broken_pipe, run_main, ExitCode};
pub use ndjson::LineReader;
pub use output::{Emitted, Flush, RecordWriter, SharedOutput};
pub use reader::{for_each_line, LoopOptions, RecordReader, Reject, Rejects};
