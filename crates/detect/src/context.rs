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
/// word, number or dotted/dashed number (`1.4111…`, `12-4111…`) nor the
/// fraction of a decimal (`.4111…`; after a word's dot it may start:
/// `Tel.4155552671`).
pub fn numeric_start_ok(buf: &[u8], s: usize) -> bool {
    match before(buf, s) {
        None => true,
        Some(b) if is_word(b) => false,
        Some(b'-') => !before(buf, s - 1).is_some_and(|c| c.is_ascii_alphanumeric()),
        // `.3644719973938`: the fraction of a decimal number.
        Some(b'.') => before(buf, s - 1).is_some_and(|c| c.is_ascii_alphabetic() || c == b'_'),
        Some(b'/' | b':') => !before(buf, s - 1).is_some_and(|c| c.is_ascii_digit()),
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

/// How far back [`label_above`] looks for the key of a value on its own
/// line (it stays within what a stream window keeps before its part).
const ABOVE_REACH: usize = 1024;
const ABOVE_LINES: usize = 16;

/// The key a value on a line of its own belongs to, as a byte range of
/// `buf`: the key of the line above ending in `:` (`ssn:` in YAML,
/// `"card":` in pretty-printed JSON, `My SSN:` in prose), or of the
/// nearest less-indented line that opens a YAML block scalar (`key: |`,
/// `key: >-`) or list (`key:` above `- value` items), over more-indented
/// lines of the same block. The value's line holds only indentation, a
/// list dash or an opening quote before it. `None` when there is no such
/// key within 16 lines and 1 KiB.
pub fn label_above(buf: &[u8], s: usize) -> Option<(usize, usize)> {
    let line_start = memchr::memrchr(b'\n', &buf[..s]).map_or(0, |p| p + 1);
    if line_start == 0 {
        return None;
    }
    let lead = &buf[line_start..s];
    let indent = lead
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let rest = &lead[indent..];
    let item = rest.starts_with(b"- ");
    if !matches!(rest, b"" | b"\"" | b"'" | b"- " | b"- \"" | b"- '") {
        return None;
    }
    let floor = s.saturating_sub(ABOVE_REACH);
    let mut end = line_start - 1; // the '\n' ending the line above
    let mut n = 0;
    while n < ABOVE_LINES && end >= floor {
        let start = memchr::memrchr(b'\n', &buf[floor..end]).map_or(floor, |p| floor + p + 1);
        if start == floor && floor > 0 && buf[floor - 1] != b'\n' {
            return None; // the line is cut by the reach
        }
        let line = &buf[start..end];
        let ind = line
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let text = line.trim_ascii_end();
        if text.len() > ind {
            let (key_end, opens_block) = key_of(text);
            match key_end {
                // `key:` (or `key: |`) right above the value, or a block
                // scalar or list opened by a less-indented key further up.
                Some(k) if n == 0 || (ind < indent && (opens_block || item)) => {
                    let ke = start + k;
                    let mut ks = start + ind;
                    if let Some(p) = buf[ks..ke].iter().rposition(|b| b",{[".contains(b)) {
                        ks += p + 1;
                    }
                    while ks < ke && matches!(buf[ks], b' ' | b'-' | b'"' | b'\'') {
                        ks += 1;
                    }
                    let ks = ks.max(ke.saturating_sub(48));
                    return (ks < ke).then_some((ks, ke));
                }
                // A line of the same block (as indented or more): keep
                // going up.
                _ if ind >= indent => {}
                // A less-indented line that opens no block: another block.
                _ => return None,
            }
            n += 1;
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
    None
}

/// Where the key of a `key:` line ends (before its closing quote and
/// colon), and whether the line opens a YAML block scalar (`key: |`).
fn key_of(text: &[u8]) -> (Option<usize>, bool) {
    let mut t = text;
    let mut block = false;
    // A block scalar indicator: `|` or `>`, a chomping sign, an indent digit.
    let mut k = t.len();
    while k > 0 && matches!(t[k - 1], b'-' | b'+' | b'0'..=b'9') && t.len() - k < 2 {
        k -= 1;
    }
    if k > 0 && matches!(t[k - 1], b'|' | b'>') {
        let before = t[..k - 1].trim_ascii_end();
        if before.ends_with(b":") {
            t = before;
            block = true;
        }
    }
    let Some(t) = t.strip_suffix(b":") else {
        return (None, false);
    };
    let t = t.trim_ascii_end();
    let t = t
        .strip_suffix(b"\"")
        .or_else(|| t.strip_suffix(b"'"))
        .unwrap_or(t);
    if t.is_empty() || !t.iter().any(u8::is_ascii_alphabetic) {
        return (None, false);
    }
    (Some(t.len()), block)
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

/// Whether the label bound to the value at `s`, or its column `header`,
/// names the detector's kind (`hot`), and whether it names another
/// identifier instead (`neg`; with `generic`, also [`NEGATIVE`]).
pub fn bound_label(
    buf: &[u8],
    s: usize,
    header: Option<&[u8]>,
    hot: &[&str],
    neg: &[&str],
    generic: bool,
) -> (bool, bool) {
    let (ls, le) = label_before(buf, s);
    // An HTML cell tag (`<td>`) is structure, not a label: its column's
    // header is.
    let cell = ls > 0 && buf[ls - 1] == b'<' && buf[ls..le].eq_ignore_ascii_case(b"td");
    // Punctuation alone (a list dash) binds nothing.
    let unbound = !buf[ls..le].iter().any(u8::is_ascii_alphanumeric);
    let label: &[u8] = match header {
        Some(h) if unbound || cell => h,
        // Nothing bound on the value's own line: the key above it.
        None if unbound => match label_above(buf, s) {
            Some((a, b)) => &buf[a..b],
            None => &buf[ls..le],
        },
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
    (label_pos, label_neg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_above_a_value_on_its_own_line() {
        let above = |text: &str, needle: &str| {
            let s = text.find(needle).unwrap();
            label_above(text.as_bytes(), s).map(|(a, b)| text[a..b].to_owned())
        };
        assert_eq!(
            above("ssn:\n  123-45-6789\n", "123").as_deref(),
            Some("ssn")
        );
        assert_eq!(
            above("{\n  \"card\":\n    \"4111\"\n}", "4111").as_deref(),
            Some("card")
        );
        let block = "person:\n  notes: |\n    called twice\n    536-22-8726\n";
        assert_eq!(above(block, "536").as_deref(), Some("notes"));
        let list = "ssns:\n  - 536-22-8726\n  - 412-67-3390\n";
        assert_eq!(above(list, "412").as_deref(), Some("ssns"));
        assert_eq!(
            above("My SSN:\n536-22-8726\n", "536").as_deref(),
            Some("My SSN")
        );
        // Prose, a key two lines up at the same indentation, another block.
        assert_eq!(above("Hello\n536-22-8726\n", "536"), None);
        assert_eq!(above("ssn:\nnote\n536-22-8726\n", "536"), None);
        assert_eq!(above("a:\n  b: 1\nc\n  536-22-8726\n", "536"), None);
        assert_eq!(above("ssn: x 536-22-8726\n", "536"), None);
    }

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
