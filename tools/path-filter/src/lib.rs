//! `path-filter`: keep or drop NDJSON records by regex on a path field.
//!
//! Kept records are written through byte for byte, so unknown fields and
//! field order survive any number of filter stages.

mod fields;
mod presets;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use dlp_runtime::{for_each_line, ExitCode, LoopOptions, RecordWriter, Reject};
use regex::bytes::{RegexSet, RegexSetBuilder};

pub use fields::{extract, Extracted, FieldSpec};

const TOOL: &str = "path-filter";

const LONG_ABOUT: &str = "\
Keep or drop NDJSON records by regular expression on a path field.

A record is kept when its path matches any --include (or there is none),
matches no --exclude, and its event_type is one of --event-type (when given).
--invert keeps exactly the records that would be dropped. Kept lines are
written through byte for byte.

The path is, by default, the file the record is about: dest_path when it is
non-empty, else src_path (FsEvent records), else path (Finding and
ScanRequest records). Paths that are not UTF-8 are matched on their raw
bytes (the *_b64 fields). Lines that are not JSON objects, or lack the
field, are reported on stderr with their line number and dropped (exit 1).

Presets (combine with each other and with explicit flags):
  user-docs      include Desktop, Documents, Downloads under /Users/* and /home/*
  ignore-temp    exclude editor swap/backup files (vim .swp ... .swa, .swx,
                 4913; emacs #x# .#x x~; Kate, JetBrains, gedit, LibreOffice
                 locks), .DS_Store, Thumbs.db, ~$ Office locks, trash folders,
                 .part/.crdownload/.tmp partial downloads, .git/ internals
  ignore-system  exclude /opt, Library, /private, /System, /Applications, /usr,
                 /proc, /sys, /dev, /var/cache

Examples:
  fswatch-json ~ | path-filter --preset user-docs --preset ignore-temp | pii-scan
  path-filter --include '\\.(csv|xlsx)$' --event-type created,modified < events.ndjson
  pii-scan ~/Downloads | path-filter --field path --exclude '/fixtures/'";

/// Command-line arguments.
#[derive(Debug, clap::Parser)]
#[command(name = TOOL, version, about = "Keep or drop NDJSON records by regex on a path field", long_about = LONG_ABOUT)]
pub struct Cli {
    /// NDJSON files to read, in order (- or none: stdin)
    #[arg(value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,
    /// Keep records whose path matches RE (repeatable; any may match)
    #[arg(long, value_name = "RE")]
    pub include: Vec<String>,
    /// Drop records whose path matches RE (repeatable)
    #[arg(long, value_name = "RE")]
    pub exclude: Vec<String>,
    /// Use preset rules: user-docs, ignore-temp, ignore-system (repeatable)
    #[arg(long, value_name = "NAME", value_parser = presets::NAMES)]
    pub preset: Vec<String>,
    /// Match this top-level field instead of the event's file
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
    /// Keep only these event types (comma-separated or repeated)
    #[arg(long, value_name = "TYPES", value_delimiter = ',',
          value_parser = clap::builder::PossibleValuesParser::new(dlp_record::EventType::ALL.map(dlp_record::EventType::as_str)))]
    pub event_type: Vec<String>,
    /// Keep the records that would be dropped, and drop the rest
    #[arg(long)]
    pub invert: bool,
    /// Match regexes case-insensitively
    #[arg(short = 'i', long)]
    pub ignore_case: bool,
    /// Treat a malformed line as fatal (exit 2) instead of reporting it
    #[arg(long)]
    pub strict: bool,
}

/// The validated filter.
#[derive(Clone)]
pub struct Filter {
    /// Tells this filter's per-thread copies (see [`Filter::local`]) apart
    /// from another filter's.
    id: u64,
    include: Option<RegexSet>,
    exclude: Option<RegexSet>,
    event_types: Vec<String>,
    field: FieldSpec,
    invert: bool,
}

fn regex_set(
    patterns: &[String],
    ignore_case: bool,
    what: &str,
) -> anyhow::Result<Option<RegexSet>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    RegexSetBuilder::new(patterns)
        .case_insensitive(ignore_case)
        .build()
        .map(Some)
        .with_context(|| format!("invalid {what} regex"))
}

impl Filter {
    /// Validates arguments into a filter (before any input is read).
    pub fn from_cli(cli: &Cli) -> anyhow::Result<Self> {
        let mut include = cli.include.clone();
        let mut exclude = cli.exclude.clone();
        for p in &cli.preset {
            let preset = presets::get(p).with_context(|| format!("unknown preset {p:?}"))?;
            include.extend(preset.include.iter().map(|s| s.to_string()));
            exclude.extend(preset.exclude.iter().map(|s| s.to_string()));
        }
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Ok(Filter {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            include: regex_set(&include, cli.ignore_case, "--include")?,
            exclude: regex_set(&exclude, cli.ignore_case, "--exclude")?,
            event_types: cli.event_type.clone(),
            field: match &cli.field {
                Some(f) => FieldSpec::Named(f.clone()),
                None => FieldSpec::EventFile,
            },
            invert: cli.invert,
        })
    }

    /// This thread's own copy of the filter. Regexes shared between
    /// threads lend their match caches out through a lock; a copy per worker
    /// thread keeps its caches to itself (same patterns, same answers).
    fn local(&self) -> Rc<Filter> {
        thread_local! {
            static LOCAL: RefCell<Option<Rc<Filter>>> = const { RefCell::new(None) };
        }
        LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            match &*l {
                Some(f) if f.id == self.id => Rc::clone(f),
                _ => Rc::clone(l.insert(Rc::new(self.clone()))),
            }
        })
    }

    /// Decides one line: `Ok(true)` keep, `Ok(false)` drop, `Err` reject.
    pub fn keep(&self, line: &[u8]) -> Result<bool, Reject> {
        let ex = extract(line, &self.field, !self.event_types.is_empty())?;
        let path = ex.path_bytes()?;
        let mut keep = self.include.as_ref().is_none_or(|s| s.is_match(&path))
            && !self.exclude.as_ref().is_some_and(|s| s.is_match(&path));
        if keep && !self.event_types.is_empty() {
            let t = ex
                .event_type
                .as_deref()
                .ok_or_else(|| Reject("record has no event_type".into()))?;
            keep = self.event_types.iter().any(|e| e.as_bytes() == t);
        }
        Ok(keep != self.invert)
    }
}

/// Runs the filter over `input`, writing kept lines to `output`.
pub fn run(cli: &Cli, input: impl Read, output: impl Write) -> anyhow::Result<ExitCode> {
    let filter = Filter::from_cli(cli)?;
    let mut out = RecordWriter::new(output);
    for_each_line(
        TOOL,
        input,
        &mut out,
        LoopOptions { strict: cli.strict },
        |line, out| match filter.keep(line) {
            Ok(true) => out.raw_line(line).map(Ok),
            Ok(false) => Ok(Ok(())),
            Err(r) => Ok(Err(r)),
        },
    )
}

/// The kept lines of one block of input, for [`run_parallel`].
struct Kept {
    filter: Rc<Filter>,
    out: Vec<u8>,
}

impl dlp_runtime::par::Block for Kept {
    fn line(&mut self, line: &[u8]) -> anyhow::Result<Result<(), Reject>> {
        Ok(self.filter.keep(line).map(|keep| {
            if keep {
                self.out.extend_from_slice(line);
                self.out.push(b'\n');
            }
        }))
    }

    fn finish(self) -> anyhow::Result<Vec<u8>> {
        Ok(self.out)
    }
}

/// [`run`] on `jobs` worker threads (same output, in the same order).
pub fn run_parallel(
    cli: &Cli,
    input: impl Read + Send + 'static,
    mut output: impl Write,
    jobs: usize,
) -> anyhow::Result<ExitCode> {
    let filter = Filter::from_cli(cli)?;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, &mut output);
    dlp_runtime::par::par_for_each_line(TOOL, input, &mut out, cli.strict, jobs, || Kept {
        filter: filter.local(),
        out: Vec::new(),
    })
}

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Entry point of the `path-filter` binary.
pub fn main() -> std::process::ExitCode {
    dlp_runtime::filter_main(TOOL, command(), |cli: Cli| {
        let input = dlp_runtime::cli::Inputs::open(&cli.files)?;
        match dlp_runtime::par::default_jobs() {
            1 => run(&cli, input, std::io::stdout().lock()),
            jobs => run_parallel(&cli, input, std::io::stdout().lock(), jobs),
        }
    })
}
