//! The body of an OpenDocument file (`content.xml` of .ods, .odt, .odp):
//! paragraphs as lines, and every table (each sheet of a spreadsheet) as a
//! tab-separated table under its header row ([`crate::table`]). A cell
//! the document stores as a number is read from its value
//! (`office:value`), not from how it is displayed; repeated columns keep
//! the next cells in their place; paragraphs inside one cell stay in that
//! cell (quoted, one per line).

use std::io::Read;

use crate::table::Table;
use crate::transcode::{Transcoder, Transform};
use crate::xml::{attr, Lexer, Tok};

/// Longest cell value kept.
const MAX_CELL: usize = 64 << 10;
/// Most columns one repeated cell stands for.
const MAX_REPEAT: usize = 1024;

/// A reader of the text of OpenDocument `content.xml`.
pub type ContentText<R> = Transcoder<R, Content>;

/// The text of an OpenDocument body, a chunk at a time.
#[derive(Default)]
pub struct Content {
    lexer: Lexer,
    out: Vec<u8>,
    table: Table,
    /// Tables open (a table inside a cell is read as that cell's text).
    tables: usize,
    /// The column of the next cell in the row.
    col: usize,
    /// The cell being read, its stored number and repeat count.
    cell: Option<Vec<u8>>,
    number: Option<Vec<u8>>,
    repeat: usize,
    /// Paragraphs (or headings) open: text outside them is layout.
    paragraphs: usize,
}

/// A reader of the text of the OpenDocument body that `inner` yields.
pub fn content_text<R: Read>(inner: R) -> ContentText<R> {
    Transcoder::new(inner, Content::default(), 64 << 10)
}

impl Content {
    fn on(&mut self, t: Tok) {
        match t {
            Tok::Text(x) => self.put(x),
            Tok::Open(b"table", _, false) if self.cell.is_none() => {
                if self.tables == 0 {
                    // Each table is a stream of its own.
                    self.out.push(b'\x0c');
                }
                self.tables += 1;
                self.table.end_table();
            }
            Tok::Close(b"table") if self.cell.is_none() && self.tables > 0 => {
                self.tables -= 1;
                self.table.end_table();
                self.out.append(&mut self.table.out);
                if self.tables == 0 {
                    self.out.push(b'\x0c');
                }
            }
            Tok::Open(b"table-row", _, closing) if self.cell.is_none() => {
                self.col = 0;
                if closing {
                    self.table.end_row();
                }
            }
            Tok::Close(b"table-row") if self.cell.is_none() => {
                self.table.end_row();
                self.col = 0;
            }
            Tok::Open(b"table-cell" | b"covered-table-cell", tag, closing)
                if self.tables > 0 && self.cell.is_none() =>
            {
                self.start_cell(tag);
                if closing {
                    self.end_cell();
                }
            }
            Tok::Close(b"table-cell" | b"covered-table-cell") if self.cell.is_some() => {
                self.end_cell()
            }
            Tok::Open(b"p" | b"h", _, false) => self.paragraphs += 1,
            Tok::Close(b"p" | b"h") => {
                self.put(b"\n");
                self.paragraphs = self.paragraphs.saturating_sub(1);
            }
            Tok::Open(b"line-break", _, _) => self.put(b"\n"),
            Tok::Open(b"tab", _, _) => self.put(b"\t"),
            Tok::Open(b"s", _, _) => self.put(b" "),
            _ => {}
        }
    }

    /// Text where it belongs: the open cell, or the document.
    fn put(&mut self, x: &[u8]) {
        match &mut self.cell {
            Some(c) if c.len() < MAX_CELL => {
                c.extend_from_slice(&x[..x.len().min(MAX_CELL - c.len())])
            }
            Some(_) => {}
            None if self.tables > 0 || self.paragraphs == 0 => {}
            None => self.out.extend_from_slice(x),
        }
    }

    fn start_cell(&mut self, tag: &[u8]) {
        let numeric = matches!(
            attr(tag, b"office:value-type"),
            Some(b"float" | b"percentage" | b"currency")
        );
        self.number = attr(tag, b"office:value")
            .filter(|_| numeric)
            .map(plain_number);
        self.repeat = attr(tag, b"table:number-columns-repeated")
            .and_then(|r| std::str::from_utf8(r).ok()?.parse().ok())
            .unwrap_or(1usize)
            .clamp(1, MAX_REPEAT);
        self.cell = Some(Vec::new());
    }

    fn end_cell(&mut self) {
        let mut text = self.cell.take().unwrap_or_default();
        while text.last() == Some(&b'\n') {
            text.pop();
        }
        let (value, number) = match self.number.take() {
            Some(n) => (n, true),
            None => (text, false),
        };
        if value.is_empty() {
            self.col += self.repeat;
            return;
        }
        for _ in 0..self.repeat {
            self.table.cell(Some(self.col), &value, number);
            self.col += 1;
        }
    }
}

/// A stored number as digits: `536228726`, `1.5`; an integer written with
/// a fraction of zeros (`41567392.0`) loses it.
fn plain_number(v: &[u8]) -> Vec<u8> {
    match memchr::memchr(b'.', v) {
        Some(p) if v[p + 1..].iter().all(|&b| b == b'0') => v[..p].to_vec(),
        _ => v.to_vec(),
    }
}

impl Transform for Content {
    fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    fn feed(&mut self, chunk: &[u8]) {
        let mut lexer = std::mem::take(&mut self.lexer);
        lexer.feed(chunk, &mut |t| self.on(t));
        self.lexer = lexer;
        // Rows already complete are served as they come.
        self.out.append(&mut self.table.out);
    }

    fn finish(&mut self) {
        if self.cell.is_some() {
            self.end_cell();
        }
        self.table.end_table();
        self.out.append(&mut self.table.out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(xml: &[u8], n: usize) -> String {
        let mut out = String::new();
        let mut r = content_text(crate::transcode::tests::Slow(xml, n));
        r.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn sheets_are_tables_and_numbers_their_values() {
        let x = br#"<office:body><office:spreadsheet><table:table table:name="S"><table:table-row><table:table-cell office:value-type="string"><text:p>name</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>ssn</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell office:value-type="string"><text:p>Ana<text:s/>Ruiz</text:p><text:p>2nd</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="41567392"><text:p>041-56-7392</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell table:number-columns-repeated="1"/><table:table-cell office:value-type="float" office:value="536228726.0"><text:p>5.36E+08</text:p></table:table-cell><table:table-cell table:number-columns-repeated="1000"/></table:table-row></table:table></office:spreadsheet></office:body>"#;
        for n in [1, 5, 1 << 16] {
            assert_eq!(
                text(x, n),
                "\x0cname\tssn\n\"Ana Ruiz\n2nd\"\t041567392\n\t536228726\n\x0c"
            );
        }
        let odt = br#"<?xml version='1.0'?>
<office:text><text:h>Staff</text:h><text:p>SSN<text:tab/>536-22-8726<text:line-break/>x<text:s/>y</text:p></office:text>"#;
        assert_eq!(text(odt, 7), "Staff\nSSN\t536-22-8726\nx y\n");
    }
}
