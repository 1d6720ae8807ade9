//! Characters a reader cannot see: control characters, bidirectional
//! overrides and isolates, zero-width and other invisible formatting
//! characters. A file name holding U+202E (RIGHT-TO-LEFT OVERRIDE) displays
//! `invoice\u{202e}fdp.exe` as `invoiceexe.pdf`; every place that shows a
//! record's text to a person (the HTML report, alert text) writes such
//! characters as a visible `\u202e` escape instead ([`escape_hidden`]).

use std::borrow::Cow;

/// True for a character that changes or hides how text displays: C0 and
/// C1 controls (tab and newline included: callers that keep them check
/// first), bidirectional marks, embeddings, overrides and isolates,
/// zero-width characters, the byte-order mark, soft hyphen, interlinear
/// annotation and tag characters.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{ad}'
        | '\u{61c}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{e0000}'..='\u{e007f}')
}

/// `s` with every [hidden](is_hidden) character written as `\uXXXX` (or
/// `\u{XXXXX}` above the BMP), so it shows; borrowed when there is none.
pub fn escape_hidden(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 12);
    for c in s.chars() {
        if is_hidden(c) {
            let n = c as u32;
            if n > 0xffff {
                o.push_str(&format!("\\u{{{n:x}}}"));
            } else {
                o.push_str(&format!("\\u{n:04x}"));
            }
        } else {
            o.push(c);
        }
    }
    Cow::Owned(o)
}

/// `s` cut to at most `max` bytes at a character boundary, keeping its
/// start and end with `…` between them, so a very long path stays
/// recognisable (its directory and its file name) in bounded memory.
pub fn cut_middle(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let keep = max.saturating_sub('…'.len_utf8());
    let mut head = keep / 2;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - (keep - head);
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    Cow::Owned(format!("{}…{}", &s[..head], &s[tail..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_shown() {
        assert_eq!(
            escape_hidden("invoice\u{202e}fdp.exe"),
            "invoice\\u202efdp.exe"
        );
        assert_eq!(escape_hidden("a\u{200b}b\u{e0041}"), "a\\u200bb\\u{e0041}");
        assert!(matches!(escape_hidden("plain é ü"), Cow::Borrowed(_)));
        assert_eq!(escape_hidden("tab\there"), "tab\\u0009here");
    }

    #[test]
    fn cuts_in_the_middle_at_char_boundaries() {
        assert_eq!(cut_middle("short", 10), "short");
        let long = format!("/home/{}/file.csv", "é".repeat(1000));
        let c = cut_middle(&long, 64);
        assert!(c.len() <= 64, "{}", c.len());
        assert!(c.starts_with("/home/") && c.ends_with("file.csv") && c.contains('…'));
    }
}
