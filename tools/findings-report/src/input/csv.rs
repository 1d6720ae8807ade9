//! The CSV findings-csv writes, with its header row: columns are found by
//! name, so any column list works (`--preset fleet` carries everything the
//! report uses); missing columns read as empty. findings-csv's spreadsheet
//! guard (a `'` before a cell that `dlp_record::safety::is_formula`) is undone.

use std::io::Read;

use anyhow::{bail, Context};
use dlp_record::safety::is_formula;
use dlp_runtime::Rejects;

use crate::agg::Agg;
use crate::rec::{flag, range_start, Rec, DETECTOR, TEXT_FIELDS};

/// Reads every row of `input` into `agg`.
pub fn read(name: &str, input: impl Read, agg: &mut Agg, rejects: &Rejects) -> anyhow::Result<()> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = csv
        .headers()
        .with_context(|| format!("reading {name}"))?
        .clone();
    let col = |name: &str| header.iter().position(|h| h == name);
    let cols = TEXT_FIELDS.map(col);
    if cols[DETECTOR].is_none() {
        bail!("{name}: not a findings CSV (no detector column in the header row)");
    }
    let (bytes, removable) = (col("byte_range"), col("removable"));
    let line = col("line").or_else(|| col("line_range"));
    let mut row = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).map_or("", unquote);
                let t = cols.map(cell);
                let line = cell(line);
                let line = line.parse().ok().or_else(|| range_start(line));
                let bytes = range_start(cell(bytes));
                agg.add(&Rec::from_text(t, bytes, line, flag(cell(removable))));
            }
            Err(e) if e.is_io_error() => {
                return Err(anyhow::Error::new(e).context(format!("reading {name}")))
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                rejects.reject(line, &e.to_string())?;
            }
        }
    }
}

/// findings-csv prefixes formula-like cells with `'`; the report shows
/// the value itself (HTML escaping keeps it inert).
fn unquote(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if is_formula(rest.as_bytes()) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn undoes_the_spreadsheet_guard_only() {
        for (cell, shown) in [("'=1+1", "=1+1"), ("'-2", "-2"), ("'@SUM(A1)", "@SUM(A1)")] {
            assert_eq!(unquote(cell), shown);
        }
        for kept in ["'plain", "=x", "'", "", "''=x"] {
            assert_eq!(unquote(kept), kept);
        }
    }
}
