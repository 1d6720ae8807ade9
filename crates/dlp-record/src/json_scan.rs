//! A fast, validating scanner for the top level of one JSON object.
//!
//! Filters such as path-filter and findings-csv need a few fields from each
//! record and must still reject anything that is not a JSON object. This
//! scanner checks the whole line against the JSON grammar (UTF-8, string
//! escapes and control characters, numbers, literals, nesting) but never
//! looks at a string's bytes one by one: a first pass marks, 64 bytes at a
//! time, every byte that can end or interrupt a string (`"`, `\`, control
//! characters; simdjson's first stage, without its unsafe intrinsics), so
//! the parser jumps from a string's opening quote to its end with one bit
//! scan. The same pass tells an ASCII line (nearly every record), which
//! then needs no UTF-8 check. Only the wanted top-level keys are
//! materialised: strings borrowed unless they have escapes, other values as
//! their raw JSON text; as text ([`top_level`]) or as bytes known to be
//! UTF-8 ([`top_level_bytes`], for callers that match bytes and so need no
//! `&str`). path-filter's tests check it against serde_json on random input.

use std::borrow::Cow;
use std::cell::Cell;

/// A wanted top-level value.
#[derive(Debug)]
pub enum Val<'a> {
    /// A string (borrowed when it has no escapes).
    Str(Cow<'a, str>),
    /// `null`.
    Null,
    /// Any other value (number, boolean, object, array) as raw JSON text.
    Raw(&'a str),
}

/// A wanted top-level value as bytes (always valid UTF-8).
#[derive(Debug)]
pub enum ValBytes<'a> {
    /// A string (borrowed when it has no escapes).
    Str(Cow<'a, [u8]>),
    /// `null`.
    Null,
    /// Any other value (number, boolean, object, array) as raw JSON text.
    Raw(&'a [u8]),
}

const MAX_DEPTH: usize = 128;

/// Errors are messages with the column where parsing stopped.
pub type R<T> = Result<T, String>;

/// Parsing stopped; where and why are in [`P::why`], so the parser's
/// results stay small (an error is one bit, not a message or a position).
struct Stop;

type Q<T> = Result<T, Stop>;

/// A string's body: `start..end` of the line, and whether it has escapes.
#[derive(Clone, Copy)]
struct Body {
    start: usize,
    end: usize,
    escaped: bool,
}

/// A wanted value, located.
enum Piece {
    Str(Body),
    Null,
    /// Any other value: `start..end` of the line.
    Raw(usize, usize),
}

struct P<'a, 'm> {
    b: &'a [u8],
    i: usize,
    /// Bit `k` of word `w`: byte `64 * w + k` is special (see [`specials`]).
    marks: &'m [u64],
    /// Where and why parsing stopped, once it has.
    why: Cell<(usize, &'static str)>,
}

impl P<'_, '_> {
    #[cold]
    fn stop<T>(&self, what: &'static str) -> Q<T> {
        self.why.set((self.i, what));
        Err(Stop)
    }

    /// The message of the error that stopped parsing.
    #[cold]
    fn message(&self) -> String {
        let (at, what) = self.why.get();
        format!("{what} at column {}", at + 1)
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// The first special byte at or after `j` (the line's length if none).
    #[inline]
    fn next_special(&self, j: usize) -> usize {
        let mut w = j / 64;
        let Some(&first) = self.marks.get(w) else {
            return self.b.len();
        };
        let mut bits = first & (!0u64 << (j % 64));
        while bits == 0 {
            w += 1;
            match self.marks.get(w) {
                Some(&m) => bits = m,
                None => return self.b.len(),
            }
        }
        (w * 64 + bits.trailing_zeros() as usize).min(self.b.len())
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// The string whose opening quote is at `self.i`, validated and
    /// passed over.
    #[inline]
    fn string(&mut self) -> Q<Body> {
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            j = self.next_special(j);
            match self.b.get(j) {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    match self.b.get(j + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j += 2,
                        Some(b'u')
                            if self.b.len() >= j + 6
                                && self.b[j + 2..j + 6].iter().all(u8::is_ascii_hexdigit) =>
                        {
                            j += 6
                        }
                        _ => {
                            self.i = j;
                            return self.stop("invalid escape in string");
                        }
                    }
                }
                Some(_) => {
                    self.i = j;
                    return self.stop("control character in string");
                }
                None => {
                    self.i = j;
                    return self.stop("unterminated string");
                }
            }
        }
        self.i = j + 1;
        Ok(Body {
            start,
            end: j,
            escaped,
        })
    }

    /// The decoded value of an escaped string just passed over.
    fn unescaped(&self, body: Body) -> Q<String> {
        // The line was checked to be UTF-8 before the scan.
        std::str::from_utf8(&self.b[body.start..body.end])
            .ok()
            .and_then(unescape)
            .map_or_else(|| self.stop("invalid unicode escape (lone surrogate)"), Ok)
    }

    fn literal(&mut self, word: &[u8]) -> Q<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            self.stop("expected value")
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Q<()> {
        if self.b[self.i] == b'-' {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.stop("invalid number"),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return self.stop("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return self.stop("invalid number");
            }
        }
        Ok(())
    }

    /// Any value at `depth`, validated and passed over.
    fn skip(&mut self, depth: usize) -> Q<()> {
        if depth > MAX_DEPTH {
            return self.stop("nesting too deep");
        }
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.container(b'}', depth),
            Some(b'[') => self.container(b']', depth),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.stop("expected value"),
            None => self.stop("EOF while parsing a value"),
        }
    }

    /// A wanted top-level value, validated and located.
    fn value(&mut self) -> Q<Piece> {
        let start = self.i;
        match self.peek() {
            Some(b'"') => self.string().map(Piece::Str),
            Some(b'n') => self.literal(b"null").map(|()| Piece::Null),
            _ => {
                self.skip(1)?;
                Ok(Piece::Raw(start, self.i))
            }
        }
    }

    /// A nested object or array, validated and passed over.
    fn container(&mut self, close: u8, depth: usize) -> Q<()> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(());
        }
        loop {
            if close == b'}' {
                if self.peek() != Some(b'"') {
                    return self.stop("expected a key");
                }
                self.string()?;
                self.ws();
                if self.peek() != Some(b':') {
                    return self.stop("expected ':'");
                }
                self.i += 1;
                self.ws();
            }
            self.skip(depth + 1)?;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return self.stop("expected ',' or a closing bracket"),
            }
        }
    }
}

/// A top-level key: where it is, and its value when it has escapes.
struct Key {
    body: Body,
    decoded: Option<String>,
}

/// The scan both entry points share: validates `line`, asks `want` about
/// each top-level key (its decoded bytes) and hands each wanted value to
/// `got`. `text` is the line as checked UTF-8 when the caller has it; an
/// ASCII line is otherwise not checked again.
fn scan<'a, T>(
    line: &'a [u8],
    text: bool,
    mut want: impl FnMut(&[u8]) -> Option<T>,
    mut got: impl FnMut(&P<'a, '_>, Option<&'a str>, T, &Key, Piece) -> R<()>,
) -> R<()> {
    // Lines of up to 2 KiB (nearly all records) mark on the stack.
    let words = line.len().div_ceil(64);
    let mut small = [0u64; 32];
    let mut big = Vec::new();
    let marks = if words <= small.len() {
        &mut small[..words]
    } else {
        big.resize(words, 0);
        &mut big[..]
    };
    let ascii = specials(line, marks);
    let s = match text || !ascii {
        true => Some(
            std::str::from_utf8(line)
                .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?,
        ),
        false => None,
    };
    let mut p = P {
        b: line,
        i: 0,
        marks,
        why: Cell::new((0, "")),
    };
    p.ws();
    if p.peek() != Some(b'{') {
        return p.stop("expected a JSON object").map_err(|Stop| p.message());
    }
    p.i += 1;
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            if p.peek() != Some(b'"') {
                return p.stop("expected a key").map_err(|Stop| p.message());
            }
            let body = p.string().map_err(|Stop| p.message())?;
            // Checked (a lone surrogate is an error) even when not wanted.
            let key = Key {
                body,
                decoded: match body.escaped {
                    true => Some(p.unescaped(body).map_err(|Stop| p.message())?),
                    false => None,
                },
            };
            let name = key
                .decoded
                .as_deref()
                .map_or(&line[body.start..body.end], str::as_bytes);
            p.ws();
            if p.peek() != Some(b':') {
                return p.stop("expected ':'").map_err(|Stop| p.message());
            }
            p.i += 1;
            p.ws();
            match want(name) {
                Some(slot) => {
                    let piece = p.value().map_err(|Stop| p.message())?;
                    got(&p, s, slot, &key, piece)?;
                }
                None => p.skip(1).map_err(|Stop| p.message())?,
            }
            p.ws();
            match p.peek() {
                Some(b',') => {
                    p.i += 1;
                    p.ws();
                }
                Some(b'}') => {
                    p.i += 1;
                    break;
                }
                _ => return p.stop("expected ',' or '}'").map_err(|Stop| p.message()),
            }
        }
    }
    p.ws();
    if p.i != p.b.len() {
        return p.stop("trailing characters").map_err(|Stop| p.message());
    }
    Ok(())
}

/// Scans a line that must hold exactly one JSON object. `want` maps a
/// top-level key (its decoded bytes) to a slot, or `None` to skip it;
/// `put` receives each wanted value with its slot and key.
pub fn top_level<'a, T>(
    line: &'a [u8],
    want: impl FnMut(&[u8]) -> Option<T>,
    mut put: impl FnMut(T, &str, Val<'a>) -> R<()>,
) -> R<()> {
    scan(line, true, want, |p, s, slot, key, piece| {
        let s = s.unwrap_or_default();
        let name = match &key.decoded {
            Some(k) => k.as_str(),
            None => &s[key.body.start..key.body.end],
        };
        let value = match piece {
            Piece::Str(b) if b.escaped => {
                Val::Str(Cow::Owned(p.unescaped(b).map_err(|Stop| p.message())?))
            }
            Piece::Str(b) => Val::Str(Cow::Borrowed(&s[b.start..b.end])),
            Piece::Null => Val::Null,
            Piece::Raw(start, end) => Val::Raw(&s[start..end]),
        };
        put(slot, name, value)
    })
}

/// [`top_level`] with keys and values as bytes, for callers that match
/// bytes: an ASCII line is then never made text.
pub fn top_level_bytes<'a, T>(
    line: &'a [u8],
    want: impl FnMut(&[u8]) -> Option<T>,
    mut put: impl FnMut(T, &[u8], ValBytes<'a>) -> R<()>,
) -> R<()> {
    scan(line, false, want, |p, _, slot, key, piece| {
        let name = match &key.decoded {
            Some(k) => k.as_bytes(),
            None => &line[key.body.start..key.body.end],
        };
        let value = match piece {
            Piece::Str(b) if b.escaped => ValBytes::Str(Cow::Owned(
                p.unescaped(b).map_err(|Stop| p.message())?.into_bytes(),
            )),
            Piece::Str(b) => ValBytes::Str(Cow::Borrowed(&line[b.start..b.end])),
            Piece::Null => ValBytes::Null,
            Piece::Raw(start, end) => ValBytes::Raw(&line[start..end]),
        };
        put(slot, name, value)
    })
}

/// Decodes the body of a JSON string whose escapes were already checked
/// for shape; `None` for a lone UTF-16 surrogate.
fn unescape(body: &str) -> Option<String> {
    let b = body.as_bytes();
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'\\', &b[i..]) {
        out.push_str(&body[i..i + k]);
        i += k;
        let c = match b[i + 1] {
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'u' => {
                let hi = u32::from_str_radix(&body[i + 2..i + 6], 16).ok()?;
                if (0xD800..0xDC00).contains(&hi) {
                    if b.get(i + 6..i + 8) != Some(b"\\u") {
                        return None;
                    }
                    let lo = u32::from_str_radix(body.get(i + 8..i + 12)?, 16).ok()?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    i += 6;
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
            other => other as char, // " \ /
        };
        out.push(c);
        i += if b[i + 1] == b'u' { 6 } else { 2 };
    }
    out.push_str(&body[i..]);
    Some(out)
}

/// Marks the special bytes of `b` (`"`, `\`, and control characters
/// below 0x20) in `marks`, one bit per byte, 64 bytes a word; bits past the
/// end of `b` are set. True when `b` is ASCII. Written so the compiler
/// vectorises it: byte comparisons into flags, packed eight at a time with
/// a multiplication.
fn specials(b: &[u8], marks: &mut [u64]) -> bool {
    let mut high = 0u8;
    let mut chunks = b.chunks_exact(64);
    for (m, c) in marks.iter_mut().zip(&mut chunks) {
        let (bits, h) = mark64(c.try_into().expect("64 bytes"));
        *m = bits;
        high |= h;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // Zero padding: control characters, so marked.
        let mut tail = [0u8; 64];
        tail[..rest.len()].copy_from_slice(rest);
        let (bits, h) = mark64(&tail);
        if let Some(m) = marks.last_mut() {
            *m = bits;
        }
        high |= h;
    }
    high < 0x80
}

/// The marks of 64 bytes, and their bitwise or.
#[inline]
fn mark64(c: &[u8; 64]) -> (u64, u8) {
    let mut flags = [0u8; 64];
    let mut high = 0u8;
    for (f, &b) in flags.iter_mut().zip(c) {
        *f = u8::from((b == b'"') | (b == b'\\') | (b < 0x20));
        high |= b;
    }
    let mut m = 0u64;
    for (k, eight) in flags.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
        // Gathers the low bit of each byte into the top byte, in order.
        m |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    (m, high)
}

#[cfg(test)]
mod tests {
    use super::specials;

    #[test]
    fn unescape_matches_serde_json() {
        for body in [
            r#"a\nb\t\"c\"\\/\/"#,
            r"\u00e9\u20AC",
            r"\ud83d\ude00 x",
            r"\b\f\r",
            "plain",
            "",
        ] {
            let want: String = serde_json::from_str(&format!("\"{body}\"")).unwrap();
            assert_eq!(
                super::unescape(body).as_deref(),
                Some(want.as_str()),
                "{body}"
            );
        }
        assert_eq!(super::unescape(r"\ud83d"), None);
        assert_eq!(super::unescape(r"\ud83dx\u0041"), None);
        assert_eq!(super::unescape(r"\ude00"), None);
    }

    #[test]
    fn specials_marks_quotes_backslashes_and_control_characters() {
        let mut line: Vec<u8> = (0..=255u8).collect();
        line.extend_from_slice("héllo \"wörld\" \\ x".as_bytes());
        for len in [0, 1, 63, 64, 65, 127, 128, 200, line.len()] {
            let b = &line[..len];
            let mut marks = vec![0u64; len.div_ceil(64)];
            assert_eq!(specials(b, &mut marks), b.is_ascii());
            for (i, &c) in b.iter().enumerate() {
                let want = c == b'"' || c == b'\\' || c < 0x20;
                assert_eq!(
                    marks[i / 64] >> (i % 64) & 1 == 1,
                    want,
                    "byte {i} ({c:#x}) of {len}"
                );
            }
            for i in len..marks.len() * 64 {
                assert_eq!(marks[i / 64] >> (i % 64) & 1, 1, "padding bit {i} of {len}");
            }
        }
    }
}
