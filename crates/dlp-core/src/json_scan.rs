//! A fast, validating scanner for the top level of one JSON object.
//!
//! Filters such as path-filter and findings-csv need a few fields from each
//! record and must still reject anything that is not a JSON object. This
//! scanner checks the whole line against the JSON grammar (UTF-8, string
//! escapes and control characters, numbers, literals, nesting) but skips
//! string bodies eight bytes at a time and materialises only the wanted
//! top-level keys: strings borrowed unless they have escapes (decoded by
//! serde_json, so values are exact), other values as their raw JSON text.
//! path-filter's tests check it against serde_json on random input.

use std::borrow::Cow;

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

const MAX_DEPTH: usize = 128;

struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

/// Errors are messages with the column where parsing stopped.
pub type R<T> = Result<T, String>;

impl<'a> P<'a> {
    fn err<T>(&self, what: &str) -> R<T> {
        Err(format!("{what} at column {}", self.i + 1))
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// A string starting at `self.i` (a quote). Returns its value when
    /// `decode` is set (borrowed unless it has escapes), else `None`.
    fn string(&mut self, decode: bool) -> R<Option<Cow<'a, str>>> {
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            j += special(&self.b[j..]);
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
                            return self.err("invalid escape in string");
                        }
                    }
                }
                Some(_) => {
                    self.i = j;
                    return self.err("control character in string");
                }
                None => {
                    self.i = j;
                    return self.err("unterminated string");
                }
            }
        }
        self.i = j + 1;
        if !decode {
            Ok(None)
        } else if escaped {
            match unescape(&self.s[start..j]) {
                Some(v) => Ok(Some(Cow::Owned(v))),
                None => self.err("invalid unicode escape (lone surrogate)"),
            }
        } else {
            Ok(Some(Cow::Borrowed(&self.s[start..j])))
        }
    }

    fn literal(&mut self, word: &[u8]) -> R<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            self.err("expected value")
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> R<()> {
        if self.b[self.i] == b'-' {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.err("invalid number"),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return self.err("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return self.err("invalid number");
            }
        }
        Ok(())
    }

    /// Any value, validated; a string's value is decoded when `decode`.
    fn value(&mut self, depth: usize, decode: bool) -> R<Val<'a>> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        let start = self.i;
        match self.b.get(self.i) {
            Some(b'"') => {
                let v = self.string(decode)?;
                return Ok(v.map_or_else(|| Val::Raw(&self.s[start..self.i]), Val::Str));
            }
            Some(b'{') => self.container(b'}', depth)?,
            Some(b'[') => self.container(b']', depth)?,
            Some(b't') => self.literal(b"true")?,
            Some(b'f') => self.literal(b"false")?,
            Some(b'n') => {
                self.literal(b"null")?;
                return Ok(Val::Null);
            }
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return self.err("expected value"),
            None => return self.err("EOF while parsing a value"),
        }
        Ok(Val::Raw(&self.s[start..self.i]))
    }

    /// A nested object or array, validated and skipped.
    fn container(&mut self, close: u8, depth: usize) -> R<()> {
        self.i += 1;
        self.ws();
        if self.b.get(self.i) == Some(&close) {
            self.i += 1;
            return Ok(());
        }
        loop {
            if close == b'}' {
                if self.b.get(self.i) != Some(&b'"') {
                    return self.err("expected a key");
                }
                self.string(false)?;
                self.ws();
                if self.b.get(self.i) != Some(&b':') {
                    return self.err("expected ':'");
                }
                self.i += 1;
                self.ws();
            }
            self.value(depth + 1, false)?;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(&c) if c == close => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return self.err("expected ',' or a closing bracket"),
            }
        }
    }
}

/// Scans a line that must hold exactly one JSON object. `want` maps a
/// top-level key to a slot (or `None` to skip it); `put` receives each
/// wanted value with its slot and key.
pub fn top_level<'a, T>(
    line: &'a [u8],
    mut want: impl FnMut(&str) -> Option<T>,
    mut put: impl FnMut(T, &str, Val<'a>) -> R<()>,
) -> R<()> {
    let s = std::str::from_utf8(line)
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
    let mut p = P { s, b: line, i: 0 };
    p.ws();
    if p.b.get(p.i) != Some(&b'{') {
        return p.err("expected a JSON object");
    }
    p.i += 1;
    p.ws();
    if p.b.get(p.i) == Some(&b'}') {
        p.i += 1;
    } else {
        loop {
            if p.b.get(p.i) != Some(&b'"') {
                return p.err("expected a key");
            }
            let key = p.string(true)?.unwrap_or_default();
            p.ws();
            if p.b.get(p.i) != Some(&b':') {
                return p.err("expected ':'");
            }
            p.i += 1;
            p.ws();
            let slot = want(&key);
            let value = p.value(1, slot.is_some())?;
            if let Some(slot) = slot {
                put(slot, &key, value)?;
            }
            p.ws();
            match p.b.get(p.i) {
                Some(b',') => {
                    p.i += 1;
                    p.ws();
                }
                Some(b'}') => {
                    p.i += 1;
                    break;
                }
                _ => return p.err("expected ',' or '}'"),
            }
        }
    }
    p.ws();
    if p.i != p.b.len() {
        return p.err("trailing characters");
    }
    Ok(())
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

/// Offset of the first `"`, `\` or control character in `b` (or its
/// length), eight bytes at a time.
fn special(b: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= b.len() {
        let v = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let quote = v ^ (ONES * u64::from(b'"'));
        let slash = v ^ (ONES * u64::from(b'\\'));
        let hit = (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash)
            | (v.wrapping_sub(ONES * 0x20) & !v);
        if hit & HIGH != 0 {
            break;
        }
        i += 8;
    }
    while i < b.len() && !matches!(b[i], b'"' | b'\\' | 0..=0x1f) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::special;

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
    fn special_finds_the_first_quote_backslash_or_control() {
        assert_eq!(special(b"abcdefghijklmnop\"x"), 16);
        assert_eq!(special(b"abc\\defghijk"), 3);
        assert_eq!(special(b"abcdefgh\x1fijk"), 8);
        assert_eq!(special("héllo wörld, ça va? \"".as_bytes()), 23);
        assert_eq!(special(b"no specials here at all"), 23);
        assert_eq!(special(b""), 0);
        for n in 0..20 {
            let mut v = vec![b'a'; n];
            v.push(b'"');
            assert_eq!(special(&v), n);
        }
    }
}
