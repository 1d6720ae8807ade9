//! Input cut into lines: the layer under the record reader
//! ([`crate::RecordReader`]).
//!
//! Lines longer than a bound are discarded without being held in memory,
//! so one runaway line cannot exhaust it. The reader also tells its caller
//! when the next read would block, which is when buffered output must be
//! flushed.

use std::io::{self, BufRead, BufReader, Read};

/// Default bound on one input line (16 MiB).
pub(crate) const DEFAULT_MAX_LINE: usize = 16 << 20;

/// One line handed to the caller, without its terminating newline.
#[derive(Debug)]
pub enum Line<'a> {
    /// A complete line (a final line without `\n` counts as complete).
    Text(&'a [u8]),
    /// A line over the length bound; its bytes were discarded.
    TooLong(usize),
}

/// Buffered line reader with a line-length bound and line numbers.
pub struct LineReader<R> {
    inner: BufReader<R>,
    buf: Vec<u8>,
    line_no: u64,
    max_line: usize,
    terminator: u8,
}

impl<R: Read> LineReader<R> {
    /// A reader with the default 16 MiB line bound and a 64 KiB buffer.
    pub fn new(input: R) -> Self {
        Self::with_max_line(input, DEFAULT_MAX_LINE)
    }

    /// A reader that discards lines longer than `max_line` bytes.
    pub fn with_max_line(input: R, max_line: usize) -> Self {
        LineReader {
            inner: BufReader::with_capacity(64 * 1024, input),
            buf: Vec::new(),
            line_no: 0,
            max_line,
            terminator: b'\n',
        }
    }

    /// Lines end with `terminator` instead of `\n` (`b'\0'` for the path
    /// lists of `-0/--null`; such a line keeps a trailing `\r`).
    pub fn with_terminator(mut self, terminator: u8) -> Self {
        self.terminator = terminator;
        self
    }

    /// Number of the line last returned (1-based).
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// True when input is already buffered, so the next call will not block.
    pub fn pending(&self) -> bool {
        !self.inner.buffer().is_empty()
    }

    /// The text of the line last returned as [`Line::Text`].
    pub(crate) fn current(&self) -> &[u8] {
        &self.buf
    }

    /// The next line, or `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut total = 0usize;
        let mut too_long = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if total == 0 {
                    return Ok(None);
                }
                break;
            }
            let (take, done) = match memchr::memchr(self.terminator, chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let content = if done { &chunk[..take - 1] } else { chunk };
            total += content.len();
            if total > self.max_line {
                too_long = true;
                self.buf.clear();
            } else {
                self.buf.extend_from_slice(content);
            }
            self.inner.consume(take);
            if done {
                break;
            }
        }
        self.line_no += 1;
        if too_long {
            return Ok(Some(Line::TooLong(total)));
        }
        if self.terminator == b'\n' && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(Line::Text(&self.buf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut r = LineReader::with_max_line(input, max);
        let mut v = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            v.push(match l {
                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Line::TooLong(n) => format!("<{n}>"),
            });
        }
        v
    }

    #[test]
    fn splits_lines_and_handles_missing_final_newline() {
        assert_eq!(lines(b"a\nbb\r\nccc", 100), ["a", "bb", "ccc"]);
        assert_eq!(lines(b"", 100), Vec::<String>::new());
        assert_eq!(lines(b"\n", 100), [""]);
    }

    #[test]
    fn nul_terminated_records_keep_newlines() {
        let mut r = LineReader::new(&b"a\nb\r\0c\0"[..]).with_terminator(0);
        let mut v = Vec::new();
        while let Some(Line::Text(t)) = r.next_line().unwrap() {
            v.push(t.to_vec());
        }
        assert_eq!(v, [b"a\nb\r".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn discards_overlong_lines_and_continues() {
        assert_eq!(
            lines(b"short\n0123456789abc\nok\n", 8),
            ["short", "<13>", "ok"]
        );
    }
}
