//! Context from structure: the column a value sits in.
//!
//! When an input starts like a delimited table (CSV, TSV, `;` or `|`
//! separated: the first records have the same number of fields, two or
//! more), the field names of its first record are the labels of every
//! value under them, however many rows down (of its second record when
//! the first holds only a title in its first field, `Customer export,,,`
//! as spreadsheets export it). Quoted fields, doubled
//! quotes and line breaks inside quoted cells are followed, so a
//! multi-line note does not shift the columns of the rows after it.
//!
//! Keys on the value's own line (`"ssn": …`, `ssn=…`, `<ssn>…`) are found
//! by [`crate::context::label_before`]; this module covers what is not on
//! the line: a column header.
//!
//! A column where at least four rows in five hold a valid value of the
//! same detector (and at least five do) raises each of them one level,
//! header or not: a column of Luhn-valid card numbers is a column of cards.
//!
//! A scan in windows carries a [`ScanState`] from one window to the next
//! (the table's header and delimiter, and the parser state at the first
//! byte of the next window), so a file scanned in windows gets the same
//! labels as the whole file at once.

use std::cell::{Cell, OnceCell};

/// Longest first record that is sniffed as a header.
const MAX_HEADER: usize = 8 * 1024;
/// Fewest rows, and valid values in a column, for a column vote.
const MIN_VOTES: usize = 5;
/// Longest field name kept as a column label.
const MAX_NAME: usize = 64;

/// A table's delimiter and column names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Table {
    delim: u8,
    /// Column names (empty when the first record is data, not a header).
    header: Vec<Vec<u8>>,
}

/// Parser position inside a table: column, inside a quoted field, and
/// whether the next byte starts a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    col: u32,
    quoted: bool,
    field_start: bool,
    /// The last byte closed a quoted field (a `""` inside one reopens it).
    closed: bool,
}

impl Default for Pos {
    fn default() -> Self {
        Pos {
            col: 0,
            quoted: false,
            field_start: true,
            closed: false,
        }
    }
}

impl Pos {
    /// Advances over `bytes` of a table delimited by `delim`.
    fn run(mut self, bytes: &[u8], delim: u8) -> Pos {
        let mut i = 0;
        while i < bytes.len() {
            // Only quotes, delimiters and line ends change the state.
            let Some(k) = memchr::memchr3(b'"', delim, b'\n', &bytes[i..]) else {
                if i < bytes.len() {
                    self.field_start = false;
                    self.closed = false;
                }
                break;
            };
            if k > 0 {
                self.field_start = false;
                self.closed = false;
            }
            let b = bytes[i + k];
            self.step(b, delim);
            i += k + 1;
        }
        self
    }

    #[inline]
    fn step(&mut self, b: u8, delim: u8) {
        let closed = std::mem::take(&mut self.closed);
        if b == b'"' {
            if self.quoted {
                self.quoted = false;
                self.closed = true;
            } else if self.field_start || closed {
                self.quoted = true;
            }
            self.field_start = false;
        } else if self.quoted {
            self.field_start = false;
        } else if b == delim {
            self.col += 1;
            self.field_start = true;
        } else if b == b'\n' {
            self.col = 0;
            self.field_start = true;
        } else {
            self.field_start = false;
        }
    }
}

/// Structural context carried across the windows of one input.
#[derive(Debug, Clone, Default)]
pub struct ScanState {
    sniffed: bool,
    table: Option<Table>,
    /// Parser position at the first byte of the next window.
    pos: Pos,
}

impl ScanState {
    /// A state for a new input.
    pub fn new() -> Self {
        ScanState::default()
    }

    /// Sniffs the table layout once, from the input's first bytes (`buf`
    /// when `at_start`, i.e. it begins at byte 0 of the input).
    pub(crate) fn prepare(&mut self, buf: &[u8], at_start: bool) {
        if !self.sniffed {
            self.sniffed = true;
            if at_start {
                self.table = sniff(buf);
                self.pos = Pos::default();
            }
        }
    }

    /// Moves the carried parser position over `dropped`, the bytes a
    /// window loop drops from the front of its buffer before the next
    /// window (so the next buffer starts right after them).
    pub fn advance(&mut self, dropped: &[u8]) {
        self.sniffed = true;
        if let Some(t) = &self.table {
            self.pos = self.pos.run(dropped, t.delim);
        }
    }

    /// The per-buffer view used while scanning `buf`.
    pub(crate) fn view<'a>(&'a self, buf: &'a [u8]) -> Cx<'a> {
        Cx {
            buf,
            table: self.table.as_ref(),
            start: self.pos,
            lines: OnceCell::new(),
            last: Cell::new(None),
        }
    }
}

/// Structural context of one buffer: the column label of a byte offset.
#[derive(Debug)]
pub struct Cx<'a> {
    buf: &'a [u8],
    table: Option<&'a Table>,
    start: Pos,
    /// Parser position at each line start (built on first use).
    lines: OnceCell<Vec<(usize, Pos)>>,
    /// The last offset asked for, its line start and the parser there:
    /// values are asked for in order, several per row and each more than
    /// once, so a row is parsed from where the last value left it.
    last: Cell<Option<(usize, usize, Pos)>>,
}

impl Cx<'_> {
    /// A view with no structure (plain text).
    #[cfg(test)]
    pub(crate) fn none() -> Cx<'static> {
        Cx {
            buf: &[],
            table: None,
            start: Pos::default(),
            lines: OnceCell::new(),
            last: Cell::new(None),
        }
    }

    /// The column of the value starting at `s`, when the input is a table.
    pub fn column(&self, s: usize) -> Option<u32> {
        let t = self.table?;
        let lines = self.lines(t);
        let i = lines.partition_point(|&(o, _)| o <= s) - 1;
        let (o, p) = match self.last.get() {
            Some((line, at, p)) if line == lines[i].0 && at <= s => (at, p),
            _ => lines[i],
        };
        let p = p.run(&self.buf[o..s], t.delim);
        self.last.set(Some((lines[i].0, s, p)));
        Some(p.col)
    }

    /// Records (lines not inside a quoted cell) starting in `r`.
    pub fn records(&self, r: std::ops::Range<usize>) -> usize {
        let Some(t) = self.table else { return 0 };
        self.lines(t)
            .iter()
            .filter(|(o, p)| r.contains(o) && !p.quoted)
            .count()
    }

    fn lines(&self, t: &Table) -> &Vec<(usize, Pos)> {
        self.lines.get_or_init(|| {
            let mut v = vec![(0, self.start)];
            let mut pos = self.start;
            let mut from = 0;
            while let Some(k) = memchr::memchr(b'\n', &self.buf[from..]) {
                let nl = from + k + 1;
                pos = pos.run(&self.buf[from..nl], t.delim);
                v.push((nl, pos));
                from = nl;
            }
            v
        })
    }

    /// True when the input is a delimited table.
    pub fn is_table(&self) -> bool {
        self.table.is_some()
    }

    /// Which hits sit in a column where most rows hold a valid value of
    /// the same detector (`hits` are (detector, hit) pairs of this buffer;
    /// `rows` the records in the part scanned): a column of Luhn-valid card
    /// numbers or NANP phone numbers, with a header or without. Such a
    /// column raises each of them one level.
    pub(crate) fn vote<K: Copy + Eq + std::hash::Hash>(
        &self,
        hits: &[(K, crate::builtin::Hit)],
        rows: usize,
        votes: impl Fn(K) -> bool,
    ) -> Vec<bool> {
        let mut voted = vec![false; hits.len()];
        if self.table.is_none() || rows < MIN_VOTES {
            return voted;
        }
        let mut counts: std::collections::HashMap<(K, u32), usize> = Default::default();
        let cols: Vec<Option<u32>> = hits
            .iter()
            .map(|(k, h)| votes(*k).then(|| self.column(h.start)).flatten())
            .collect();
        for ((k, _), c) in hits.iter().zip(&cols) {
            if let Some(c) = c {
                *counts.entry((*k, *c)).or_default() += 1;
            }
        }
        for (((k, _), c), v) in hits.iter().zip(&cols).zip(&mut voted) {
            let Some(c) = c else { continue };
            let n = counts[&(*k, *c)];
            *v = n >= MIN_VOTES && n * 5 >= rows * 4;
        }
        voted
    }

    /// The header of the column the value at `s` sits in: a delimited
    /// table's field name, or an HTML table's `<th>` text for a value that
    /// opens a `<td>` cell.
    pub fn header(&self, s: usize) -> Option<&[u8]> {
        let Some(t) = self.table else {
            return html_header(self.buf, s);
        };
        if t.header.is_empty() {
            return None;
        }
        let c = self.column(s)? as usize;
        t.header.get(c).map(Vec::as_slice)
    }
}

/// How far back an HTML cell looks for its row and its table's header.
const HTML_ROW_REACH: usize = 64 * 1024;
const HTML_HEADER_REACH: usize = 1 << 20;

/// Last occurrence of `<tag` (either case) in `hay`.
fn rfind_tag(hay: &[u8], lower: &[u8], upper: &[u8]) -> Option<usize> {
    let a = memchr::memmem::rfind(hay, lower);
    let b = memchr::memmem::rfind(hay, upper);
    a.max(b).or(a).or(b)
}

/// The `<th>` text heading the column of a value that opens a `<td>` cell
/// at `s` (`<tr><td>Ana</td><td>536-22-8726</td>` under
/// `<tr><th>Name</th><th>SSN</th>`), however many rows down.
fn html_header(buf: &[u8], s: usize) -> Option<&[u8]> {
    if s > buf.len() {
        return None;
    }
    let mut j = s;
    while j > 0 && buf[j - 1] == b' ' {
        j -= 1;
    }
    if j == 0 || buf[j - 1] != b'>' {
        return None;
    }
    let lt = memchr::memrchr(b'<', &buf[j.saturating_sub(256)..j])? + j.saturating_sub(256);
    let tag = &buf[lt..j];
    if tag.len() < 4 || !tag[..3].eq_ignore_ascii_case(b"<td") || !matches!(tag[3], b'>' | b' ') {
        return None;
    }
    let lo = lt.saturating_sub(HTML_ROW_REACH);
    let row = lo + rfind_tag(&buf[lo..lt], b"<tr", b"<TR")?;
    let cells = |r: &[u8]| {
        memchr::memmem::find_iter(r, b"<t")
            .chain(memchr::memmem::find_iter(r, b"<T"))
            .filter(|&k| {
                r.get(k + 2)
                    .is_some_and(|c| matches!(c, b'd' | b'D' | b'h' | b'H'))
            })
            .count()
    };
    let col = cells(&buf[row..lt]);
    let lo = row.saturating_sub(HTML_HEADER_REACH);
    let th = lo + rfind_tag(&buf[lo..row], b"<th", b"<TH")?;
    let head_row = lo + rfind_tag(&buf[lo..th], b"<tr", b"<TR").unwrap_or(0);
    let head_end = th + memchr::memmem::find(&buf[th..row], b"</tr").unwrap_or(row - th);
    let mut k = head_row;
    let mut n = 0;
    while let Some(p) = memchr::memmem::find(&buf[k..head_end], b"<th")
        .or_else(|| memchr::memmem::find(&buf[k..head_end], b"<TH"))
    {
        let open = k + p;
        let gt = open + memchr::memchr(b'>', &buf[open..head_end])? + 1;
        let close = gt + memchr::memchr(b'<', &buf[gt..head_end]).unwrap_or(head_end - gt);
        if n == col {
            return Some(buf[gt..close].trim_ascii());
        }
        n += 1;
        k = close;
    }
    None
}

/// Splits the first `n` records of `buf` by `delim` (quotes followed):
/// each record's fields as byte ranges, only records that end in `buf`.
fn records(buf: &[u8], delim: u8, n: usize) -> Vec<Vec<(usize, usize)>> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut pos = Pos::default();
    let mut fs = 0;
    for (i, &b) in buf.iter().enumerate().take(4 * MAX_HEADER) {
        let was_quoted = pos.quoted;
        pos.step(b, delim);
        if was_quoted {
            continue;
        }
        if b == delim || b == b'\n' {
            let fe = if b == b'\n' && i > fs && buf[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            fields.push((fs, fe));
            fs = i + 1;
            if b == b'\n' {
                out.push(std::mem::take(&mut fields));
                if out.len() == n {
                    break;
                }
            }
        }
    }
    out
}

/// Recognises a delimited table at the start of `buf`.
fn sniff(buf: &[u8]) -> Option<Table> {
    let first_line = memchr::memchr(b'\n', buf)?;
    if first_line > MAX_HEADER || buf[..first_line].contains(&0) {
        return None;
    }
    let mut best: Option<(usize, u8)> = None;
    for delim in [b'\t', b',', b';', b'|'] {
        if !buf[..first_line].contains(&delim) {
            continue;
        }
        let recs = records(buf, delim, 4);
        if recs.len() < 2 {
            continue;
        }
        let n = recs[0].len();
        // Every record read has the same width (a last record cut by the
        // buffer end is not read).
        if n >= 2 && recs.iter().all(|r| r.len() == n) && best.is_none_or(|(m, _)| n > m) {
            best = Some((n, delim));
        }
    }
    let (_, delim) = best?;
    let recs = records(buf, delim, 2);
    let names = |rec: &[(usize, usize)]| -> Vec<Vec<u8>> {
        rec.iter()
            .map(|&(a, b)| {
                let f = buf[a..b].trim_ascii();
                let f = f
                    .strip_prefix(b"\"")
                    .and_then(|f| f.strip_suffix(b"\""))
                    .unwrap_or(f);
                f.trim_ascii().to_vec()
            })
            .collect()
    };
    // A header names its columns: short, with a letter, not a number.
    let is_name = |f: &Vec<u8>| {
        f.len() <= MAX_NAME
            && f.iter().any(u8::is_ascii_alphabetic)
            && f.iter().filter(|b| b.is_ascii_digit()).count() < 4
            && !f.contains(&b'@')
    };
    let is_header = |n: &[Vec<u8>]| n.iter().all(|f| f.is_empty() || is_name(f));
    let filled = |n: &[Vec<u8>]| n.iter().filter(|f| !f.is_empty()).count();
    let first = names(&recs[0]);
    let second = names(&recs[1]);
    // A title in the first cell alone (`Customer export,,,`, a sheet's
    // title row) above a header: the header is the second record.
    let header = if filled(&first) == 1 && filled(&second) >= 2 && is_header(&second) {
        second
    } else if is_header(&first) {
        first
    } else {
        Vec::new()
    };
    Some(Table { delim, header })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_at(text: &str, needle: &str) -> Option<String> {
        let mut st = ScanState::new();
        st.prepare(text.as_bytes(), true);
        let cx = st.view(text.as_bytes());
        let s = text.find(needle).unwrap();
        cx.header(s)
            .map(|h| String::from_utf8_lossy(h).into_owned())
    }

    #[test]
    fn csv_tsv_quotes_and_multiline_cells() {
        let csv = "name,ssn,phone,notes\nAna,536228726,4155552671,\"line one\nline, two\"\nBo,412673390,2125550143,x\n";
        assert_eq!(header_at(csv, "536228726").as_deref(), Some("ssn"));
        assert_eq!(header_at(csv, "2125550143").as_deref(), Some("phone"));
        assert_eq!(header_at(csv, "412673390").as_deref(), Some("ssn"));
        let tsv = "Name\tacct_ssn\nA\t536228726\nB\t412673390\n";
        assert_eq!(header_at(tsv, "412673390").as_deref(), Some("acct_ssn"));
        let semi = "\"id\";\"Mobile\"\n1;4155552671\n2;2125550143\n";
        assert_eq!(header_at(semi, "2125550143").as_deref(), Some("Mobile"));
        let titled = "Customer export,,\nname,ssn,phone\nAna,536228726,4155552671\n";
        assert_eq!(header_at(titled, "536").as_deref(), Some("ssn"));
        let one_col = "Totals,,\n12,,\n13,,\n";
        assert_eq!(header_at(one_col, "13").as_deref(), Some("Totals"));
    }

    #[test]
    fn html_table_headers() {
        let html = "<table>\n<tr><th>Name</th><th>SSN</th></tr>\n<tr><td>Ana</td><td>536-22-8726</td></tr>\n<tr><td>Bo</td><td>412-67-3390</td></tr></table>";
        assert_eq!(header_at(html, "412-67").as_deref(), Some("SSN"));
        assert_eq!(header_at(html, "Bo").as_deref(), Some("Name"));
        assert_eq!(header_at("<p>536-22-8726</p>", "536"), None);
    }

    #[test]
    fn prose_and_headerless_tables() {
        assert_eq!(
            header_at("Dear Ana,\nyour SSN 536228726 is on file.\n", "536"),
            None
        );
        let data = "4916673475725015,a\n5433950237257862,b\n";
        assert_eq!(header_at(data, "5433"), None);
    }

    #[test]
    fn advancing_over_a_dropped_prefix_keeps_the_column() {
        let csv = "a,ssn\n\"x\ny \"\"q\"\"\",1\n2,536228726\n";
        let mut st = ScanState::new();
        st.prepare(csv.as_bytes(), true);
        let cut = csv.find("\ny ").unwrap() + 2;
        st.advance(&csv.as_bytes()[..cut]);
        let rest = &csv.as_bytes()[cut..];
        let cx = st.view(rest);
        let s = csv[cut..].find("536").unwrap();
        assert_eq!(cx.header(s), Some(&b"ssn"[..]));
    }
}
