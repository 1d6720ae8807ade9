//! `findings-report`: Finding records (NDJSON, or the CSV findings-csv
//! writes) into one self-contained HTML page: totals by host, detector and
//! confidence, findings over time, the files and hosts with the most
//! findings, open versus resolved, the latest findings (masked).
//!
//! [`input`] reads and recognises the format, [`agg`] gathers the numbers
//! in bounded memory ([`count`]), [`html`] renders the page.

pub mod agg;
pub mod count;
pub mod html;
pub mod input;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use dlp_core::ExitCode;

use crate::agg::Agg;
use crate::input::Format;

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

const LONG_ABOUT: &str = "\
Turn Finding records into one self-contained HTML report: totals by host, detector and \
confidence, a chart of findings over time (per hour, day or week by the span), the files and \
hosts with the most findings, open versus resolved (for records with \"status\":\"new\" or \
\"resolved\"), and the latest findings, masked (all but the last 4 characters) unless \
--unmasked. The page has no scripts, fonts or external resources (a Content-Security-Policy \
forbids any fetch): mail it, serve it statically, open it offline.

Input: NDJSON Finding records (pii-scan, nf-webhook, nats-tail) or the CSV findings-csv writes \
(with its header row; host, path, detector, confidence, timestamp, finding and status columns \
are used when present), from FILEs or stdin; the format is recognised from the first byte \
unless --format says. Memory stays bounded whatever the input size: nothing holds all records; \
counts of files (and hosts) are exact up to 10,000 distinct keys and approximate beyond, which \
the page says.

Exit status: 0 ok; 1 some records were malformed (reported, skipped); 2 usage or I/O error.

Examples:
  pii-scan ~/Documents | findings-report > report.html
  findings-report central.csv > /var/www/dlp/index.html
  nats-tail --durable report --from-beginning --exit-at-end | findings-report --title 'Fleet DLP' > index.html";

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

    /// Rows in the top-N tables.
    #[arg(long, value_name = "N", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub top: u32,

    /// Rows in the latest-findings table (0: none).
    #[arg(long, value_name = "N", default_value_t = 25, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub latest: u32,

    /// Show findings in full instead of masked.
    #[arg(long)]
    pub unmasked: bool,

    /// Make a malformed record fatal (exit 2) instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

/// Process entry point.
pub fn main() -> std::process::ExitCode {
    let args: Args = dlp_core::cli::parse("findings-report", command());
    dlp_core::run_main("findings-report", || run(args))
}

/// Reads every source and writes the page to stdout.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut agg = Agg::new(args.latest as usize, args.unmasked);
    let mut rejected = false;
    let mut names = Vec::new();
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files.clone()
    };
    // Every FILE is checked before any is read (a typo fails at once).
    for f in files.iter().filter(|f| !dlp_core::cli::is_stdin(f)) {
        dlp_core::cli::Inputs::open(std::slice::from_ref(f))?;
    }
    for f in &files {
        if f.as_os_str() == "-" {
            names.push("stdin".to_owned());
            rejected |= input::read(
                "stdin",
                std::io::stdin().lock(),
                args.format,
                args.strict,
                &mut agg,
            )?;
        } else {
            let name = f.display().to_string();
            let file = std::fs::File::open(f).with_context(|| format!("opening {name}"))?;
            rejected |= input::read(&name, file, args.format, args.strict, &mut agg)?;
            names.push(name);
        }
    }
    let page = html::page(&agg, &args.title, args.top as usize, &names.join(", "));
    let mut out = std::io::stdout().lock();
    out.write_all(page.as_bytes())
        .and_then(|_| out.flush())
        .context("writing output")?;
    Ok(ExitCode::from_rejected(rejected))
}
