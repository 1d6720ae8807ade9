//! CSV rows written straight into a byte buffer, exactly as the `csv`
//! crate's default writer writes them (RFC 4180): a field is quoted when it
//! holds a comma, a double quote, CR or LF, with its quotes doubled; a
//! record that is one empty field is written `""` (else it would be a blank
//! line); rows end with `\n`. Nothing is allocated per row or per field,
//! which is what makes findings-csv fast (tests compare it with the crate).

/// Bytes that make a field quoted.
fn special(b: u8) -> bool {
    matches!(b, b',' | b'"' | b'\r' | b'\n')
}

/// True when `cell` holds a byte that makes it quoted: eight bytes at a
/// time (a word holds `b` when `x = word ^ b...b` has a zero byte, which
/// `(x - 0x01..01) & !x & 0x80..80` detects exactly).
fn needs_quotes(cell: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    fn has(v: u64, b: u8) -> u64 {
        let x = v ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x
    }
    let mut chunks = cell.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        if (has(v, b',') | has(v, b'"') | has(v, b'\r') | has(v, b'\n')) & HIGH != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| special(b))
}

/// A row being written into `out`.
pub struct Row<'o> {
    out: &'o mut Vec<u8>,
    start: usize,
    fields: usize,
}

impl<'o> Row<'o> {
    /// Starts a row at the end of `out`.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        let start = out.len();
        Row {
            out,
            start,
            fields: 0,
        }
    }

    /// Appends one field: `prefix` (a byte that needs no quoting, such as
    /// the `'` that neutralises a formula) then `cell`.
    pub fn field(&mut self, prefix: Option<u8>, cell: &[u8]) {
        if self.fields > 0 {
            self.out.push(b',');
        }
        self.fields += 1;
        if !needs_quotes(cell) {
            self.out.extend(prefix);
            self.out.extend_from_slice(cell);
            return;
        }
        self.out.push(b'"');
        self.out.extend(prefix);
        let mut rest = cell;
        while let Some(i) = memchr::memchr(b'"', rest) {
            self.out.extend_from_slice(&rest[..=i]);
            self.out.push(b'"');
            rest = &rest[i + 1..];
        }
        self.out.extend_from_slice(rest);
        self.out.push(b'"');
    }

    /// Ends the row.
    pub fn end(self) {
        if self.out.len() == self.start {
            self.out.extend_from_slice(b"\"\"");
        }
        self.out.push(b'\n');
    }
}

/// One row of plain text fields (the header).
pub fn line<'a>(fields: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut row = Row::new(&mut out);
    for f in fields {
        row.field(None, f.as_bytes());
    }
    row.end();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(rows: &[Vec<String>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        for r in rows {
            w.write_record(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    fn ours(rows: &[Vec<String>]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in rows {
            let mut row = Row::new(&mut out);
            for f in r {
                row.field(None, f.as_bytes());
            }
            row.end();
        }
        out
    }

    #[test]
    fn edge_cases_match_the_csv_crate() {
        let cases: Vec<Vec<String>> = [
            vec![""],
            vec!["", ""],
            vec!["a", "b,c", "\"q\"", "l\nf", "c\rr", "  sp ", "é,ü", "'=1"],
            vec!["\"", ",", "\n", "\r\n", "\"\""],
            vec!["x"],
        ]
        .iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect();
        assert_eq!(
            String::from_utf8(ours(&cases)).unwrap(),
            String::from_utf8(reference(&cases)).unwrap()
        );
    }

    #[test]
    fn a_prefix_goes_inside_the_quotes() {
        let mut out = Vec::new();
        let mut row = Row::new(&mut out);
        row.field(Some(b'\''), b"=1,2");
        row.field(Some(b'\''), b"-3");
        row.end();
        assert_eq!(out, b"\"'=1,2\",'-3\n");
    }

    #[test]
    fn needs_quotes_finds_every_special_byte_anywhere() {
        for len in 0..40 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut cell = vec![b'a'; len];
                    cell[at] = b;
                    assert_eq!(needs_quotes(&cell), special(b), "{b:#x} at {at} of {len}");
                }
            }
            assert!(!needs_quotes(&vec![0xffu8; len]));
        }
    }

    proptest! {
        #[test]
        fn rows_match_the_csv_crate(rows in proptest::collection::vec(
            proptest::collection::vec("[a\",\r\n é'=-]{0,6}", 1..5), 1..6)) {
            prop_assert_eq!(ours(&rows), reference(&rows));
        }
    }
}
