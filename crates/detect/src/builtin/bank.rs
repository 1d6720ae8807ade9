//! IBAN_CODE (country-specific length + ISO 7064 mod-97) and
//! US_BANK_ROUTING_MICR (ABA 3-7-1 checksum + Federal Reserve prefixes).

use super::{Detector, Find, Form, Hit, Judge, RunStats, Shape};
use crate::context::{is_word, numeric_end_ok, numeric_start_ok};
use crate::evidence::Labels;

pub(crate) const IBAN: Detector = Detector {
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

/// IBAN candidates without a regex: two letters of one case and two
/// digits at a word start (a space may follow the letters: `NO 02 …`),
/// then the shape check (country length and BBAN structure, mod-97,
/// national check digits).
fn find_ibans(buf: &[u8], lo: usize, hi: usize, judge: &mut Judge<'_>, out: &mut Vec<Hit>) {
    // Driven by digits (rarer than letters): the check digits sit at +2.
    let end = (hi + 3).min(buf.len().saturating_sub(8));
    let mut i = lo + 2;
    while i < end {
        i = super::next_digit(buf, i, end);
        if i >= end {
            break;
        }
        if buf[i + 1].is_ascii_digit() {
            // `DE89…`, or `NO 02…` with a space after the country.
            let starts = [Some(i - 2), (buf[i - 1] == b' ' && i >= 3).then(|| i - 3)];
            for s in starts.into_iter().flatten() {
                let cc = [buf[s], buf[s + 1]];
                let one_case =
                    cc.iter().all(u8::is_ascii_uppercase) || cc.iter().all(u8::is_ascii_lowercase);
                if s < lo || s >= hi || !one_case || (s > 0 && is_word(buf[s - 1])) {
                    continue;
                }
                if let Some(h) = iban(buf, s, s + 4).and_then(&mut *judge) {
                    out.push(h);
                    i = h.end + 2;
                    break;
                }
            }
            if i > end {
                break;
            }
        }
        i += 1;
    }
}

pub(crate) const ABA_PATTERN: &str = r"[0-9]{9}";

const ABA_HOT: &[&str] = &[
    "routing", "aba", "rtn", "transit", "micr", "bank", "ach", "wire",
];

/// The IBAN registry's countries: the BBAN's structure after the
/// country code and check digits, as counts of `n` (digits), `a` (upper
/// case letters) and `c` (letters or digits); the IBAN's length is 4 plus
/// the BBAN's.
const IBAN_BBAN: &[(&str, &str)] = &[
    ("AD", "4n4n12c"),
    ("AE", "3n16n"),
    ("AL", "8n16c"),
    ("AT", "5n11n"),
    ("AZ", "4a20c"),
    ("BA", "3n3n8n2n"),
    ("BE", "3n7n2n"),
    ("BG", "4a4n2n8c"),
    ("BH", "4a14c"),
    ("BI", "5n5n11n2n"),
    ("BR", "8n5n10n1a1c"),
    ("BY", "4c4n16c"),
    ("CH", "5n12c"),
    ("CR", "4n14n"),
    ("CY", "3n5n16c"),
    ("CZ", "4n6n10n"),
    ("DE", "8n10n"),
    ("DJ", "5n5n11n2n"),
    ("DK", "4n9n1n"),
    ("DO", "4c20n"),
    ("EE", "2n2n11n1n"),
    ("EG", "4n4n17n"),
    ("ES", "4n4n1n1n10n"),
    ("FI", "3n11n"),
    ("FK", "2a12n"),
    ("FO", "4n9n1n"),
    ("FR", "5n5n11c2n"),
    ("GB", "4a6n8n"),
    ("GE", "2a16n"),
    ("GI", "4a15c"),
    ("GL", "4n9n1n"),
    ("GR", "3n4n16c"),
    ("GT", "4c20c"),
    ("HN", "4a20n"),
    ("HR", "7n10n"),
    ("HU", "3n4n1n15n1n"),
    ("IE", "4a6n8n"),
    ("IL", "3n3n13n"),
    ("IQ", "4a3n12n"),
    ("IS", "4n2n6n10n"),
    ("IT", "1a5n5n12c"),
    ("JO", "4a4n18c"),
    ("KW", "4a22c"),
    ("KZ", "3n13c"),
    ("LB", "4n20c"),
    ("LC", "4a24c"),
    ("LI", "5n12c"),
    ("LT", "5n11n"),
    ("LU", "3n13c"),
    ("LV", "4a13c"),
    ("LY", "3n3n15n"),
    ("MC", "5n5n11c2n"),
    ("MD", "2c18c"),
    ("ME", "3n13n2n"),
    ("MK", "3n10c2n"),
    ("MN", "4n12n"),
    ("MR", "5n5n11n2n"),
    ("MT", "4a5n18c"),
    ("MU", "4a2n2n12n3n3a"),
    ("NI", "4a20n"),
    ("NL", "4a10n"),
    ("NO", "4n6n1n"),
    ("OM", "3n16c"),
    ("PK", "4a16c"),
    ("PL", "8n16n"),
    ("PS", "4a21c"),
    ("PT", "4n4n11n2n"),
    ("QA", "4a21c"),
    ("RO", "4a16c"),
    ("RS", "3n13n2n"),
    ("RU", "9n5n15c"),
    ("SA", "2n18c"),
    ("SC", "4a2n2n16n3a"),
    ("SD", "2n12n"),
    ("SE", "3n16n1n"),
    ("SI", "5n8n2n"),
    ("SK", "4n6n10n"),
    ("SM", "1a5n5n12c"),
    ("SO", "4n3n12n"),
    ("ST", "4n4n11n2n"),
    ("SV", "4a20n"),
    ("TL", "3n14n2n"),
    ("TN", "2n3n13n2n"),
    ("TR", "5n1n16c"),
    ("UA", "6n19c"),
    ("VA", "3n15n"),
    ("VG", "4a16n"),
    ("XK", "4n10n2n"),
];

/// The country's BBAN structure, if it is in the registry.
fn bban_spec(cc: &[u8]) -> Option<&'static str> {
    IBAN_BBAN
        .iter()
        .find(|(c, _)| c.as_bytes() == cc)
        .map(|&(_, f)| f)
}

/// The BBAN's length by its structure.
fn bban_len(spec: &str) -> usize {
    bban_runs(spec).map(|(n, _)| n).sum()
}

fn bban_runs(spec: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    spec.split_inclusive(|c: char| c.is_ascii_alphabetic())
        .map(|run| {
            let (n, class) = run.split_at(run.len() - 1);
            (n.parse().unwrap_or(0), class.as_bytes()[0])
        })
}

/// Whether `bban` (upper case) has the structure `spec`.
fn bban_ok(spec: &str, bban: &[u8]) -> bool {
    let mut i = 0;
    for (n, class) in bban_runs(spec) {
        let Some(run) = bban.get(i..i + n) else {
            return false;
        };
        let ok = |b: &u8| match class {
            b'n' => b.is_ascii_digit(),
            b'a' => b.is_ascii_uppercase(),
            _ => b.is_ascii_digit() || b.is_ascii_uppercase(),
        };
        if !run.iter().all(ok) {
            return false;
        }
        i += n;
    }
    i == bban.len()
}

/// The value of a digit string modulo `m`.
fn digits_mod(d: &[u8], m: u64) -> u64 {
    d.iter().fold(0, |r, &c| (r * 10 + u64::from(c - b'0')) % m)
}

/// The national check digits inside a BBAN (upper case, structure
/// already checked), for the countries where they are cheap to check:
/// `None` where the country has none checked here.
fn national_ok(cc: &[u8], b: &[u8]) -> Option<bool> {
    let w = |d: &[u8], weights: &[u64]| -> u64 {
        d.iter()
            .zip(weights)
            .map(|(&c, &w)| u64::from(c - b'0') * w)
            .sum()
    };
    Some(match cc {
        // Belgium: the last two digits are the first ten mod 97 (0 as 97).
        b"BE" => {
            let r = digits_mod(&b[..10], 97);
            (if r == 0 { 97 } else { r }) == digits_mod(&b[10..12], 100)
        }
        // Spain: two mod-11 digits, over `00`+bank+branch and the account.
        b"ES" => {
            const W: [u64; 10] = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6];
            let dc = |d: &[u8]| match 11 - w(d, &W) % 11 {
                11 => 0,
                10 => 1,
                x => x,
            };
            let first = [b"00".as_slice(), &b[..8]].concat();
            dc(&first) == u64::from(b[8] - b'0') && dc(&b[10..20]) == u64::from(b[9] - b'0')
        }
        // France and Monaco: the RIB key, letters of the account as digits.
        b"FR" | b"MC" => {
            let digit = |c: u8| -> u64 {
                match c {
                    b'0'..=b'9' => u64::from(c - b'0'),
                    // A-I 1-9, J-R 1-9, S-Z 2-9.
                    b'A'..=b'I' => u64::from(c - b'A' + 1),
                    b'J'..=b'R' => u64::from(c - b'J' + 1),
                    _ => u64::from(c - b'S' + 2),
                }
            };
            let num = |d: &[u8]| d.iter().fold(0u64, |r, &c| (r * 10 + digit(c)) % 97);
            let sum = 89 * num(&b[..5]) + 15 * num(&b[5..10]) + 3 * num(&b[10..21]);
            97 - sum % 97 == digits_mod(&b[21..23], 100)
        }
        // Italy and San Marino: the CIN letter over bank, branch and
        // account (odd positions through a table, even ones as values).
        b"IT" | b"SM" => {
            const ODD: [u32; 26] = [
                1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22,
                25, 24, 23,
            ];
            let value = |c: u8| -> usize {
                if c.is_ascii_digit() {
                    usize::from(c - b'0')
                } else {
                    usize::from(c - b'A')
                }
            };
            let sum: u32 = b[1..23]
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    if i % 2 == 0 {
                        ODD[value(c)]
                    } else {
                        value(c) as u32
                    }
                })
                .sum();
            b[0] == b'A' + (sum % 26) as u8
        }
        // Norway: mod 11 over the first ten digits (a remainder of 1 is
        // no valid account).
        b"NO" => {
            let r = w(&b[..10], &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) % 11;
            r != 1 && (11 - r) % 11 == u64::from(b[10] - b'0')
        }
        // Poland: the sort code's eighth digit, weights 3 9 7 1 3 9 7.
        b"PL" => (10 - w(&b[..7], &[3, 9, 7, 1, 3, 9, 7]) % 10) % 10 == u64::from(b[7] - b'0'),
        // Portugal: the NIB's last two digits, 98 - (first 19 × 100) mod 97.
        b"PT" => 98 - (digits_mod(&b[..19], 97) * 100) % 97 == digits_mod(&b[19..21], 100),
        _ => return None,
    })
}

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

/// An IBAN starting at `s`: a registry country, its length and BBAN
/// structure, ISO 7064 mod-97. Written as the registry prints it (upper
/// case, no separators or groups of four separated by spaces or dashes)
/// with its national check digits holding, or none checked: proven;
/// written otherwise (lower case, other separators or groups) or with
/// national check digits that fail (a made-up account number with a
/// computed IBAN check): valid.
pub(crate) fn iban(buf: &[u8], s: usize, _e: usize) -> Option<Shape> {
    if s > 0 && is_word(buf[s - 1]) {
        return None;
    }
    let lower = buf[s].is_ascii_lowercase();
    let cc = buf.get(s..s + 2)?.to_ascii_uppercase();
    let spec = bban_spec(&cc)?;
    let len = 4 + bban_len(spec);
    let mut chars = Vec::with_capacity(len);
    // The one separator used, and whether each sits after a group of four.
    let mut sep = None;
    let mut regular = true;
    let mut i = s;
    while chars.len() < len {
        let b = *buf.get(i)?;
        if matches!(b, b' ' | b'-' | b'.') && chars.len() >= 2 {
            let next = *buf.get(i + 1)?;
            if *sep.get_or_insert(b) != b || !next.is_ascii_alphanumeric() {
                return None;
            }
            regular &= chars.len() % 4 == 0 && b != b'.';
            i += 1;
            continue;
        }
        // One case throughout: mixed case is some other token.
        let letter_ok = if lower {
            b.is_ascii_lowercase()
        } else {
            b.is_ascii_uppercase()
        };
        if !(b.is_ascii_digit() || letter_ok) {
            return None;
        }
        chars.push(b.to_ascii_uppercase());
        i += 1;
    }
    if buf.get(i).is_some_and(|&b| is_word(b)) {
        return None;
    }
    // Groups of four end with the last group (of four or fewer).
    if sep.is_some() && regular {
        let last = buf[s..i]
            .iter()
            .rposition(|&b| Some(b) == sep)
            .map_or(0, |k| i - s - k - 1);
        regular = last <= 4;
    }
    if !iban_mod97(&chars) || !bban_ok(spec, &chars[4..]) {
        return None;
    }
    let national = national_ok(&cc, &chars[4..]);
    let form = if !lower && regular && national != Some(false) {
        Form::Proven
    } else {
        Form::Valid
    };
    Some(Shape::new(s, i, form))
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
    use dlp_record::Confidence;

    fn iban(text: &str) -> Option<String> {
        first(Kind::Iban, text).map(|f| f.0)
    }

    fn level(text: &str) -> Option<(String, Confidence)> {
        first(Kind::Iban, text)
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
    fn every_registry_country_by_its_structure() {
        use Confidence::*;
        // Registry-printed forms (the national checks hold where checked).
        for (text, want) in [
            ("BE68 5390 0754 7034", VeryLikely),
            ("ES91 2100 0418 4502 0005 1332", VeryLikely),
            ("FR14 2004 1010 0505 0001 3M02 606", VeryLikely),
            ("IT60 X054 2811 1010 0000 0123 456", VeryLikely),
            ("SM86 U032 2509 8000 0000 0270 100", VeryLikely),
            ("NO93 8601 1117 947", VeryLikely),
            ("PL61 1090 1014 0000 0712 1981 2874", VeryLikely),
            ("PT50 0002 0123 1234 5678 9015 4", VeryLikely),
            ("BG80 BNBG 9661 1020 3456 78", VeryLikely),
            // Countries newer in the registry.
            ("RU7404452522540123456789012ABCDEF", VeryLikely),
            ("SO411000001001234567890", VeryLikely),
            ("MN461234001234567890", VeryLikely),
            ("HN88CABF00000000000250005469", VeryLikely),
            ("FK88SC123456789012", VeryLikely),
            ("NI45BAPR00000013000003558124", VeryLikely),
            ("OM240180000123456789ABC", VeryLikely),
            ("LY83002048000020100120361", VeryLikely),
            ("BI4210000100010000332045181", VeryLikely),
            ("SD2129010501234001", VeryLikely),
            ("EG930019000500000026318000200", VeryLikely),
            // Dashes in groups of four, as some banks print them.
            ("ES91-2100-0418-4502-0005-1332", VeryLikely),
            // As people write them: lower case, other groups, dots.
            ("de89 3704 0044 0532 0130 00", Likely),
            ("de89370400440532013000", Likely),
            ("NO 93 86011117947", Likely),
            ("NO93 8601 11 17947", Likely),
            ("DE89.3704.0044.0532.0130.00", Likely),
            // Mod-97 holds but the national check digits fail: made up.
            ("FR8420041010050500013M02607", Likely),
            ("ES2921000418460200051332", Likely),
            ("BE41539007547035", Likely),
        ] {
            let compact: String = text.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            assert_eq!(
                level(&format!("pay to {text} today")),
                Some((text.to_string(), want)),
                "{compact}"
            );
        }
        for text in [
            // A letter where the BBAN has digits.
            "BG93 BNBG 9661 1A20 3456 78",
            // Mod-97 holds but the length is not Germany's.
            "DE5137040044053201300",
            // Mod-97 fails.
            "BE68 5390 0754 7035",
            "RU7404452522540123456789012ABCDEG",
            // Mixed case is some other token.
            "De89370400440532013000",
            "dE89370400440532013000",
            // Two separators, or one kind mixed with another.
            "DE89  3704 0044 0532 0130 00",
            "DE89 3704-0044 0532 0130 00",
        ] {
            assert_eq!(level(&format!("pay to {text} today")), None, "{text}");
        }
    }

    #[test]
    fn registry_table_lengths() {
        for (cc, len) in [("NO", 15), ("DE", 22), ("FR", 27), ("LC", 32), ("RU", 33)] {
            assert_eq!(bban_len(bban_spec(cc.as_bytes()).unwrap()) + 4, len, "{cc}");
        }
        assert!(IBAN_BBAN.len() >= 88);
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
