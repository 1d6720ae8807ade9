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
        Some(b'-') => !before(buf, s - 1).is_some_and(|c| c.is_ascii_alphanumeric()),
        Some(b'.' | b'/' | b':') => !before(buf, s - 1).is_some_and(|c| c.is_ascii_digit()),
        Some(_) => true,
    }
}

/// True when a numeric token ending at `e` is not followed by more of a
/// word, number or dotted/dashed number.
pub fn numeric_end_ok(buf: &[u8], e: usize) -> bool {
    match at(buf, e) {
        None => true,
        Some(b) if is_word(b) => false,
        // `…-e89b-…`: part of a dashed identifier (UUID, order number).
        Some(b'-') => !at(buf, e + 1).is_some_and(|c| c.is_ascii_alphanumeric()),
        Some(b'.' | b'/' | b':') => !at(buf, e + 1).is_some_and(|c| c.is_ascii_digit()),
        Some(_) => true,
    }
}

/// True when the token at `s` continues a grouped number to its left
/// (`DE81 5618 …`, `3625 271649 8568`): a separator right after a short
/// digit group that is itself grouped by the same separator or starts
/// there. A complete value on the left ends the group: a long run
/// (`4012888888881881 4012-…`) or a group joined to its own value by
/// another separator (`078-05-1123 078-05-1124`) does not continue.
pub fn continues_group_left(buf: &[u8], s: usize) -> bool {
    if s < 2 || !matches!(buf[s - 1], b' ' | b'-' | b'.') || !buf[s - 2].is_ascii_digit() {
        return false;
    }
    let sep = buf[s - 1];
    let mut g = s - 1;
    while g > 0 && buf[g - 1].is_ascii_digit() {
        g -= 1;
    }
    if s - 1 - g > 6 {
        return false;
    }
    // The group's own left neighbour: another separator kind means the
    // group closes a differently grouped value.
    !(g > 0
        && matches!(buf[g - 1], b' ' | b'-' | b'.' | b'/')
        && buf[g - 1] != sep
        && g >= 2
        && buf[g - 2].is_ascii_digit())
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

/// Labels that say a value is some other kind of identifier (an order,
/// invoice or tracking number, a UUID, a serial). They count only when
/// bound to the value (see [`label_before`]), never as a word nearby.
pub const NEGATIVE: &[&str] = &[
    "order",
    "invoice",
    "tracking",
    "uuid",
    "guid",
    "isbn",
    "ean",
    "upc",
    "gtin",
    "barcode",
    "serial",
    "timestamp",
    "txn",
    "transaction",
    "ref",
    "reference",
    "sku",
    "build",
    "ticket",
    "version",
];

/// Words between a label and its value that do not change the label
/// (`SSN is …`, `card number: …`, `Order #: …`).
const FILLER: &[&[u8]] = &[
    b"is", b"was", b"are", b"number", b"numbers", b"no", b"num", b"nr", b"nbr", b"of", b"the",
    b"my", b"his", b"her", b"their", b"our", b"your",
];

/// The label bound to a value starting at `s`, as a byte range of `buf`:
/// the words just before it on its line, after stepping back over the
/// punctuation that ties a key to its value (`: = => # " ' >` and spaces)
/// and filler words (`is`, `number`, `no`, …). It stops at a line start,
/// a cell or clause separator (`, ; | tab ( { [ <` and `. ` ending a
/// sentence) or after 40 bytes, so `Name,Card\n…,4111…` binds nothing to
/// the card while `card: 4111…`, `"ssn": "536…"`, `<ssn>536…`,
/// `SSN=536228726` and `my SSN is 536-22-8726` bind `card`/`ssn`.
pub fn label_before(buf: &[u8], s: usize) -> (usize, usize) {
    let floor = s.saturating_sub(48);
    let mut j = s;
    // Key/value punctuation and quotes between the label and the value.
    while j > floor
        && matches!(
            buf[j - 1],
            b' ' | b':' | b'=' | b'#' | b'"' | b'\'' | b'>' | b'`'
        )
    {
        j -= 1;
    }
    // Filler words ("is", "number") between the label and the value.
    loop {
        let mut k = j;
        while k > floor && buf[k - 1].is_ascii_alphabetic() {
            k -= 1;
        }
        let w = &buf[k..j];
        if k < j
            && FILLER.iter().any(|f| w.eq_ignore_ascii_case(f))
            && k > floor
            && matches!(buf[k - 1], b' ' | b'#' | b':' | b'=' | b'"')
        {
            j = k;
            while j > floor && matches!(buf[j - 1], b' ' | b':' | b'=' | b'#' | b'"' | b'\'') {
                j -= 1;
            }
        } else {
            break;
        }
    }
    let end = j;
    while j > floor {
        let b = buf[j - 1];
        let sentence_end = b == b'.' && buf.get(j) == Some(&b' ');
        if b == b'\n' || b == b'\r' || b == b'\t' || b",;|({[<".contains(&b) || sentence_end {
            break;
        }
        j -= 1;
    }
    (j, end)
}

/// The evidence for one value: its bound label (a key, a field or column
/// name, the words right before it) and keywords loosely nearby.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The bound label names this detector's kind (`ssn`, `card`, `phone`).
    pub label_pos: bool,
    /// The bound label names another kind of identifier (`order`, `isbn`).
    pub label_neg: bool,
    /// A keyword of this detector's kind within the window on the same line.
    pub near_pos: bool,
}

impl Evidence {
    /// Positive evidence: a bound keyword, or a loose one when the label
    /// does not say otherwise.
    pub fn up(self) -> bool {
        self.label_pos || (self.near_pos && !self.label_neg)
    }

    /// Negative evidence: a bound label naming another identifier, and no
    /// bound keyword of this kind (a bound positive outranks it).
    pub fn down(self) -> bool {
        self.label_neg && !self.label_pos
    }
}

/// Lowercases `label` into `out` with `_ - .` and camelCase humps turned
/// into spaces (`acct_ssn`, `creditCardNumber`), so keywords match as
/// whole words; returns the used length.
fn split_words(label: &[u8], out: &mut [u8; 160]) -> usize {
    let mut n = 0;
    for (i, &b) in label.iter().enumerate() {
        if n + 2 > out.len() {
            break;
        }
        if b.is_ascii_uppercase() && i > 0 && label[i - 1].is_ascii_lowercase() {
            out[n] = b' ';
            n += 1;
        }
        out[n] = if matches!(b, b'_' | b'-' | b'.') {
            b' '
        } else {
            b.to_ascii_lowercase()
        };
        n += 1;
    }
    n
}

/// Whole-word search of lowercase `words` in lowercase `low`.
fn has_word(low: &[u8], words: &[&str]) -> bool {
    // Labels are short: compare at each word start rather than build a
    // substring searcher per keyword.
    (0..low.len())
        .filter(|&i| low[i].is_ascii_alphabetic() && (i == 0 || !low[i - 1].is_ascii_alphabetic()))
        .any(|i| {
            words.iter().any(|w| {
                let w = w.as_bytes();
                low[i..].starts_with(w)
                    && !low.get(i + w.len()).is_some_and(u8::is_ascii_alphabetic)
            })
        })
}

/// Collects the evidence for `buf[s..e]`: `header` is the structural label
/// (the column or key name the value sits under, see `structure`), used
/// when nothing is bound to the value on its own line. `window` bytes
/// before the value are searched for loose `hot` keywords. `neg` are this
/// detector's negative labels; `generic` adds [`NEGATIVE`] (identifiers
/// such as order and tracking numbers, which only digit runs can be).
#[allow(clippy::too_many_arguments)]
pub fn evidence(
    buf: &[u8],
    s: usize,
    e: usize,
    window: usize,
    header: Option<&[u8]>,
    hot: &[&str],
    neg: &[&str],
    generic: bool,
) -> Evidence {
    let (ls, le) = label_before(buf, s);
    // An HTML cell tag (`<td>`) is structure, not a label: its column's
    // header is.
    let cell = ls > 0 && buf[ls - 1] == b'<' && buf[ls..le].eq_ignore_ascii_case(b"td");
    let label: &[u8] = match header {
        Some(h) if ls == le || cell => h,
        _ => &buf[ls..le],
    };
    let mut low = [0u8; 160];
    let n = if label.iter().any(u8::is_ascii_alphabetic) {
        split_words(label, &mut low)
    } else {
        0
    };
    let low = &low[..n];
    let label_pos = n > 0 && has_word(low, hot);
    let label_neg =
        n > 0 && !label_pos && ((generic && has_word(low, NEGATIVE)) || has_word(low, neg));
    Evidence {
        label_pos,
        label_neg,
        near_pos: !label_pos && near(buf, s, e, window, 0, hot),
    }
}

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
