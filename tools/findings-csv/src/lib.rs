//! `findings-csv`: Finding records in, CSV rows out (RFC 4180 quoting),
//! safe to open in a spreadsheet and safe to append to with `>>`.

mod columns;
mod safety;

use std::borrow::Cow;
use std::io::{self, Read, Write};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use dlp_core::{for_each_line, ExitCode, Flush, LoopOptions, Reject};

pub use columns::{
    Column, FindingView, Needed, ALIASES, ALL as ALL_COLUMNS, DEFAULT as DEFAULT_COLUMNS,
    TUTORIAL as TUTORIAL_COLUMNS,
};
pub use safety::{mask, neutralise};

const TOOL: &str = "findings-csv";

const LONG_ABOUT: &str = "\
Turn Finding records (from pii-scan or nf-webhook) into CSV rows.

Default columns, in order (Nightfall's tutorial CSV plus the file path):
  upload_id,index,timestamp,path,before_context,finding,after_context,
  detector,confidence,byte_range,detection_rules
byte_range is written as start-end and detection_rules joined with ';'.
Other columns: archive_path, detector_uuid, redacted_finding, codepoint_range,
line_range, line (first line number), row_range, column_range, sha256,
status (new or resolved, with pii-scan --state; empty otherwise).
The tutorial's names are accepted as aliases: # (index), datetime
(timestamp), loc (byte_range); the header row keeps the names as given.
--preset tutorial writes exactly the tutorial's columns:
  upload_id,#,datetime,before_context,finding,after_context,detector,
  confidence,loc,detection_rules
host (the machine, in findings gathered from a fleet).

Cells a spreadsheet would read as a formula (leading = + - @ tab CR) are
prefixed with ' (OWASP CSV-injection advice); --raw turns this off.
With --header auto (the default) the header row is written unless stdout is
a non-empty regular file, so `>> results.csv` run many times has one header.

Examples:
  pii-scan ~/Documents | findings-csv >> results.csv
  nf-webhook | findings-csv --redact >> results.csv
  findings-csv --columns path,line,detector,confidence < findings.ndjson
  pii-scan --state pii.state ~/Documents | findings-csv --columns path,line,detector,status
  nf-webhook | findings-csv --preset tutorial >> results.csv";

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
}

impl Cli {
    /// The column list in effect (`--preset` or `--columns`).
    pub fn column_list(&self) -> &str {
        match self.preset {
            Some(Preset::Tutorial) => TUTORIAL_COLUMNS,
            None => &self.columns,
        }
    }
}

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
    /// A named column list: tutorial (Nightfall's tutorial CSV, exactly)
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
}

/// CSV output with the toolkit's flush and error conventions.
struct CsvOut<W: Write> {
    wtr: csv::Writer<W>,
}

fn csv_err(e: csv::Error) -> anyhow::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => anyhow::Error::new(io).context("writing output"),
        other => anyhow::anyhow!("writing output: {other:?}"),
    }
}

impl<W: Write> Flush for CsvOut<W> {
    fn flush_output(&mut self) -> anyhow::Result<()> {
        self.wtr.flush().context("writing output")
    }
}

impl<W: Write> CsvOut<W> {
    fn row<I, T>(&mut self, cells: I) -> anyhow::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.wtr.write_record(cells).map_err(csv_err)
    }
}

/// Whether `--header auto` should write a header on this stdout.
pub fn auto_header_wanted() -> bool {
    use std::os::fd::AsFd;
    let meta = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata());
    match meta {
        Ok(m) if m.is_file() => m.len() == 0,
        _ => true,
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
    let cols = Column::parse_list(cli.column_list())?;
    let needed = Needed::of(&cols);
    let wtr = csv::WriterBuilder::new()
        .buffer_capacity(64 * 1024)
        .from_writer(output);
    let mut out = CsvOut { wtr };
    if header {
        let names: Vec<&str> = cli.column_list().split(',').map(str::trim).collect();
        out.row(names)?;
    }
    for_each_line(
        TOOL,
        input,
        &mut out,
        LoopOptions { strict: cli.strict },
        |line, out| write_row(cli, &cols, needed, line, &mut out.wtr),
    )
}

/// Writes the CSV row of one Finding line, or says why the line is rejected.
fn write_row<W: Write>(
    cli: &Cli,
    cols: &[Column],
    needed: Needed,
    line: &[u8],
    wtr: &mut csv::Writer<W>,
) -> anyhow::Result<Result<(), Reject>> {
    let f = match FindingView::parse(line, needed) {
        Ok(f) => f,
        Err(e) => return Ok(Err(Reject(format!("not a Finding record: {e}")))),
    };
    let masked = cli.redact.then(|| mask(&f.finding));
    let cells: Vec<Cow<'_, str>> = cols
        .iter()
        .map(|c| {
            let mut cell = c.cell(&f);
            if let Some(m) = &masked {
                cell = match c {
                    Column::Finding => Cow::Owned(m.clone()),
                    Column::BeforeContext | Column::AfterContext => {
                        safety::redact_copies(cell, &f.finding, m)
                    }
                    _ => cell,
                };
            }
            if cli.raw {
                cell
            } else {
                neutralise(cell)
            }
        })
        .collect();
    wtr.write_record(cells.iter().map(|c| c.as_bytes()))
        .map_err(csv_err)?;
    Ok(Ok(()))
}

/// The CSV rows of one block of input, for [`run_parallel`].
struct Rows<'c> {
    cli: &'c Cli,
    cols: &'c [Column],
    needed: Needed,
    wtr: csv::Writer<Vec<u8>>,
}

impl dlp_core::par::Block for Rows<'_> {
    fn line(&mut self, line: &[u8]) -> anyhow::Result<Result<(), Reject>> {
        write_row(self.cli, self.cols, self.needed, line, &mut self.wtr)
    }

    fn finish(self) -> anyhow::Result<Vec<u8>> {
        self.wtr
            .into_inner()
            .map_err(|e| anyhow::anyhow!("writing output: {}", e.error()))
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
    let cols = Column::parse_list(cli.column_list())?;
    let needed = Needed::of(&cols);
    let mut out = io::BufWriter::with_capacity(64 * 1024, output);
    if header {
        let mut wtr = csv::Writer::from_writer(&mut out);
        wtr.write_record(cli.column_list().split(',').map(str::trim))
            .map_err(csv_err)?;
        wtr.flush().context("writing output")?;
    }
    dlp_core::par::par_for_each_line(TOOL, input, &mut out, cli.strict, jobs, || Rows {
        cli,
        cols: &cols,
        needed,
        wtr: csv::WriterBuilder::new().from_writer(Vec::new()),
    })
}

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Entry point of the `findings-csv` binary.
pub fn main() -> std::process::ExitCode {
    let cli: Cli = dlp_core::cli::parse(TOOL, command());
    dlp_core::run_main(TOOL, || {
        dlp_core::signals::install()?;
        let input = dlp_core::cli::Inputs::open(&cli.files)?;
        let header = match cli.header {
            HeaderMode::Always => true,
            HeaderMode::Never => false,
            HeaderMode::Auto => auto_header_wanted(),
        };
        match dlp_core::par::default_jobs() {
            1 => run(&cli, input, io::stdout().lock(), header),
            jobs => run_parallel(&cli, input, io::stdout().lock(), header, jobs),
        }
    })
}
