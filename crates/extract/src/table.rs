//! Sheets as tab-separated tables, shared by Excel ([`crate::xlsx`]) and
//! OpenDocument ([`crate::ods`]): one line per row that holds a value,
//! each cell in its column (skipped cells are empty fields, short rows
//! padded to the sheet's width), a value holding a tab, line break or
//! quote quoted CSV-style. The header row then labels the values under it
//! as in a CSV file.
//!
//! A number in a column labelled as an SSN (`ssn`, `acct_ssn`, `Social
//! Security`) that has 7 or 8 digits is written with its leading zeros
//! back, to 9 digits: a sheet that stores `041-56-7392` as the number
//! 41567392 (shown through a `000-00-0000` format) still holds that SSN.

/// Widest row padded or filled (a stray cell in column XFD does not make
/// every row 16,384 fields wide).
pub const MAX_WIDTH: usize = 1024;

/// A table being written, row by row.
#[derive(Default)]
pub struct Table {
    pub out: Vec<u8>,
    row: Vec<u8>,
    fields: usize,
    filled: bool,
    /// Fields every row is padded to: the sheet's declared width, or the
    /// first row's.
    width: usize,
    /// Columns whose label (a text cell above) names an SSN.
    ssn: Vec<usize>,
}

impl Table {
    /// Pads rows to `width` fields.
    pub fn set_width(&mut self, width: usize) {
        self.width = width.min(MAX_WIDTH);
    }

    /// True while a row has cells.
    pub fn in_row(&self) -> bool {
        self.fields > 0
    }

    /// Adds a cell at `col` (default: the next one); `number` when the
    /// sheet stores it as a number.
    pub fn cell(&mut self, col: Option<usize>, value: &[u8], number: bool) {
        let col = col.unwrap_or(self.fields).min(MAX_WIDTH);
        while self.fields < col {
            self.sep();
        }
        self.sep();
        if value.is_empty() {
            return;
        }
        self.filled = true;
        if !number && names_ssn(value) && !self.ssn.contains(&col) {
            self.ssn.push(col);
        }
        if number
            && self.ssn.contains(&col)
            && (7..=8).contains(&value.len())
            && value.iter().all(u8::is_ascii_digit)
        {
            self.row.resize(self.row.len() + 9 - value.len(), b'0');
        }
        if value
            .iter()
            .any(|&b| matches!(b, b'\t' | b'\n' | b'\r' | b'"'))
        {
            self.row.push(b'"');
            for &b in value {
                if b == b'"' {
                    self.row.push(b'"');
                }
                self.row.push(b);
            }
            self.row.push(b'"');
        } else {
            self.row.extend_from_slice(value);
        }
    }

    /// Starts the next field.
    fn sep(&mut self) {
        if self.fields > 0 {
            self.row.push(b'\t');
        }
        self.fields += 1;
    }

    /// Ends the row: written when it holds a value.
    pub fn end_row(&mut self) {
        if self.filled {
            if self.width == 0 {
                self.width = self.fields;
            }
            while self.fields < self.width {
                self.sep();
            }
            self.out.extend_from_slice(&self.row);
            self.out.push(b'\n');
        }
        self.row.clear();
        self.fields = 0;
        self.filled = false;
    }

    /// Ends the table: the next starts afresh.
    pub fn end_table(&mut self) {
        if self.in_row() {
            self.end_row();
        }
        self.width = 0;
        self.ssn.clear();
    }
}

/// True for a label that names an SSN.
fn names_ssn(label: &[u8]) -> bool {
    let l = label.to_ascii_lowercase();
    l.split(|b| !b.is_ascii_alphanumeric())
        .any(|w| w == b"ssn" || w == b"ssns")
        || memchr::memmem::find(&l, b"social security").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_in_columns_and_ssn_zeros_back() {
        let mut t = Table::default();
        t.cell(None, b"name", false);
        t.cell(None, b"acct_ssn", false);
        t.end_row();
        t.cell(None, b"Ana", false);
        t.cell(Some(1), b"41567392", true);
        t.end_row();
        t.cell(Some(1), b"41567392", false);
        t.cell(Some(3), b"a\tb", false);
        t.end_row();
        assert_eq!(
            String::from_utf8(t.out).unwrap(),
            "name\tacct_ssn\nAna\t041567392\n\t41567392\t\t\"a\tb\"\n"
        );
        assert!(names_ssn(b"Social Security No."));
        assert!(!names_ssn(b"lessness"));
    }
}
