//! `findings-csv`: Finding records in, CSV rows out (RFC 4180 quoting),
//! safe to open in a spreadsheet and safe to append to with `>>`.

mod append;
mod columns;
mod redact;
mod row;
mod summary;

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use dlp_record::safety::{is_formula, mask};
use dlp_runtime::{for_each_line, ExitCode, LoopOptions, RecordWriter, Reject};

pub use columns::{
    Column, FindingView, Needed, ALIASES, ALL as ALL_COLUMNS, DEFAULT as DEFAULT_COLUMNS,
    FLEET as FLEET_COLUMNS, LOCAL as LOCAL_COLUMNS, LOCAL_MOUNTS as LOCAL_MOUNTS_COLUMNS,
    LOCAL_NO_STATE_MOUNTS as LOCAL_NO_STATE_MOUNTS_COLUMNS, TUTORIAL as TUTORIAL_COLUMNS,
};
pub use summary::{Tally, Wording};

const TOOL: &str = "findings-csv";

const LONG_ABOUT: &str = "\
Turn Finding records (from pii-scan or nf-webhook) into CSV rows.

Default columns, in order (Nightfall's tutorial CSV plus the file path):
  upload_id,index,timestamp,path,before_context,finding,after_context,
  detector,confidence,byte_range,detection_rules
byte_range is written as start-end and detection_rules joined with ';'.
Other columns: archive_path, detector_uuid, redacted_finding, codepoint_range,
line_range, line (first line number), row_range, column_range, sha256,
status (new, resolved or quarantined, with finding state; empty otherwise),
finding_id (the finding's stable key, with finding state), first_seen,
severity (critical, high, medium or low, from the detector), removable and
copied_from (files on removable media, fswatch-json --mounts).

A finding's status decides what a row means. Without a status column, only
open findings (no status, or new) are written: a resolved or quarantined
record would read as a finding, so it is left out and counted on stderr.
The tutorial's names are accepted as aliases: # (index), datetime
(timestamp), loc (byte_range); the header row keeps the names as given.
--preset tutorial writes exactly the tutorial's columns (open findings only):
  upload_id,#,datetime,before_context,finding,after_context,detector,
  confidence,loc,detection_rules
The columns pipelines/local-dlp.sh writes, by its options:
--preset local: the default columns and status (finding state kept);
--preset local-mounts: local, removable and copied_from (--mounts);
--preset local-no-state: the default columns (--no-state);
--preset local-no-state-mounts: the default columns, removable and
  copied_from (--no-state --mounts).
--preset fleet: host,timestamp,status,severity,path,archive_path,line,
  detector,confidence,finding,before_context,after_context,byte_range,
  finding_id,first_seen,removable,copied_from,upload_id (the central CSV).
host: the machine, in findings gathered from a fleet.

Cells a spreadsheet would read as a formula (leading = + - @ tab CR) are
prefixed with ' (OWASP CSV-injection advice); --raw turns this off.
With --header auto (the default) the header row is written unless stdout is
a non-empty regular file, so `>> results.csv` run many times has one header;
appending to a file whose header names other columns is refused (exit 2)
rather than making it unreadable as one table.

--append FILE writes the rows to FILE instead of stdout, opened for
appending (O_APPEND; created when missing, never truncated), on any
system: the header row is written when FILE is new or empty; a FILE whose
first line is another header is refused (exit 2, naming both headers)
before anything is written. The check and the header are done under an
exclusive lock (flock) on FILE, so two writers starting on a new FILE write
one header. With --header never, no header is written or checked.

--summary says at the end of input what the run wrote: the open findings
(no status, or new), the files they are in, their count per detector (the
most frequent first), and how many resolved and quarantined records were
read. Every valid Finding record is counted, written or left out; malformed
lines are reported and not counted. The summary goes to stdout with
--append (stdout carries nothing else then), else to stderr:
  findings-csv: 3 finding(s) in 1 file(s)
    2 CREDIT_CARD_NUMBER
    1 US_SOCIAL_SECURITY_NUMBER
  findings-csv: 1 finding(s) resolved (gone from their files since the last scan)
  findings-csv: 1 finding(s) quarantined (their files are in the vault)
--summary-label, --summary-new and --summary-under word it for a pipeline
(pipelines/local-dlp.sh --once prints it as its own).

Examples:
  pii-scan ~/Documents | findings-csv >> results.csv
  nf-webhook | findings-csv --redact >> results.csv
  findings-csv --columns path,line,detector,confidence < findings.ndjson
  pii-scan --state pii.state ~/Documents | findings-csv --columns path,line,detector,status
  nf-webhook | findings-csv --preset tutorial >> results.csv
  pii-scan --state s ~/Documents | findings-csv --preset local --append out.csv --summary";

/// When to write the header row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HeaderMode {
    /// Unless stdout is a non-empty regular file
    Auto,
    Always,
    Never,
}

/// Named column lists (`--preset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// upload_id,#,datetime,before_context,finding,after_context,detector,confidence,loc,detection_rules
    Tutorial,
    /// The default columns and status (pipelines/local-dlp.sh)
    Local,
    /// local, removable, copied_from (local-dlp.sh watching mounts)
    LocalMounts,
    /// The default columns (local-dlp.sh without finding state)
    LocalNoState,
    /// The default columns, removable, copied_from (local-dlp.sh: mounts, no state)
    LocalNoStateMounts,
    /// The fleet's central CSV: host, status, severity, where, what, finding_id, first_seen, removable media
    Fleet,
}

impl Cli {
    /// The column list in effect (`--preset` or `--columns`).
    pub fn column_list(&self) -> &str {
        match self.preset {
            Some(Preset::Tutorial) => TUTORIAL_COLUMNS,
            Some(Preset::Local) => LOCAL_COLUMNS,
            Some(Preset::LocalMounts) => LOCAL_MOUNTS_COLUMNS,
            Some(Preset::LocalNoState) => DEFAULT_COLUMNS,
            Some(Preset::LocalNoStateMounts) => LOCAL_NO_STATE_MOUNTS_COLUMNS,
            Some(Preset::Fleet) => FLEET_COLUMNS,
            None => &self.columns,
        }
    }

    /// The header row this run writes, as CSV text without its newline.
    pub fn header_line(&self) -> String {
        let v = row::line(self.column_list().split(',').map(str::trim));
        String::from_utf8_lossy(&v).trim_end().to_owned()
    }

    /// How `--summary` is worded.
    pub fn wording(&self) -> Wording<'_> {
        Wording {
            label: self.summary_label.as_deref().unwrap_or(TOOL),
            new: self.summary_new,
            under: self.summary_under.as_deref(),
        }
    }
}

/// Records left out because the columns cannot say they are not open.
static LEFT_OUT: AtomicU64 = AtomicU64::new(0);

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(name = TOOL, version, about = "Turn Finding records into spreadsheet-safe CSV rows", long_about = LONG_ABOUT)]
pub struct Cli {
    /// NDJSON files to read, in order (- or none: stdin)
    #[arg(value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,
    /// Comma-separated columns to write, in order
    #[arg(long, value_name = "LIST", default_value = DEFAULT_COLUMNS)]
    pub columns: String,
    /// A named column list: tutorial (Nightfall's tutorial CSV, exactly), local, local-mounts, local-no-state, local-no-state-mounts, fleet
    #[arg(long, value_enum, value_name = "NAME", conflicts_with = "columns")]
    pub preset: Option<Preset>,
    /// Write the header row: auto, always, never
    #[arg(long, value_enum, default_value_t = HeaderMode::Auto)]
    pub header: HeaderMode,
    /// Do not neutralise cells that a spreadsheet would run as formulas
    #[arg(long)]
    pub raw: bool,
    /// Mask the finding (keep the last 4 characters) and any copy of it in the contexts
    #[arg(long)]
    pub redact: bool,
    /// Treat a malformed line as fatal (exit 2) instead of reporting it
    #[arg(long)]
    pub strict: bool,
    /// Append the rows to FILE (O_APPEND, never truncated): header only when FILE is new or empty; another header is refused
    #[arg(long, value_name = "FILE")]
    pub append: Option<PathBuf>,
    /// At the end of input, say what was written: open findings, files, per detector, resolved, quarantined (stdout with --append, else stderr)
    #[arg(long)]
    pub summary: bool,
    /// What the summary's lines start with (default: findings-csv)
    #[arg(long, value_name = "NAME", requires = "summary")]
    pub summary_label: Option<String>,
    /// Call the open findings "new finding(s)" in the summary (they were not reported before)
    #[arg(long, requires = "summary")]
    pub summary_new: bool,
    /// End the summary's first line with "under TEXT" (what was scanned)
    #[arg(long, value_name = "TEXT", requires = "summary")]
    pub summary_under: Option<String>,
}

/// Whether `--header auto` should write a header on this stdout: yes,
/// unless stdout is a non-empty regular file; then its first line must be
/// `header` (appending other columns would make it unreadable as a table).
pub fn auto_header_wanted(header: &str) -> anyhow::Result<bool> {
    use std::os::fd::AsFd;
    let meta = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata());
    match meta {
        Ok(m) if m.is_file() && m.len() > 0 => {
            if let Some(first) = first_line_of_stdout() {
                anyhow::ensure!(
                    first == header,
                    "the file on stdout has other columns than this run writes (its header: {}); write to a new file, or choose the columns it has",
                    first.chars().take(200).collect::<String>()
                );
            }
            Ok(false)
        }
        _ => Ok(true),
    }
}

/// The first line of the regular file on stdout, read through a second
/// descriptor (`>>` opens it for writing only); `None` when it cannot be
/// read.
fn first_line_of_stdout() -> Option<String> {
    let f = std::fs::File::open("/proc/self/fd/1").ok()?;
    let line = append::first_line(f).ok()??;
    Some(String::from_utf8_lossy(&line).into_owned())
}

/// Says on stderr how many records were left out (see [`LEFT_OUT`]).
fn report_left_out() {
    let n = LEFT_OUT.swap(0, Ordering::Relaxed);
    if n > 0 {
        eprintln!(
            "{TOOL}: {n} resolved or quarantined record(s) not written: the columns have no status to tell them from open findings (add status to --columns, or use --preset local or fleet)"
        );
    }
}

/// Converts findings read from `input` into CSV rows on `output`.
/// `header` is the resolved header decision (see [`auto_header_wanted`]).
pub fn run(
    cli: &Cli,
    input: impl Read,
    output: impl Write,
    header: bool,
) -> anyhow::Result<ExitCode> {
    let rows = Rows::new(cli)?;
    let mut out = RecordWriter::new(output);
    if header {
        out.raw(&row::line(cli.column_list().split(',').map(str::trim)))?;
    }
    let (mut buf, mut scratch) = (Vec::new(), Vec::new());
    let mut tally = cli.summary.then(Tally::default);
    let code = for_each_line(
        TOOL,
        input,
        &mut out,
        LoopOptions { strict: cli.strict },
        |line, out| {
            buf.clear();
            let r = rows.write(line, &mut buf, &mut scratch, tally.as_mut());
            out.raw(&buf)?;
            Ok(r)
        },
    );
    drop(out);
    rows.count(tally);
    finish(cli, &rows, code)
}

/// After the last row: says what was left out, and the summary.
fn finish(cli: &Cli, rows: &Rows<'_>, code: anyhow::Result<ExitCode>) -> anyhow::Result<ExitCode> {
    report_left_out();
    let code = code?;
    if let Some(t) = &rows.tally {
        let t = t.lock().unwrap_or_else(|e| e.into_inner());
        let said = match cli.append {
            Some(_) => t.write(cli.wording(), &mut io::stdout().lock()),
            None => t.write(cli.wording(), &mut io::stderr().lock()),
        };
        said.context("writing the summary")?;
    }
    Ok(code)
}

/// What turns a Finding line into its CSV row.
struct Rows<'c> {
    cli: &'c Cli,
    cols: Vec<Column>,
    needed: Needed,
    /// `cols` has the status column (then closed findings are rows too).
    has_status: bool,
    /// With --summary: the counts of every block counted so far.
    tally: Option<Mutex<Tally>>,
}

impl<'c> Rows<'c> {
    fn new(cli: &'c Cli) -> anyhow::Result<Self> {
        let cols = Column::parse_list(cli.column_list())?;
        let mut with_path = cols.clone();
        if cli.summary {
            // The summary counts the files.
            with_path.push(Column::Path);
        }
        let needed = Needed::of(&with_path);
        let has_status = cols.contains(&Column::Status);
        Ok(Rows {
            cli,
            cols,
            needed,
            has_status,
            tally: cli.summary.then(Mutex::default),
        })
    }

    /// Adds a block's counts to the run's (with --summary).
    fn count(&self, block: Option<Tally>) {
        if let (Some(all), Some(block)) = (&self.tally, block) {
            all.lock().unwrap_or_else(|e| e.into_inner()).merge(block);
        }
    }

    /// Appends the CSV row of one Finding line to `out`, or says why the
    /// line is rejected (then nothing is appended). `scratch` is room for
    /// cells that are not in the line as they are.
    /// With `tally`, the record is counted there (written or left out).
    fn write(
        &self,
        line: &[u8],
        out: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
        tally: Option<&mut Tally>,
    ) -> Result<(), Reject> {
        let f = match FindingView::parse(line, self.needed) {
            Ok(f) => f,
            Err(e) => return Err(Reject(format!("not a Finding record: {e}"))),
        };
        if let Some(t) = tally {
            t.add(&f);
        }
        if !self.has_status {
            let status = f.status.as_deref().map(String::from_utf8_lossy);
            if !dlp_record::FindingStatus::is_open_str(status.as_deref().unwrap_or("")) {
                LEFT_OUT.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        }
        // Text only when redacting (the bytes come from JSON: UTF-8).
        let finding = match self.cli.redact {
            true => String::from_utf8_lossy(&f.finding),
            false => Cow::Borrowed(""),
        };
        let masked = self.cli.redact.then(|| mask(&finding));
        let mut row = row::Row::new(out);
        for &c in &self.cols {
            let mut cell = Cow::Borrowed(c.cell(&f, scratch));
            if let Some(m) = &masked {
                cell = match c {
                    Column::Finding => Cow::Owned(m.clone().into_bytes()),
                    Column::BeforeContext | Column::AfterContext => {
                        let text = String::from_utf8_lossy(&cell);
                        match redact::redact_copies(text, &finding, m) {
                            Cow::Owned(t) => Cow::Owned(t.into_bytes()),
                            Cow::Borrowed(_) => cell,
                        }
                    }
                    _ => cell,
                };
            }
            let prefix = (!self.cli.raw && is_formula(&cell)).then_some(b'\'');
            row.field(prefix, &cell);
        }
        row.end();
        Ok(())
    }
}

/// The CSV rows of one block of input, for [`run_parallel`].
struct Block<'r, 'c> {
    rows: &'r Rows<'c>,
    out: Vec<u8>,
    scratch: Vec<u8>,
    tally: Option<Tally>,
}

impl dlp_runtime::par::Block for Block<'_, '_> {
    fn line(&mut self, line: &[u8]) -> anyhow::Result<Result<(), Reject>> {
        Ok(self
            .rows
            .write(line, &mut self.out, &mut self.scratch, self.tally.as_mut()))
    }

    fn finish(self) -> anyhow::Result<Vec<u8>> {
        self.rows.count(self.tally);
        Ok(self.out)
    }
}

/// [`run`] on `jobs` worker threads (same output, in the same order).
pub fn run_parallel(
    cli: &Cli,
    input: impl Read + Send + 'static,
    output: impl Write,
    header: bool,
    jobs: usize,
) -> anyhow::Result<ExitCode> {
    let rows = Rows::new(cli)?;
    let mut out = io::BufWriter::with_capacity(64 * 1024, output);
    if header {
        out.write_all(&row::line(cli.column_list().split(',').map(str::trim)))
            .context("writing output")?;
    }
    let code =
        dlp_runtime::par::par_for_each_line(TOOL, input, &mut out, cli.strict, jobs, || Block {
            rows: &rows,
            // Rows are about as long as their records: room for a whole
            // input block (256 KiB) up front, not regrown and copied.
            out: Vec::with_capacity(256 * 1024),
            scratch: Vec::new(),
            tally: cli.summary.then(Tally::default),
        });
    drop(out);
    finish(cli, &rows, code)
}

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// [`run`], or [`run_parallel`] when there is more than one core.
fn write_rows(
    cli: &Cli,
    input: impl Read + Send + 'static,
    output: impl Write,
    header: bool,
) -> anyhow::Result<ExitCode> {
    match dlp_runtime::par::default_jobs() {
        1 => run(cli, input, output, header),
        jobs => run_parallel(cli, input, output, header, jobs),
    }
}

/// Entry point of the `findings-csv` binary.
pub fn main() -> std::process::ExitCode {
    let cli: Cli = dlp_runtime::cli::parse(TOOL, command());
    dlp_runtime::run_main(TOOL, || {
        dlp_runtime::signals::install()?;
        // The columns are checked before FILE is created or written to.
        Column::parse_list(cli.column_list())?;
        let input = dlp_runtime::cli::Inputs::open(&cli.files)?;
        if let Some(path) = &cli.append {
            // The header, when wanted, is written by append::open.
            let file = append::open(path, &cli.header_line(), cli.header)?;
            return write_rows(&cli, input, file, false);
        }
        let header = match cli.header {
            HeaderMode::Always => true,
            HeaderMode::Never => false,
            HeaderMode::Auto => auto_header_wanted(&cli.header_line())?,
        };
        write_rows(&cli, input, io::stdout().lock(), header)
    })
}
