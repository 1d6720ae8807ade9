//! IBAN_CODE (country-specific length + ISO 7064 mod-97) and
//! US_BANK_ROUTING_MICR (ABA 3-7-1 checksum + Federal Reserve prefixes).

use dlp_core::Confidence;

use super::{adjust, Hit};
use crate::context::{evidence, is_word, numeric_end_ok, numeric_start_ok};
use crate::structure::Cx;

pub(crate) const IBAN_PATTERN: &str = r"[A-Z]{2}[0-9]{2} ?[A-Z0-9]{4}";
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

pub(crate) fn check_iban(buf: &[u8], s: usize, _e: usize) -> Option<Hit> {
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
    Some(Hit::new(s, i, Confidence::VeryLikely))
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

pub(crate) fn check_aba(buf: &[u8], s: usize, e: usize, cx: &Cx) -> Option<Hit> {
    if !numeric_start_ok(buf, s) || !numeric_end_ok(buf, e) || !aba_ok(&buf[s..e]) {
        return None;
    }
    let ev = evidence(
        buf,
        s,
        e,
        40,
        cx.header(s),
        ABA_HOT,
        &["ssn", "social", "phone", "tel", "mobile"],
        true,
    );
    let (hot, neg) = (ev.up(), ev.down());
    let c = if hot {
        Confidence::VeryLikely
    } else {
        Confidence::Possible
    };
    Some(Hit::new(s, e, adjust(c, false, neg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iban(text: &str) -> Option<String> {
        let re = regex::bytes::Regex::new(IBAN_PATTERN).unwrap();
        let b = text.as_bytes();
        let r = re
            .find_iter(b)
            .find_map(|m| check_iban(b, m.start(), m.end()))
            .map(|h| text[h.start..h.end].to_owned());
        r
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
        let b = b"Routing number: 121000358\n";
        assert_eq!(
            check_aba(b, 16, 25, &Cx::none()).unwrap().confidence,
            Confidence::VeryLikely
        );
        let b = b"count 121000358\n";
        assert_eq!(
            check_aba(b, 6, 15, &Cx::none()).unwrap().confidence,
            Confidence::Possible
        );
    }
}
