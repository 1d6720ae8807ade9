//! IBAN_CODE (country-specific length + ISO 7064 mod-97) and
//! US_BANK_ROUTING_MICR (ABA 3-7-1 checksum + Federal Reserve prefixes).

use super::{Detector, Find, Form, Hit, Judge, RunStats, Shape};
use crate::context::{is_word, numeric_end_ok, numeric_start_ok};
use crate::evidence::Labels;

pub(crate) const IBAN: Detector = Detector {
    kind: super::Kind::Iban,
    name: "IBAN_CODE",
    uuid: "e3d5c8b2-7c9a-4b9e-9c65-4a3fad801c33",
    find: Find::Own(find_ibans),
    labels: Labels::NONE,
    probe: None,
    votes: false,
    max_len: 512,
    prepare: None,
};

pub(crate) const ROUTING: Detector = Detector {
    kind: super::Kind::Routing,
    name: "US_BANK_ROUTING_MICR",
    uuid: "f4e6d9c3-8dab-4caf-ad76-5b4abe912d44",
    find: Find::Digits {
        pattern: ABA_PATTERN,
        shape: aba,
        may: |st: &RunStats| st.nine,
        regex_if: super::always,
        fallback: None,
        also: None,
    },
    labels: Labels {
        hot: ABA_HOT,
        neg: &["ssn", "social", "phone", "tel", "mobile"],
        generic: true,
        window: 40,
    },
    probe: None,
    votes: false,
    max_len: 512,
    prepare: None,
};

/// IBAN candidates without a regex: two capitals and two digits at a word
/// start, then the shape check (country length, mod-97).
fn find_ibans(buf: &[u8], lo: usize, hi: usize, judge: &mut Judge<'_>, out: &mut Vec<Hit>) {
    // Driven by digits (rarer than capitals): the check digits sit at +2.
    let end = (hi + 2).min(buf.len().saturating_sub(8));
    let mut i = lo + 2;
    while i < end {
        i = super::next_digit(buf, i, end);
        if i >= end {
            break;
        }
        let s = i - 2;
        if buf[s].is_ascii_uppercase()
            && buf[s + 1].is_ascii_uppercase()
            && buf[i + 1].is_ascii_digit()
            && (s == 0 || !is_word(buf[s - 1]))
            && s < hi
        {
            if let Some(h) = iban(buf, s, s + 4).and_then(&mut *judge) {
                out.push(h);
                i = h.end + 2;
                continue;
            }
        }
        i += 1;
    }
}

pub(crate) const ABA_PATTERN: &str = r"[0-9]{9}";

const ABA_HOT: &[&str] = &[
    "routing", "aba", "rtn", "transit", "micr", "bank", "ach", "wire",
];

/// IBAN length by country (SWIFT IBAN registry).
const IBAN_LEN: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// ISO 7064 mod 97-10 over an IBAN without spaces.
pub fn iban_mod97(iban: &[u8]) -> bool {
    let mut r = 0u32;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    r == 1
}

/// An IBAN starting at `s`: the country's length, then ISO 7064 mod-97.
pub(crate) fn iban(buf: &[u8], s: usize, _e: usize) -> Option<Shape> {
    if s > 0 && is_word(buf[s - 1]) {
        return None;
    }
    let cc = std::str::from_utf8(&buf[s..s + 2]).ok()?;
    let len = IBAN_LEN.iter().find(|(c, _)| *c == cc)?.1;
    let grouped = buf[s + 4] == b' ';
    let mut chars = Vec::with_capacity(len);
    let mut i = s;
    while chars.len() < len {
        let b = *buf.get(i)?;
        if grouped && chars.len() % 4 == 0 && !chars.is_empty() && b == b' ' {
            i += 1;
            continue;
        }
        if !(b.is_ascii_digit() || b.is_ascii_uppercase()) {
            return None;
        }
        chars.push(b);
        i += 1;
    }
    if buf.get(i).is_some_and(|&b| is_word(b)) {
        return None;
    }
    if !iban_mod97(&chars) {
        return None;
    }
    Some(Shape::new(s, i, Form::Proven))
}

/// ABA routing-number checksum (weights 3, 7, 1) and valid prefix.
pub fn aba_ok(d: &[u8]) -> bool {
    if d.len() != 9 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let p = u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0');
    if !matches!(p, 0..=12 | 21..=32 | 61..=72 | 80) {
        return false;
    }
    let w = [3u32, 7, 1];
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &c)| u32::from(c - b'0') * w[i % 3])
        .sum();
    sum.is_multiple_of(10) && d.iter().any(|&c| c != d[0])
}

/// A routing number: 9 digits, a Federal Reserve prefix and the 3-7-1
/// checksum (one number in ten passes it by chance: sure only labelled).
fn aba(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    if !numeric_start_ok(buf, s) || !numeric_end_ok(buf, e) || !aba_ok(&buf[s..e]) {
        return None;
    }
    Some(Shape::new(s, e, Form::Keyed))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::{first, Kind};
    use dlp_core::Confidence;

    fn iban(text: &str) -> Option<String> {
        first(Kind::Iban, text).map(|f| f.0)
    }

    #[test]
    fn ibans() {
        assert_eq!(
            iban("IBAN DE89370400440532013000."),
            Some("DE89370400440532013000".into())
        );
        assert_eq!(
            iban("GB82 WEST 1234 5698 7654 32 ok"),
            Some("GB82 WEST 1234 5698 7654 32".into())
        );
        assert_eq!(iban("DE89370400440532013001"), None, "mod-97 fails");
        assert_eq!(iban("DE8937040044053201300"), None, "too short");
        assert_eq!(iban("XX89370400440532013000"), None, "unknown country");
    }

    #[test]
    fn routing_numbers() {
        assert!(aba_ok(b"011000015"));
        assert!(aba_ok(b"121000358"));
        assert!(!aba_ok(b"121000359"), "checksum");
        assert!(!aba_ok(b"500000005"), "prefix 50");
        assert_eq!(
            first(Kind::Routing, "Routing number: 121000358\n")
                .unwrap()
                .1,
            Confidence::VeryLikely
        );
        assert_eq!(
            first(Kind::Routing, "count 121000358\n").unwrap().1,
            Confidence::Possible
        );
    }
}
