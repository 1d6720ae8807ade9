//! Byte-level helpers shared by the detectors: token boundaries, hotword
//! and negative-context windows, Shannon entropy, UTF-8-safe cuts.

/// True for bytes that continue a word or number token.
#[inline]
pub fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The byte before `i`, if any.
#[inline]
pub fn before(buf: &[u8], i: usize) -> Option<u8> {
    i.checked_sub(1).map(|j| buf[j])
}

/// The byte at `i`, if any.
#[inline]
pub fn at(buf: &[u8], i: usize) -> Option<u8> {
    buf.get(i).copied()
}

/// True when a numeric token starting at `s` is not the tail of a longer
/// word, number or dotted/dashed number (`1.4111…`, `12-4111…`).
pub fn numeric_start_ok(buf: &[u8], s: usize) -> bool {
    match before(buf, s) {
        None => true,
        Some(b) if is_word(b) => false,
        Some(b'.' | b'-' | b'/' | b':') => !before(buf, s - 1).is_some_and(|c| c.is_ascii_digit()),
        Some(_) => true,
    }
}

/// True when a numeric token ending at `e` is not followed by more of a
/// word, number or dotted/dashed number.
pub fn numeric_end_ok(buf: &[u8], e: usize) -> bool {
    match at(buf, e) {
        None => true,
        Some(b) if is_word(b) => false,
        Some(b'.' | b'-' | b'/' | b':') => !at(buf, e + 1).is_some_and(|c| c.is_ascii_digit()),
        Some(_) => true,
    }
}

/// True when the token at `s` continues a grouped number to its left
/// (`DE81 5618 …`, `3625 271649 8568`): a separator right after a digit.
pub fn continues_group_left(buf: &[u8], s: usize) -> bool {
    s >= 2 && matches!(buf[s - 1], b' ' | b'-' | b'.') && buf[s - 2].is_ascii_digit()
}

/// True when one of `words` (lowercase ASCII) occurs as a whole word
/// within `window` bytes before `s` or `after` bytes after `e`, on the
/// same line (text on other lines belongs to other records).
pub fn near(buf: &[u8], s: usize, e: usize, window: usize, after: usize, words: &[&str]) -> bool {
    let lo = s.saturating_sub(window);
    let lo = buf[lo..s]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(lo, |i| lo + i + 1);
    let hi = (e + after).min(buf.len());
    let hi = buf[e..hi]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(hi, |i| e + i);
    contains_word(&buf[lo..s], words) || contains_word(&buf[e..hi], words)
}

/// Case-insensitive search for any of `words` as a whole word in `hay`
/// (not preceded or followed by a letter).
pub fn contains_word(hay: &[u8], words: &[&str]) -> bool {
    if hay.is_empty() {
        return false;
    }
    let mut low = [0u8; 256];
    let hay = &hay[hay.len().saturating_sub(256)..];
    for (d, s) in low.iter_mut().zip(hay) {
        *d = s.to_ascii_lowercase();
    }
    let low = &low[..hay.len()];
    words.iter().any(|w| {
        let w = w.as_bytes();
        low.windows(w.len()).enumerate().any(|(i, win)| {
            win == w
                && (i == 0 || !low[i - 1].is_ascii_alphabetic())
                && !low.get(i + w.len()).is_some_and(u8::is_ascii_alphabetic)
        })
    })
}

/// Shannon entropy in bits per byte.
pub fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Moves `i` forward to the start of a UTF-8 character (at most 3 bytes).
pub fn ceil_char(buf: &[u8], mut i: usize) -> usize {
    let stop = (i + 3).min(buf.len());
    while i < stop && (buf[i] & 0xC0) == 0x80 {
        i += 1;
    }
    i
}

/// Moves `i` back to the start of a UTF-8 character (at most 3 bytes).
pub fn floor_char(buf: &[u8], mut i: usize) -> usize {
    let stop = i.saturating_sub(3);
    while i > stop && i < buf.len() && (buf[i] & 0xC0) == 0x80 {
        i -= 1;
    }
    i
}

/// Words that make nearby numbers or keys look like something else.
pub const NEGATIVE: &[&str] = &[
    "order",
    "invoice",
    "tracking",
    "uuid",
    "guid",
    "example",
    "sample",
    "isbn",
    "serial",
    "timestamp",
    "txn",
    "transaction id",
    "ref",
    "reference",
    "sku",
    "build",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_and_words() {
        let b = b"x 1.4111 a4111 4111";
        assert!(!numeric_start_ok(b, 4));
        assert!(!numeric_start_ok(b, 10));
        assert!(numeric_start_ok(b, 15));
        assert!(contains_word(b"My SSN is", &["ssn"]));
        assert!(!contains_word(b"lessness", &["ssn"]));
        assert!(entropy(b"aaaa") < 0.01);
        assert!(entropy(b"abcd") > 1.99);
        let s = "é".as_bytes();
        assert_eq!(ceil_char(s, 1), 2);
        assert_eq!(floor_char(s, 1), 0);
    }
}
