//! Shared core of the dlp-pipes toolkit.
//!
//! Every tool in the workspace is a small Unix filter that reads and writes
//! newline-delimited JSON. This crate holds what they all agree on: the
//! record contract between stages ([`records`]), the record reader with its
//! reject policy and the record writer, with their flushing conventions
//! ([`reader`], [`ndjson`], [`output`]),
//! the exit-code table ([`exit`]), signal handling ([`signals`]), and small
//! pieces several tools need (time stamps, HMAC signatures, hashing, a
//! durable spool directory, retry back-off).

pub mod backoff;
pub mod cli;
pub mod exit;
pub mod finding_json;
pub mod finding_state;
pub mod hash;
pub mod host;
pub mod json_scan;
pub mod ndjson;
pub mod output;
pub mod par;
pub mod pool;
pub mod reader;
pub mod records;
pub mod signals;
pub mod signature;
pub mod spool;
pub mod text;
pub mod time;
pub mod units;

pub use exit::{run_main, ExitCode};
pub use ndjson::LineReader;
pub use output::{Emitted, Flush, RecordWriter, SharedOutput};
pub use reader::{for_each_line, LoopOptions, RecordReader, Reject, Rejects};
pub use records::{
    Action, ActionRecord, Confidence, EventType, Finding, FindingStatus, FsEvent, Range,
    ScanRequest, ScanStatus, Severity,
};
