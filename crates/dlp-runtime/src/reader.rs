//! The record reader: how every tool reads records, and what becomes of a
//! line that is not one.
//!
//! A [`RecordReader`] yields the non-blank lines of an input; the tool
//! says what each one means to it and hands back those it cannot use
//! ([`RecordReader::reject`]). One policy, [`Rejects`], handles a rejected
//! line in every tool: reported on stderr as `tool: line N: why` (or
//! `tool: FILE: line N: why` when the tool reads its files one by one and
//! names them) and counted, so that the tool exits 1; with `--strict`, it
//! ends the input instead (exit 2). Lines over the length bound are
//! rejected on the way. [`for_each_line`] is the standard loop over it,
//! which also flushes output whenever the next read would block and ends
//! on SIGINT/SIGTERM while waiting; the parallel loop ([`crate::par`])
//! reports through the same policy.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::exit::ExitCode;
use crate::ndjson::{Line, LineReader};
use crate::output::Flush;
use crate::signals;

/// Why one input line was not processed; reported with its line number.
#[derive(Debug)]
pub struct Reject(pub String);

impl<E: std::fmt::Display> From<E> for Reject {
    fn from(e: E) -> Self {
        Reject(e.to_string())
    }
}

/// The reject policy: which tool reports, about which file, how strictly,
/// and how many lines were rejected. Clones (and [`Rejects::in_file`])
/// share the count, so the thread that reads and the one that decides the
/// exit status can each hold one.
#[derive(Debug, Clone)]
pub struct Rejects {
    tool: String,
    file: Option<String>,
    strict: bool,
    count: Arc<AtomicU64>,
}

impl Rejects {
    /// Rejects of `tool`; with `strict` (`--strict`) the first is fatal.
    pub fn new(tool: &str, strict: bool) -> Self {
        Rejects {
            tool: tool.to_owned(),
            file: None,
            strict,
            count: Arc::default(),
        }
    }

    /// The same policy and count for lines of the file `name`, which the
    /// messages then name.
    pub fn in_file(&self, name: &str) -> Self {
        Rejects {
            file: Some(name.to_owned()),
            ..self.clone()
        }
    }

    /// True under `--strict`.
    pub(crate) fn is_strict(&self) -> bool {
        self.strict
    }

    /// Handles line `line` (1-based) as rejected for `why`: reported and
    /// counted, or, under `--strict`, returned as the error that ends the
    /// input (`line N: why`, the tool's name is added where it is printed).
    pub fn reject(&self, line: u64, why: &str) -> anyhow::Result<()> {
        let place = match &self.file {
            Some(f) => format!("{f}: line {line}"),
            None => format!("line {line}"),
        };
        if self.strict {
            anyhow::bail!("{place}: {why}");
        }
        eprintln!("{}: {place}: {why}", self.tool);
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Lines rejected so far (by every clone).
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// 1 when a line was rejected, else 0.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from_rejected(self.count() > 0)
    }
}

/// Records from one input: its non-blank lines, numbered, with over-long
/// lines rejected on the way (see the module documentation).
pub struct RecordReader<R> {
    lines: LineReader<R>,
    rejects: Rejects,
    /// Only an empty line is blank (NUL-separated paths may be spaces).
    keep_white: bool,
}

impl<R: Read> RecordReader<R> {
    /// Records of `input`, one a line, rejected under `rejects`.
    pub fn new(input: R, rejects: Rejects) -> Self {
        RecordReader {
            lines: LineReader::new(input),
            rejects,
            keep_white: false,
        }
    }

    /// Records end with `terminator` instead of `\n` (`b'\0'` for the path
    /// lists of `-0/--null`); then only an empty record is skipped.
    pub fn with_terminator(mut self, terminator: u8) -> Self {
        self.lines = self.lines.with_terminator(terminator);
        self.keep_white = terminator != b'\n';
        self
    }

    /// The next record, or `None` at end of input.
    pub fn next_record(&mut self) -> anyhow::Result<Option<&[u8]>> {
        self.next_record_with(|| Ok(Some(())))
    }

    /// The next record, calling `before_wait` whenever the next read would
    /// block: the moment to flush output or hand over what is in hand. It
    /// returns a guard held during the read (a [`signals::idle`] guard), or
    /// `None` to end the input there. An error is a read error or a line
    /// rejected under `--strict`.
    pub fn next_record_with<G>(
        &mut self,
        mut before_wait: impl FnMut() -> anyhow::Result<Option<G>>,
    ) -> anyhow::Result<Option<&[u8]>> {
        loop {
            let guard = match self.lines.pending() {
                true => None,
                false => match before_wait()? {
                    Some(g) => Some(g),
                    None => return Ok(None),
                },
            };
            let line = {
                let _guard = guard;
                self.lines.next_line()
            };
            let line = match line {
                Ok(line) => line,
                Err(e) => return Err(anyhow::Error::new(e).context(self.what())),
            };
            let blank = match line {
                None => return Ok(None),
                Some(Line::TooLong(n)) => {
                    let why = format!("line of {n} bytes exceeds the line-length limit");
                    self.rejects.reject(self.lines.line_no(), &why)?;
                    continue;
                }
                Some(Line::Text(t)) if self.keep_white => t.is_empty(),
                Some(Line::Text(t)) => t.iter().all(u8::is_ascii_whitespace),
            };
            if !blank {
                return Ok(Some(self.lines.current()));
            }
        }
    }

    /// Rejects the record last returned, for `why` (see [`Rejects::reject`]).
    pub fn reject(&self, why: &str) -> anyhow::Result<()> {
        self.rejects.reject(self.lines.line_no(), why)
    }

    /// True when input is already buffered, so the next read will not block.
    pub fn pending(&self) -> bool {
        self.lines.pending()
    }

    /// Number of the line last read (1-based).
    pub fn line_no(&self) -> u64 {
        self.lines.line_no()
    }

    /// The reject policy, with its count.
    pub fn rejects(&self) -> &Rejects {
        &self.rejects
    }

    fn what(&self) -> String {
        match &self.rejects.file {
            Some(f) => format!("reading {f}"),
            None => "reading input".to_owned(),
        }
    }
}

/// Options of the standard record loop.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopOptions {
    /// A rejected line is fatal (exit 2) instead of reported and skipped.
    pub strict: bool,
}

/// Runs `handle` on every record of `input`, with the toolkit's
/// conventions: rejected lines go through the reject policy (exit 1, or
/// fatal under `strict`); output is flushed whenever the next read would
/// block; SIGINT/SIGTERM while waiting for input ends the loop after a
/// flush. I/O errors on output are fatal.
pub fn for_each_line<R: Read, O: Flush>(
    tool: &str,
    input: R,
    out: &mut O,
    opts: LoopOptions,
    mut handle: impl FnMut(&[u8], &mut O) -> anyhow::Result<Result<(), Reject>>,
) -> anyhow::Result<ExitCode> {
    let mut reader = RecordReader::new(input, Rejects::new(tool, opts.strict));
    loop {
        let wait = || -> anyhow::Result<_> {
            out.flush_output()?;
            Ok(signals::idle())
        };
        let Some(record) = reader.next_record_with(wait)? else {
            break;
        };
        if let Err(Reject(why)) = handle(record, out)? {
            reader.reject(&why)?;
        }
    }
    out.flush_output()?;
    Ok(reader.rejects().exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], rejects: &Rejects, terminator: u8) -> anyhow::Result<Vec<String>> {
        let mut r = RecordReader::new(input, rejects.clone()).with_terminator(terminator);
        let mut v = Vec::new();
        while let Some(rec) = r.next_record()? {
            if rec.starts_with(b"bad") {
                r.reject("bad record")?;
            } else {
                v.push(String::from_utf8_lossy(rec).into_owned());
            }
        }
        Ok(v)
    }

    #[test]
    fn blank_lines_are_skipped_and_bad_ones_counted() {
        let rejects = Rejects::new("t", false);
        let got = read_all(b"a\n\n  \nbad 1\r\nb\nbad 2", &rejects, b'\n').unwrap();
        assert_eq!(got, ["a", "b"]);
        assert_eq!(rejects.count(), 2);
        assert_eq!(rejects.exit_code(), ExitCode::Rejected);
        // Separated by NUL, a record of spaces is a record.
        let rejects = Rejects::new("t", false);
        let got = read_all(b"a\0\0 \0", &rejects, 0).unwrap();
        assert_eq!(got, ["a", " "]);
        assert_eq!(rejects.exit_code(), ExitCode::Ok);
    }

    #[test]
    fn strict_ends_the_input_at_the_first_reject_and_names_the_file() {
        let rejects = Rejects::new("t", true);
        let e = read_all(b"a\n\nbad\nb\n", &rejects, b'\n').unwrap_err();
        assert_eq!(e.to_string(), "line 3: bad record");
        let e = read_all(b"bad\n", &rejects.in_file("f.ndjson"), b'\n').unwrap_err();
        assert_eq!(e.to_string(), "f.ndjson: line 1: bad record");
        assert_eq!(rejects.count(), 0);
        // Clones and in_file share the count.
        let lenient = Rejects::new("t", false);
        read_all(b"bad\n", &lenient.in_file("f"), b'\n').unwrap();
        assert_eq!(lenient.count(), 1);
    }

    #[test]
    fn over_long_lines_are_rejected_and_before_wait_can_end_the_input() {
        let rejects = Rejects::new("t", true);
        let mut r = RecordReader {
            lines: LineReader::with_max_line(&b"0123456789\n"[..], 4),
            rejects,
            keep_white: false,
        };
        let e = r.next_record().unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: line of 10 bytes exceeds the line-length limit"
        );
        let mut r = RecordReader::new(&b"a\n"[..], Rejects::new("t", false));
        assert!(r.next_record_with(|| Ok(None::<()>)).unwrap().is_none());
    }
}
