//! The record contract between dlp-pipes stages: what a line of NDJSON
//! means, whoever writes or reads it.
//!
//! This crate is the record types (FsEvent, Finding, ScanRequest, action
//! records; the confidence scale, a finding's lifecycle and severity),
//! which file a record is about ([`subject_bytes`]) and how a path that is
//! not UTF-8 travels ([`path_field`], [`b64`]), a finding written as JSON
//! without serde ([`Finding::write_json`]), the fast scanner of a record's
//! top-level fields ([`json_scan`]), the values records carry (RFC 3339
//! time stamps in [`time`], content hashes in [`hash`], the machine's name
//! in [`host`]), and how a record's text is shown to a person safely
//! ([`text`]: invisible characters made visible; [`safety`]: findings
//! masked, spreadsheet cells that cannot run as formulas).
//!
//! It is not I/O: reading and writing records, exit codes, signals and
//! worker pools are `dlp-runtime`'s; the spool and finding state are
//! `dlp-store`'s. Its dependencies are serde, base64, sha2, itoa and memchr;
//! the `clap` feature adds clap's `ValueEnum` for [`Confidence`] and
//! [`EventType`], for tools whose flags take them.

mod action;
#[cfg(feature = "clap")]
mod clap_values;
mod event;
mod finding;
mod finding_json;
pub mod hash;
pub mod host;
pub mod json_scan;
pub mod safety;
mod scan;
mod subject;
pub mod text;
pub mod time;

pub use action::{Action, ActionRecord};
pub use event::{AttrValues, EventType, FsEvent};
pub use finding::{Confidence, Finding, FindingStatus, Range, Severity};
pub use finding_json::JsonMemo;
pub use scan::{ScanRequest, ScanStatus};
pub use subject::{b64, path_field, path_from_field, subject_bytes};
