//! Excel sheets as tables. A worksheet's XML (`xl/worksheets/sheetN.xml`)
//! holds its cells row by row, but a text cell usually holds only an index
//! into the workbook's shared-string table (`xl/sharedStrings.xml`). A
//! sheet is therefore presented to the engine as a tab-separated table:
//! one line per row that holds a value, cells in their columns (a cell's
//! `r="C7"` reference places it; skipped cells are empty fields, short
//! rows are padded to the sheet's width), shared strings resolved, inline
//! strings (`t="inlineStr"`), numbers, booleans and cached formula results
//! as written (a number Excel wrote in exponent form, `4.8238984E9`, as its
//! integer digits), formulas themselves left out. A value holding a tab, a
//! line break or a quote is quoted CSV-style. The header row of each sheet
//! is then the label of the values under it, as in a CSV file, and
//! findings' byte ranges are offsets in this table text.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;

use crate::table::Table;
use crate::transcode::{Transcoder, Transform};
use crate::xml::{attr, Lexer, Tok};

/// Shared strings up to this many bytes are kept in memory, more in an
/// unlinked temporary file.
const IN_MEMORY: usize = 16 << 20;
/// Shared strings kept (their offsets stay in memory, 8 bytes each);
/// cells that use a later one are scanned empty, with a note.
pub const MAX_STRINGS: usize = 4 << 20;
/// Longest cell value kept (Excel's own limit is 32,767 characters).
const MAX_CELL: usize = 64 << 10;

/// The workbook part holding the shared strings.
pub const SHARED_STRINGS: &str = "xl/sharedStrings.xml";

/// True for a worksheet part.
pub fn is_sheet(name: &str) -> bool {
    name.starts_with("xl/worksheets/sheet") && name.ends_with(".xml")
}

/// The zero-based column of a cell reference (`C7` is 2).
fn column(r: &[u8]) -> Option<usize> {
    let letters = r.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let n = r[..letters].iter().fold(0usize, |n, &b| {
        n * 26 + usize::from(b.to_ascii_uppercase() - b'A') + 1
    });
    Some(n - 1)
}

/// The workbook's shared-string table.
pub struct SharedStrings {
    /// Offsets of each string's start in `text`, and one past the last.
    ends: Vec<u64>,
    text: Store,
    /// Strings past [`MAX_STRINGS`], not kept.
    pub dropped: u64,
    in_memory: usize,
}

enum Store {
    Memory(Vec<u8>),
    /// Spilled to a temporary file, still being written.
    Writing(io::BufWriter<File>),
    Disk(File),
}

impl SharedStrings {
    /// Reads `xl/sharedStrings.xml`: each `<si>` is the text of its `<t>`
    /// runs (phonetic `<rPh>` runs left out).
    pub fn read(r: impl Read) -> io::Result<SharedStrings> {
        SharedStrings::read_spilling_at(r, IN_MEMORY)
    }

    /// [`SharedStrings::read`], kept in memory up to `in_memory` bytes.
    fn read_spilling_at(mut r: impl Read, in_memory: usize) -> io::Result<SharedStrings> {
        let mut lexer = Lexer::default();
        let mut ss = SharedStrings {
            ends: vec![0],
            text: Store::Memory(Vec::new()),
            dropped: 0,
            in_memory,
        };
        let (mut in_t, mut in_rph) = (false, false);
        let mut cur: Vec<u8> = Vec::new();
        let mut failed: Option<io::Error> = None;
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let n = match r.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            lexer.feed(&chunk[..n], &mut |t| match t {
                Tok::Open(b"si", _, true) => {
                    if let Err(e) = ss.push(&[]) {
                        failed.get_or_insert(e);
                    }
                }
                Tok::Open(b"si", _, false) => cur.clear(),
                Tok::Close(b"si") => {
                    if let Err(e) = ss.push(&cur) {
                        failed.get_or_insert(e);
                    }
                }
                Tok::Open(b"t", _, closing) => in_t = !closing,
                Tok::Close(b"t") => in_t = false,
                Tok::Open(b"rPh", _, closing) => in_rph = !closing,
                Tok::Close(b"rPh") => in_rph = false,
                Tok::Text(x) if in_t && !in_rph && cur.len() < MAX_CELL => {
                    cur.extend_from_slice(&x[..x.len().min(MAX_CELL - cur.len())]);
                }
                _ => {}
            });
            if let Some(e) = failed.take() {
                return Err(e);
            }
        }
        ss.text = match ss.text {
            Store::Writing(w) => {
                Store::Disk(w.into_inner().map_err(io::IntoInnerError::into_error)?)
            }
            t => t,
        };
        Ok(ss)
    }

    fn push(&mut self, s: &[u8]) -> io::Result<()> {
        if self.ends.len() > MAX_STRINGS {
            self.dropped += 1;
            return Ok(());
        }
        let end = self.ends.last().copied().unwrap_or(0) + s.len() as u64;
        match &mut self.text {
            Store::Memory(v) if v.len() + s.len() <= self.in_memory => v.extend_from_slice(s),
            Store::Memory(v) => {
                let mut f = io::BufWriter::with_capacity(
                    64 << 10,
                    crate::spool::unlinked_temp("xlsx-strings")?,
                );
                f.write_all(v)?;
                f.write_all(s)?;
                self.text = Store::Writing(f);
            }
            Store::Writing(f) => f.write_all(s)?,
            Store::Disk(_) => unreachable!("strings are only added while read"),
        }
        self.ends.push(end);
        Ok(())
    }

    /// Number of strings.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.ends.len() - 1
    }

    /// Appends string `i` (nothing when there is no such string).
    fn get(&self, i: usize, out: &mut Vec<u8>) -> io::Result<()> {
        let (Some(&a), Some(&b)) = (self.ends.get(i), self.ends.get(i + 1)) else {
            return Ok(());
        };
        match &self.text {
            Store::Memory(v) => out.extend_from_slice(&v[a as usize..b as usize]),
            Store::Writing(_) => {}
            Store::Disk(f) => {
                let at = out.len();
                out.resize(at + (b - a) as usize, 0);
                f.read_exact_at(&mut out[at..], a)?;
            }
        }
        Ok(())
    }
}

/// A reader of a worksheet's cells as a tab-separated table.
pub type SheetText<'s, R> = Transcoder<R, Sheet<'s>>;

/// A worksheet's XML to table text, a chunk at a time.
pub struct Sheet<'s> {
    strings: Option<&'s SharedStrings>,
    lexer: Lexer,
    table: Table,
    /// The cell being read: its column, type, and value.
    col: Option<usize>,
    kind: Vec<u8>,
    cell: Vec<u8>,
    in_value: bool,
    in_inline: bool,
    in_rph: bool,
    error: Option<io::Error>,
}

/// A reader of worksheet XML `inner` as table text (shared strings looked
/// up in `strings`).
pub fn sheet_text<R: Read>(inner: R, strings: Option<&SharedStrings>) -> SheetText<'_, R> {
    Transcoder::new(
        inner,
        Sheet {
            strings,
            lexer: Lexer::default(),
            table: Table::default(),
            col: None,
            kind: Vec::new(),
            cell: Vec::new(),
            in_value: false,
            in_inline: false,
            in_rph: false,
            error: None,
        },
        64 << 10,
    )
}

impl Sheet<'_> {
    fn on(&mut self, t: Tok) {
        match t {
            Tok::Text(x)
                if (self.in_value || self.in_inline)
                    && !self.in_rph
                    && self.cell.len() < MAX_CELL =>
            {
                let room = MAX_CELL - self.cell.len();
                self.cell.extend_from_slice(&x[..x.len().min(room)]);
            }
            Tok::Open(b"dimension", tag, _) => {
                let r = attr(tag, b"ref").unwrap_or_default();
                let last = r.rsplit(|&b| b == b':').next().unwrap_or_default();
                if let Some(c) = column(last) {
                    self.table.set_width(c + 1);
                }
            }
            Tok::Open(b"row", _, closing) => {
                if self.table.in_row() {
                    self.table.end_row();
                }
                if closing {
                    self.table.end_row();
                }
            }
            Tok::Close(b"row") => self.table.end_row(),
            Tok::Open(b"c", tag, closing) => {
                self.col = attr(tag, b"r").and_then(column);
                self.kind.clear();
                self.kind
                    .extend_from_slice(attr(tag, b"t").unwrap_or_default());
                self.cell.clear();
                if closing {
                    self.end_cell();
                }
            }
            Tok::Close(b"c") => self.end_cell(),
            Tok::Open(b"v", _, closing) => self.in_value = !closing,
            Tok::Close(b"v") => self.in_value = false,
            Tok::Open(b"is", _, closing) => self.in_inline = !closing,
            Tok::Close(b"is") => self.in_inline = false,
            Tok::Open(b"rPh", _, closing) => self.in_rph = !closing,
            Tok::Close(b"rPh") => self.in_rph = false,
            _ => {}
        }
    }

    fn end_cell(&mut self) {
        self.in_value = false;
        self.in_inline = false;
        let mut value = std::mem::take(&mut self.cell);
        let mut number = false;
        match &self.kind[..] {
            b"s" => {
                let idx = std::str::from_utf8(&value)
                    .ok()
                    .and_then(|s| s.trim().parse::<usize>().ok());
                value.clear();
                if let (Some(i), Some(ss)) = (idx, self.strings) {
                    if let Err(e) = ss.get(i, &mut value) {
                        self.error.get_or_insert(e);
                    }
                }
            }
            b"" | b"n" => {
                number = true;
                if let Some(digits) = integer_digits(&value) {
                    value = digits;
                }
            }
            _ => {}
        }
        self.table.cell(self.col.take(), &value, number);
        value.clear();
        self.cell = value;
    }
}

impl Transform for Sheet<'_> {
    fn out(&mut self) -> &mut Vec<u8> {
        &mut self.table.out
    }

    fn feed(&mut self, chunk: &[u8]) {
        let mut lexer = std::mem::take(&mut self.lexer);
        lexer.feed(chunk, &mut |t| self.on(t));
        self.lexer = lexer;
    }

    fn finish(&mut self) {
        // A sheet cut short (a budget reached): its last cell and row
        // still count.
        if !self.cell.is_empty() {
            self.end_cell();
        }
        if self.table.in_row() {
            self.table.end_row();
        }
    }
}

impl<R: Read> SheetText<'_, R> {
    /// An error met looking up a shared string, if any.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.t.error.take()
    }
}

/// The integer digits of a number Excel wrote in exponent form
/// (`4.823898446E9` is `4823898446`), when it is an integer.
fn integer_digits(v: &[u8]) -> Option<Vec<u8>> {
    let e = v.iter().position(|&b| b == b'E' || b == b'e')?;
    let (mant, exp) = (&v[..e], &v[e + 1..]);
    let exp: usize = std::str::from_utf8(exp.strip_prefix(b"+").unwrap_or(exp))
        .ok()?
        .parse()
        .ok()?;
    let (neg, mant) = match mant.strip_prefix(b"-") {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let (int, frac) = match memchr::memchr(b'.', mant) {
        Some(p) => (&mant[..p], &mant[p + 1..]),
        None => (mant, &b""[..]),
    };
    if int.is_empty()
        || frac.len() > exp
        || exp > 30
        || !int.iter().chain(frac).all(u8::is_ascii_digit)
    {
        return None;
    }
    let mut out = Vec::with_capacity(int.len() + exp + 1);
    if neg {
        out.push(b'-');
    }
    out.extend_from_slice(int);
    out.extend_from_slice(frac);
    out.resize(out.len() + exp - frac.len(), b'0');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::transcode::tests::Slow;

    fn table(sheet: &[u8], strings: Option<&SharedStrings>, read: usize) -> String {
        let mut r = sheet_text(Slow(sheet, read), strings);
        let mut out = Vec::new();
        let mut buf = vec![0; read];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(out).unwrap()
    }

    const SHEET: &[u8] = br#"<worksheet><dimension ref="A1:D3"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>phone</t></is></c></row><row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>536228726</v></c><c r="D2"><f>B2*2</f><v>4.823898446E9</v></c></row><row r="3" spans="1:4"><c r="A3" t="s" s="1"/></row><row r="4"><c r="C4" t="s"><v>4</v></c><c t="b"><v>1</v></c></row></sheetData></worksheet>"#;

    #[test]
    fn shared_and_inline_strings_become_a_table() {
        let sst = br#"<?xml version="1.0"?><sst count="5"><si><t>name</t></si><si><t>ssn</t></si><si><r><t>Ana </t></r><r><rPr/><t>Ruiz</t></r><rPh><t>x</t></rPh></si><si/><si><t xml:space="preserve">two&#10;lines, "q"</t></si></sst>"#;
        for n in [1, 7, 1 << 16] {
            // In memory, and spilled to a temporary file after 6 bytes.
            let ss = SharedStrings::read(Slow(sst, n)).unwrap();
            assert_eq!(ss.len(), 5);
            let spilled = SharedStrings::read_spilling_at(Slow(sst, n), 6).unwrap();
            assert!(matches!(spilled.text, Store::Disk(_)));
            assert_eq!(table(SHEET, Some(&spilled), n), table(SHEET, Some(&ss), n));
            assert_eq!(
                table(SHEET, Some(&ss), n),
                "name\tssn\tphone\t\nAna Ruiz\t536228726\t\t4823898446\n\t\t\"two\nlines, \"\"q\"\"\"\t1\n"
            );
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(column(b"A1"), Some(0));
        assert_eq!(column(b"AB12"), Some(27));
        assert_eq!(column(b"12"), None);
        assert_eq!(attr(b"c r=\"B2\" t='s'", b"t"), Some(&b"s"[..]));
        assert_eq!(attr(b"c rt=\"x\" r=\"B2\"", b"r"), Some(&b"B2"[..]));
        assert_eq!(
            integer_digits(b"4.1111111111111E+15").unwrap(),
            b"4111111111111100"
        );
        assert_eq!(integer_digits(b"1.5E0"), None);
        assert_eq!(integer_digits(b"536228726"), None);
        // A sheet cut short keeps its last row.
        assert_eq!(
            table(b"<row><c><v>5</v></c><c t=\"inlineStr\"><is><t>a", None, 3),
            "5\ta\n"
        );
    }
}
