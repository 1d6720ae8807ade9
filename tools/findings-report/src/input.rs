//! Reading findings: NDJSON Finding records (pii-scan, nf-webhook,
//! nats-tail) or the CSV that findings-csv writes (with its header row).
//! The format is recognised from the first non-blank byte (`{` is NDJSON)
//! unless `--format` says. A malformed record is reported as
//! `findings-report: NAME: line N: why` and skipped (fatal with --strict).

use std::io::{BufRead, BufReader, Read};

use anyhow::{bail, Context};
use dlp_core::json_scan::{self, Val};
use dlp_core::ndjson::{Line, LineReader};

use crate::agg::{Agg, Rec};

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
    let mut rejected = false;
    let mut reject = |line: u64, why: &str| -> anyhow::Result<()> {
        if strict {
            bail!("{name}: line {line}: {why}");
        }
        eprintln!("findings-report: {name}: line {line}: {why}");
        rejected = true;
        Ok(())
    };
    if format == Format::Ndjson {
        let mut lines = LineReader::new(r);
        let mut n = 0u64;
        while let Some(l) = lines
            .next_line()
            .with_context(|| format!("reading {name}"))?
        {
            n += 1;
            match l {
                Line::TooLong(len) => reject(n, &format!("line of {len} bytes exceeds the limit"))?,
                Line::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
                Line::Text(t) => match ndjson_rec(t, agg) {
                    Ok(()) => {}
                    Err(why) => reject(n, &why)?,
                },
            }
        }
    } else {
        let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(r);
        let header = csv
            .headers()
            .with_context(|| format!("reading {name}"))?
            .clone();
        let col = |n: &str| header.iter().position(|h| h == n);
        let Some(detector) = col("detector") else {
            bail!("{name}: not a findings CSV (no detector column in the header row)");
        };
        let cols = [
            col("host"),
            col("path"),
            Some(detector),
            col("confidence"),
            col("timestamp"),
            col("finding"),
            col("status"),
        ];
        let mut rec = csv::StringRecord::new();
        loop {
            match csv.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {
                    let get = |i: usize| cols[i].and_then(|c| rec.get(c)).map_or("", unquote);
                    agg.add(&Rec {
                        host: get(0),
                        path: get(1),
                        detector: get(2),
                        confidence: get(3),
                        timestamp: get(4),
                        finding: get(5),
                        status: get(6),
                    });
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    if e.is_io_error() {
                        return Err(anyhow::Error::new(e).context(format!("reading {name}")));
                    }
                    reject(line, &e.to_string())?;
                }
            }
        }
    }
    Ok(rejected)
}

/// findings-csv prefixes formula-like cells with `'`; the report shows
/// the value itself (HTML escaping keeps it inert).
fn unquote(cell: &str) -> &str {
    match cell.as_bytes() {
        [b'\'', b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r', ..] => &cell[1..],
        _ => cell,
    }
}

fn ndjson_rec(line: &[u8], agg: &mut Agg) -> Result<(), String> {
    let mut vals: [Option<std::borrow::Cow<'_, str>>; 7] = Default::default();
    json_scan::top_level(
        line,
        |k| match k {
            "host" => Some(0),
            "path" => Some(1),
            "detector" => Some(2),
            "confidence" => Some(3),
            "timestamp" => Some(4),
            "finding" => Some(5),
            "status" => Some(6),
            _ => None,
        },
        |i, key, v| {
            vals[i] = match v {
                Val::Str(s) => Some(s),
                Val::Null => None,
                Val::Raw(_) => return Err(format!("field `{key}` is not a string")),
            };
            Ok(())
        },
    )?;
    if vals[2].is_none() {
        return Err("not a Finding (no `detector` field)".into());
    }
    let g = |i: usize| vals[i].as_deref().unwrap_or("");
    agg.add(&Rec {
        host: g(0),
        path: g(1),
        detector: g(2),
        confidence: g(3),
        timestamp: g(4),
        finding: g(5),
        status: g(6),
    });
    Ok(())
}
