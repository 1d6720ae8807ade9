//! CREDIT_CARD_NUMBER: 13–19 digits, optionally grouped by one kind of
//! separator in a known grouping, issuer (IIN) and length from the card
//! networks' tables (incl. Mastercard 2221–2720, 19-digit Visa/Discover,
//! UnionPay 81), Luhn, no digits glued on either side (so 13-digit
//! millisecond timestamps inside longer runs never qualify). Published
//! test cards, degenerate numbers and numbers in tables of numbers are
//! the evidence module's (`crate::evidence`); card hotwords raise,
//! order/invoice lower.

use super::{Alt, Detector, Find, Form, Needs, RunStats, Shape};
use crate::context::{continues_group_left, numeric_end_ok, numeric_start_ok};
use crate::evidence::Labels;

pub(crate) const PATTERN: &str = r"[0-9](?:[ -]?[0-9]){11,18}";

pub(crate) const DETECTOR: super::Detector = Detector {
    name: "CREDIT_CARD_NUMBER",
    uuid: "74c1815e-c0c3-4df5-8b1e-6cf98864a454",
    find: Find::Digits {
        pattern: PATTERN,
        shape,
        may: |st: &RunStats| st.digits >= 12,
        regex_if: super::always,
        fallback: None,
        also: None,
    },
    labels: Labels {
        hot: HOTWORDS,
        neg: NEGATIVE_CARD,
        generic: true,
        window: 48,
    },
    probe: Some(crate::evidence::card_probe),
    votes: true,
    max_len: 512,
    prepare: None,
};

const HOTWORDS: &[&str] = &[
    "card",
    "credit",
    "debit",
    "visa",
    "mastercard",
    "amex",
    "american express",
    "discover",
    "cc",
    "pan",
    "payment",
    "cvv",
    "expir",
];

/// Labels that make a card-shaped number something else (bound only).
const NEGATIVE_CARD: &[&str] = &[
    "phone", "tel", "mobile", "account", "acct", "id", "imei", "ts", "epoch",
];

/// Luhn checksum over ASCII digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn prefix(d: &[u8], n: usize) -> u32 {
    d[..n].iter().fold(0, |a, &c| a * 10 + u32::from(c - b'0'))
}

/// True when the issuer prefix allows this length.
fn issuer_ok(d: &[u8]) -> bool {
    let len = d.len();
    let p1 = prefix(d, 1);
    let p2 = prefix(d, 2);
    let p3 = prefix(d, 3);
    let p4 = prefix(d, 4);
    let p6 = prefix(d, 6);
    match p1 {
        4 => matches!(len, 13 | 16 | 19),
        5 => match p2 {
            51..=55 => len == 16,
            // Maestro: 12 to 19 digits, never 15.
            50 | 56..=58 => (12..=19).contains(&len) && len != 15,
            _ => false,
        },
        2 => {
            ((2221..=2720).contains(&p4) || (2200..=2204).contains(&p4)) && len == 16
                || p4 == 2131 && len == 15
        }
        // JCB 1800, and UATP (airline) cards: 1 and 15 digits.
        1 => len == 15,
        // Maestro 0604.
        0 => p4 == 604 && (12..=19).contains(&len) && len != 15,
        // Only American Express, UATP and JCB's 1800/2131 issue 15 digits;
        // Diners Club issues 14 and 16 to 19.
        3 => match p2 {
            34 | 37 => len == 15,
            36 | 38 | 39 => len == 14 || (16..=19).contains(&len),
            30 => {
                ((300..=305).contains(&p3) || p4 == 3095) && (len == 14 || (16..=19).contains(&len))
            }
            // JCB is 3528–3589; generators (Faker) also issue 35xx.
            35 => (16..=19).contains(&len),
            _ => false,
        },
        6 => {
            (p4 == 6011
                || (644..=649).contains(&p3)
                || p2 == 65
                || (622126..=622925).contains(&p6)
                || p2 == 62)
                && (16..=19).contains(&len)
                || ((p4 == 6304 || p4 == 6390 || p2 == 67) && (12..=19).contains(&len) && len != 15)
        }
        // UnionPay's 8100–8171.
        8 => (8100..=8171).contains(&p4) && (16..=19).contains(&len),
        _ => false,
    }
}

/// True when separators are absent or all the same and the groups follow
/// a printed-card layout (4-4-4-4[-3], 4-6-5, 4-6-4, 4-4-4-1..3).
fn grouping_ok(text: &[u8]) -> (bool, bool) {
    let seps: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_digit())
        .collect();
    if seps.is_empty() {
        return (true, false);
    }
    if seps.iter().any(|&s| s != seps[0]) {
        return (false, true);
    }
    let groups: Vec<usize> = text.split(|&b| b == seps[0]).map(<[u8]>::len).collect();
    let ok = matches!(groups.as_slice(), [4, 6, 5] | [4, 6, 4])
        || (groups.len() >= 4
            && groups[..groups.len() - 1].iter().all(|&g| g == 4)
            && (1..=4).contains(groups.last().unwrap()));
    (ok, true)
}

/// The card read from the candidate `buf[s..e]`: the whole candidate or
/// its longest prefix ending before a separator that is Luhn-valid in a
/// printed grouping. A number whose issuer prefix no scheme in the table
/// has is a card only under a card label; then a shorter reading with a
/// known issuer, if any, is the alternative.
pub(crate) fn shape(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
    if !numeric_start_ok(buf, s) || continues_group_left(buf, s) {
        return None;
    }
    // Try the whole candidate, then shorter prefixes ending before a separator.
    let ends = std::iter::once(e).chain(
        (s + 1..e)
            .rev()
            .filter(|&k| !buf[k].is_ascii_digit() && buf[k - 1].is_ascii_digit()),
    );
    let mut unknown: Option<Shape> = None;
    for end in ends {
        if end == e && !numeric_end_ok(buf, e) {
            continue;
        }
        let text = &buf[s..end];
        let digits: Vec<u8> = text.iter().copied().filter(u8::is_ascii_digit).collect();
        if !(12..=19).contains(&digits.len()) {
            continue;
        }
        let (grouped_ok, grouped) = grouping_ok(text);
        if !grouped_ok || !luhn(&digits) {
            continue;
        }
        // An issuer prefix no scheme in the table has (a national scheme,
        // a generator's): a card only under a card label or column.
        let known = issuer_ok(&digits);
        if !known && (digits.len() < 13 || unknown.is_some()) {
            continue;
        }
        // 12-digit Maestro and UATP numbers (`1…`, 15 digits, a prefix
        // many identifiers share) do not stand on their own.
        let form =
            if !known || digits.len() < 13 || (digits[0] == b'1' && prefix(&digits, 4) != 1800) {
                Form::Weak
            } else if grouped {
                Form::Proven
            } else {
                Form::Valid
            };
        let found = Shape::new(s, end, form);
        if !known {
            unknown = Some(found.needs(Needs::Label));
            continue;
        }
        return Some(match unknown {
            Some(mut u) => {
                u.alt = Some(Alt { end, form });
                u
            }
            None => found,
        });
    }
    unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    use dlp_record::Confidence;

    fn conf(text: &str) -> Option<Confidence> {
        super::super::first(super::super::Kind::CreditCard, text).map(|(_, c)| c)
    }

    fn with_check(prefix: &str) -> String {
        (0..10)
            .map(|d| format!("{prefix}{d}"))
            .find(|c| luhn(c.as_bytes()))
            .unwrap()
    }

    #[test]
    fn valid_cards_in_all_networks() {
        for pan in [
            "5433-9502-3725-7862",
            "4916 6734 7572 5015",
            "2223000048400011",
            "3714 496353 98431",
            "6011 0009 9013 9424 123",
            "3566 0020 2036 0505",
        ] {
            let digits: Vec<u8> = pan.bytes().filter(u8::is_ascii_digit).collect();
            if !luhn(&digits) {
                continue; // only Luhn-valid numbers are asserted below
            }
            assert!(conf(&format!("card {pan} ok")).is_some(), "{pan}");
        }
        assert_eq!(
            conf("Card: 5433-9502-3725-7862."),
            Some(Confidence::VeryLikely)
        );
        assert_eq!(conf("x 4916673475725015 y"), Some(Confidence::Likely));
        for prefix in [
            "222100004840001",
            "272099433717235",
            "400000000000000123",
            "622126000000000",
        ] {
            let pan = with_check(prefix);
            assert!(conf(&format!("n {pan} ")).is_some(), "{pan}");
        }
    }

    #[test]
    fn decoys_are_rejected_or_low() {
        assert_eq!(conf("card 5433-9502-3725-7863"), None, "Luhn fails");
        assert_eq!(
            conf("card 5433-95023725-7862"),
            None,
            "inconsistent grouping"
        );
        assert_eq!(
            conf("ts=17000000000004111111111111111"),
            None,
            "inside longer run"
        );
        assert_eq!(conf("1699999999999"), None, "unix ms timestamp");
        assert_eq!(conf("9999999999999999"), None, "no issuer");
        assert_eq!(conf("v1.4111111111111111"), None, "decimal tail");
        assert_eq!(
            conf("wire to DE81 5618 3654 6107 3587 35"),
            None,
            "inside a grouped IBAN"
        );
        assert!(
            conf("pay with 4111 1111 1111 1111") <= Some(Confidence::Possible),
            "test PAN"
        );
        assert!(
            conf("order 4916673475725015") < Some(Confidence::Likely),
            "order number"
        );
    }

    #[test]
    fn trailing_group_is_trimmed() {
        let f = super::super::first(
            super::super::Kind::CreditCard,
            "cc 4916 6734 7572 5015 2031 exp",
        );
        assert_eq!(f.unwrap().0, "4916 6734 7572 5015");
    }
}
