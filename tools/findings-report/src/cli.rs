//! The command line: flags as given ([`Args`], what `--help` shows) and
//! the checked settings the report runs with ([`Config`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::input::Format;
use crate::when::{self, Micros};

const LONG_ABOUT: &str = "\
Turn Finding records into one self-contained HTML page that says what needs doing: distinct \
findings (the same finding reported again, or `new` then `resolved`, counts once), how many are \
open, resolved, quarantined; the open findings ranked by severity (private keys and credentials, \
then identity and card numbers, then other personal data, then contact details) and last seen; \
per host, open findings by severity and when the host was last heard from (`silent` past \
--silent-after); with --state, what is new since the previous report; a chart of findings raised \
and resolved (at most ~120 bars: hours, 6 hours, days, weeks, months or years by the span). \
Findings are masked (all but the last 4 characters) unless --unmasked.

A finding is (host, path, archive_path, detector, finding_id) when records carry a finding_id \
(pii-scan --state), else (host, path, archive_path, detector, finding, byte offset); its state is \
that of its newest record by timestamp (ties: the later in the input). Timestamps more than a day \
after the report's time or before 2000 are flagged on the page and not used.

The page is one file with no external resource: a Content-Security-Policy forbids any fetch and \
allows only the page's own inline script (by its SHA-256), which sorts a table when a column \
header is clicked and filters rows by text, severity and status. Without scripts the page reads \
the same, ranked. Hidden and bidirectional control characters in names are shown as \\uXXXX.

Input: NDJSON Finding records (pii-scan, nf-webhook, nats-tail) or the CSV findings-csv writes \
(with its header row; --preset fleet has every column used), from FILEs or stdin; the format is \
recognised from the first byte unless --format says. Memory stays bounded: nothing holds the \
records; findings are tracked by a 128-bit hash, exactly up to --max-findings (then counted \
approximately, which the page says); names are kept cut to 512 bytes, for 10,000 hosts and \
200,000 paths.

--state FILE keeps the open findings' keys (no names, no finding text; mode 0600, replaced \
atomically after the page is written). A FILE that is not such a state is an error.

Exit status: 0 ok; 1 some records were malformed (reported with their line, skipped); 2 usage \
or I/O error.

Examples:
  pii-scan ~/Documents | findings-report > report.html
  findings-report --state /var/lib/dlp/report.state central.csv > /var/www/dlp/index.html
  findings-report --silent-after 2d --rows 200 --title 'Fleet DLP' central.csv > index.html
  nats-tail --durable report --from-beginning --exit-at-end | findings-report > index.html";

/// Flags as given.
#[derive(Debug, Parser)]
#[command(name = "findings-report", version, about = "Turn Finding records (NDJSON or CSV) into one self-contained HTML report", long_about = LONG_ABOUT)]
pub struct Args {
    /// Input files (NDJSON or CSV); none or `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Input format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: Format,

    /// Page title.
    #[arg(long, value_name = "TEXT", default_value = "DLP findings report")]
    pub title: String,

    /// Open findings listed (the most severe, most recent first), and hosts; the page says how many more.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rows: u32,

    /// Rows in the per-detector and per-file tables.
    #[arg(long, value_name = "N", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub top: u32,

    /// A host is silent when its newest record is older than this before the report's time.
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = dlp_runtime::units::secs)]
    pub silent_after: Duration,

    /// Keep the open findings' keys in FILE; the next report marks what is new since.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// The report's time (RFC 3339), for silent hosts and far timestamps [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<Micros>,

    /// Findings tracked exactly; past this they are counted approximately.
    #[arg(long, value_name = "N", default_value_t = 2_000_000, value_parser = clap::value_parser!(u32).range(1..=50_000_000))]
    pub max_findings: u32,

    /// Show findings in full instead of masked.
    #[arg(long)]
    pub unmasked: bool,

    /// Make a malformed record fatal (exit 2) instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

fn parse_time(s: &str) -> Result<Micros, String> {
    when::parse(s)
        .ok_or_else(|| format!("invalid time {s:?} (want RFC 3339, e.g. 2026-11-27T10:00:00Z)"))
}

/// The settings the report runs with.
#[derive(Debug)]
pub struct Config {
    pub files: Vec<PathBuf>,
    pub format: Format,
    pub title: String,
    pub rows: usize,
    pub top: usize,
    pub silent_after: Micros,
    pub state: Option<PathBuf>,
    pub now: Micros,
    pub max_findings: usize,
    pub unmasked: bool,
    pub strict: bool,
}

impl Config {
    /// Checks `args`; the report's time is now unless `--now` says.
    pub fn new(args: Args) -> Config {
        let now = args.now.unwrap_or_else(|| {
            when::parse(&dlp_record::time::now_rfc3339()).expect("the clock reads as RFC 3339")
        });
        Config {
            files: if args.files.is_empty() {
                vec![PathBuf::from("-")]
            } else {
                args.files
            },
            format: args.format,
            title: args.title,
            rows: args.rows as usize,
            top: args.top as usize,
            silent_after: i64::try_from(args.silent_after.as_micros()).unwrap_or(i64::MAX),
            state: args.state,
            now,
            max_findings: args.max_findings as usize,
            unmasked: args.unmasked,
            strict: args.strict,
        }
    }
}
