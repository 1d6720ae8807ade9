//! `findings-report`: Finding records (NDJSON, or the CSV findings-csv
//! writes) into one self-contained HTML page a security lead can act on:
//! distinct findings and what is open, ranked by severity; hosts and when
//! each was last heard from; what is new since the previous report.
//!
//! [`input`] reads and recognises the format into [`rec::Rec`]s; [`agg`]
//! gathers them in bounded memory: the findings' states by [`key`] in the
//! [`ledger`], names in [`intern`], trusted times in [`when`]; [`summary`]
//! computes the figures at the end (with the [`chart`]); [`page`] renders
//! them; [`state`] keeps the open keys between runs.

pub mod agg;
pub mod chart;
pub mod cli;
pub mod hll;
pub mod input;
pub mod intern;
pub mod key;
pub mod ledger;
pub mod page;
pub mod rec;
pub mod shown;
pub mod state;
pub mod summary;
pub mod when;

use std::io::Write;

use anyhow::Context;
use dlp_runtime::ExitCode;

use crate::agg::Agg;
use crate::cli::{Args, Config};
use crate::summary::Summary;

/// The command-line definition (what `--help` shows), for the man page and
/// shell completions that `dlp-docgen` generates.
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

/// Process entry point.
pub fn main() -> std::process::ExitCode {
    let args: Args = dlp_runtime::cli::parse("findings-report", command());
    dlp_runtime::run_main("findings-report", || run(args))
}

/// Reads every source, writes the page to stdout, then the state.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = Config::new(args);
    // Every FILE is checked before any is read (a typo fails at once).
    dlp_runtime::cli::Inputs::open(&cfg.files)?;
    let previous = match &cfg.state {
        Some(p) => state::load(p, cfg.max_findings)?,
        None => None,
    };
    let mut agg = Agg::new(cfg.now, cfg.max_findings, cfg.unmasked);
    let (rejected, sources) = read_all(&cfg, &mut agg)?;
    let summary = Summary::new(&agg, previous.as_ref().map(|p| &p.open[..]), cfg.rows);
    let html = page::render(&page::Context {
        agg: &agg,
        summary: &summary,
        cfg: &cfg,
        previous: previous.as_ref(),
        sources: &sources,
    });
    let mut out = std::io::stdout().lock();
    out.write_all(html.as_bytes())
        .and_then(|_| out.flush())
        .context("writing output")?;
    if let Some(p) = &cfg.state {
        state::save(p, &when::format(cfg.now), &open_keys(&agg))?;
    }
    Ok(ExitCode::from_rejected(rejected))
}

fn read_all(cfg: &Config, agg: &mut Agg) -> anyhow::Result<(bool, String)> {
    let rejects = dlp_runtime::Rejects::new("findings-report", cfg.strict);
    let mut names = Vec::new();
    for f in &cfg.files {
        if dlp_runtime::cli::is_stdin(f) {
            names.push("stdin".to_owned());
            let stdin = std::io::stdin().lock();
            input::read("stdin", stdin, cfg.format, &rejects, agg)?;
        } else {
            let name = f.display().to_string();
            let file = std::fs::File::open(f).with_context(|| format!("opening {name}"))?;
            input::read(&name, file, cfg.format, &rejects, agg)?;
            names.push(name);
        }
    }
    Ok((rejects.count() > 0, names.join(", ")))
}

fn open_keys(agg: &Agg) -> Vec<key::Key> {
    let mut keys: Vec<key::Key> = agg
        .ledger
        .iter()
        .filter(|(_, e)| e.d.status.is_open())
        .map(|(k, _)| k)
        .collect();
    keys.sort_unstable();
    keys
}
