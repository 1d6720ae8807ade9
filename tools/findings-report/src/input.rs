//! Reading findings: NDJSON Finding records (pii-scan, nf-webhook,
//! nats-tail) or the CSV that findings-csv writes (with its header row).
//! The format is recognised from the first non-blank byte (`{` is NDJSON)
//! unless `--format` says. A malformed record goes to the record reader's
//! reject policy, which names the source: `findings-report: NAME: line N:
//! why`, skipped (fatal with --strict).

mod csv;
mod ndjson;

use std::io::{BufRead, BufReader, Read};

use anyhow::Context;
use dlp_runtime::Rejects;

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

/// Reads the source `name` into `agg`; malformed records go to `rejects`,
/// which name it.
pub fn read(
    name: &str,
    input: impl Read,
    format: Format,
    rejects: &Rejects,
    agg: &mut Agg,
) -> anyhow::Result<()> {
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
    let rejects = rejects.in_file(name);
    if format == Format::Ndjson {
        ndjson::read(r, agg, &rejects)
    } else {
        csv::read(name, r, agg, &rejects)
    }
}
