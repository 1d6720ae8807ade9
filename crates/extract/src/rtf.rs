//! The text of an RTF document: control words and the groups that hold no
//! text (font and colour tables, style sheets, pictures, objects, field
//! instructions, `{\*...}` destinations) are dropped; `\par` and `\line`
//! end lines, `\tab` and `\cell` separate fields; `\'hh` (Windows-1252)
//! and `\uN` (Unicode, its fallback characters skipped) are decoded.

use std::io::Read;

use crate::decode::cp1252;
use crate::transcode::{Bytewise, Transcoder};

/// Groups nested deeper than this are read as if at this depth.
const MAX_DEPTH: usize = 256;
/// Destinations whose group holds no document text.
const SKIP: &[&[u8]] = &[
    b"fonttbl",
    b"colortbl",
    b"stylesheet",
    b"info",
    b"pict",
    b"object",
    b"objdata",
    b"listtable",
    b"listoverridetable",
    b"rsidtbl",
    b"generator",
    b"themedata",
    b"colorschememapping",
    b"datastore",
    b"latentstyles",
    b"xmlnstbl",
    b"fldinst",
    b"filetbl",
    b"revtbl",
    b"bkmkstart",
    b"bkmkend",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// After a backslash.
    Slash,
    /// In a control word (letters, then an optional numeric parameter).
    Word,
    /// In `\'hh`, this many digits read.
    Hex(u8),
}

/// RTF to text, a chunk at a time.
pub struct Rtf {
    out: Vec<u8>,
    state: State,
    word: Vec<u8>,
    param: Vec<u8>,
    hex: u8,
    /// Per open group: whether its text is dropped.
    skip: Vec<bool>,
    /// The next token is the first of its group (a destination).
    group_start: bool,
    /// Fallback characters still to drop after `\uN`, and how many each
    /// `\uN` has (`\ucN`).
    fallback: u32,
    uc: u32,
}

/// A reader of the text of the RTF that `inner` yields.
pub type RtfText<R> = Transcoder<R, Rtf>;

/// A reader of the text of the RTF that `inner` yields.
pub fn rtf_text<R: Read>(inner: R) -> RtfText<R> {
    Transcoder::new(
        inner,
        Rtf {
            out: Vec::with_capacity(64 << 10),
            state: State::Text,
            word: Vec::new(),
            param: Vec::new(),
            hex: 0,
            skip: Vec::new(),
            group_start: false,
            fallback: 0,
            uc: 1,
        },
        64 << 10,
    )
}

impl Rtf {
    fn skipping(&self) -> bool {
        self.skip.last().copied().unwrap_or(false)
    }

    fn emit(&mut self, c: char) {
        if self.fallback > 0 {
            self.fallback -= 1;
            return;
        }
        if !self.skipping() {
            let mut b = [0u8; 4];
            self.out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }

    /// At the start of a group: its text is dropped when `skip`.
    fn destination(&mut self, skip: bool) {
        if self.group_start && skip {
            if let Some(top) = self.skip.last_mut() {
                *top = true;
            }
        }
        self.group_start = false;
    }

    fn control(&mut self) {
        let word = std::mem::take(&mut self.word);
        let n: i64 = std::str::from_utf8(&self.param)
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        self.destination(SKIP.contains(&&word[..]));
        match &word[..] {
            b"par" | b"line" | b"sect" | b"page" | b"row" => self.emit('\n'),
            b"tab" | b"cell" => self.emit('\t'),
            b"uc" => self.uc = n.clamp(0, 10) as u32,
            b"u" => {
                let cp = if n < 0 { n + 65536 } else { n };
                let c = char::from_u32(cp as u32).unwrap_or(char::REPLACEMENT_CHARACTER);
                self.fallback = 0;
                self.emit(c);
                self.fallback = self.uc;
            }
            _ => {}
        }
        self.word = word;
    }
}

impl Bytewise for Rtf {
    fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    fn byte(&mut self, b: u8) {
        match self.state {
            State::Text => match b {
                b'\\' => self.state = State::Slash,
                b'{' => {
                    let s = self.skipping();
                    if self.skip.len() < MAX_DEPTH {
                        self.skip.push(s);
                    }
                    self.group_start = true;
                }
                b'}' => {
                    self.skip.pop();
                    self.group_start = false;
                }
                b'\r' | b'\n' => {}
                _ => {
                    self.group_start = false;
                    self.emit(cp1252(b));
                }
            },
            State::Slash => {
                self.state = State::Text;
                match b {
                    b'a'..=b'z' | b'A'..=b'Z' => {
                        self.word.clear();
                        self.param.clear();
                        self.word.push(b);
                        self.state = State::Word;
                    }
                    b'\'' => {
                        self.hex = 0;
                        self.state = State::Hex(0);
                    }
                    b'*' => self.destination(true),
                    b'~' => self.emit(' '),
                    b'_' => self.emit('-'),
                    b'\n' | b'\r' => self.emit('\n'),
                    b'-' => {}
                    _ => self.emit(char::from(b)),
                }
            }
            State::Word => match b {
                b'a'..=b'z' | b'A'..=b'Z' if self.param.is_empty() && self.word.len() < 32 => {
                    self.word.push(b)
                }
                b'0'..=b'9' if self.param.len() < 12 => self.param.push(b),
                b'-' if self.param.is_empty() => self.param.push(b),
                _ => {
                    self.state = State::Text;
                    self.control();
                    if b != b' ' {
                        self.byte(b);
                    }
                }
            },
            State::Hex(n) => {
                let d = (b as char).to_digit(16).unwrap_or(0) as u8;
                self.hex = self.hex * 16 + d;
                if n == 1 {
                    self.state = State::Text;
                    self.group_start = false;
                    self.emit(cp1252(self.hex));
                } else {
                    self.state = State::Hex(1);
                }
            }
        }
    }

    fn end(&mut self) {
        if self.state == State::Word {
            self.state = State::Text;
            self.control();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::tests::Slow;

    #[test]
    fn text_of_rtf() {
        let rtf = br"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}{\colortbl;\red0\green0\blue0;}{\*\generator Writer;}
\pard\plain Dear Ana,\par SSN: 536-22-8726\tab card\~5433\'2d9502 caf\'e9 \u8364?x\par
{\info{\author Bob}}{\pict\pngblip 89504e47}Bye\par}";
        for n in [1, 3, 4096] {
            let mut out = String::new();
            rtf_text(Slow(rtf, n)).read_to_string(&mut out).unwrap();
            assert_eq!(
                out,
                "Dear Ana,\nSSN: 536-22-8726\tcard 5433-9502 café €x\nBye\n"
            );
        }
    }
}
