//! Reading findings: NDJSON Finding records (pii-scan, nf-webhook,
//! nats-tail) or the CSV that findings-csv writes (with its header row).
//! The format is recognised from the first non-blank byte (`{` is NDJSON)
//! unless `--format` says. A malformed record is reported as
//! `findings-report: NAME: line N: why` and skipped (fatal with --strict).

mod csv;
mod ndjson;

use std::io::{BufRead, BufReader, Read};

use anyhow::{bail, Context};

use crate::agg::Agg;

/// Input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// NDJSON when the input starts with `{`, else CSV.
    Auto,
    /// Finding records, one JSON object per line.
    Ndjson,
    /// findings-csv output with its header row.
    Csv,
}

/// Where malformed records go: stderr with the source and line, or (with
/// `--strict`) a fatal error.
pub struct Rejects<'a> {
    name: &'a str,
    strict: bool,
    /// True once a record was skipped.
    pub any: bool,
}

impl Rejects<'_> {
    /// Reports record `line` as malformed.
    pub fn reject(&mut self, line: u64, why: &str) -> anyhow::Result<()> {
        if self.strict {
            bail!("{}: line {line}: {why}", self.name);
        }
        eprintln!("findings-report: {}: line {line}: {why}", self.name);
        self.any = true;
        Ok(())
    }
}

/// Reads one source into `agg`; returns true when records were rejected.
pub fn read(
    name: &str,
    input: impl Read,
    format: Format,
    strict: bool,
    agg: &mut Agg,
) -> anyhow::Result<bool> {
    let mut r = BufReader::with_capacity(64 * 1024, input);
    let format = match format {
        Format::Auto => {
            let buf = r.fill_buf().with_context(|| format!("reading {name}"))?;
            match buf.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') | None => Format::Ndjson,
                Some(_) => Format::Csv,
            }
        }
        f => f,
    };
    let mut rejects = Rejects {
        name,
        strict,
        any: false,
    };
    if format == Format::Ndjson {
        ndjson::read(name, r, agg, &mut rejects)?;
    } else {
        csv::read(name, r, agg, &mut rejects)?;
    }
    Ok(rejects.any)
}
