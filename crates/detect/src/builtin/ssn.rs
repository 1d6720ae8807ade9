//! US_SOCIAL_SECURITY_NUMBER: AAA-GG-SSSS with the SSA's never-issued
//! values rejected (area 000, 666, 900–999; group 00; serial 0000).
//! Dashed or spaced numbers are likely on their own; a plain 9-digit run
//! needs an SSN hotword nearby. Advertising/"misused" numbers (078-05-1120
//! and friends) and degenerate sequences score low.

use dlp_core::Confidence;

use super::{adjust, Hit};
use crate::context::{continues_group_left, evidence, numeric_end_ok, numeric_start_ok};
use crate::structure::Cx;

pub(crate) const PATTERN: &str = r"[0-9]{3}[- .][0-9]{2}[- .][0-9]{4}|[0-9]{9}";

const HOTWORDS: &[&str] = &[
    "ssn",
    "social security",
    "social sec",
    "soc sec",
    "ss#",
    "ss #",
    "ss no",
    "taxpayer",
];
const NEGATIVE_SSN: &[&str] = &[
    "phone", "tel", "fax", "zip", "routing", "aba", "account", "acct", "isbn", "mobile",
];

/// Numbers printed on sample cards and in advertising (SSA, stdnum).
const MISUSED: &[&str] = &[
    "078051120",
    "219099999",
    "457555462",
    "123456789",
    "111111111",
    "333333333",
    "987654320",
    "987654321",
    "987654322",
    "987654323",
    "987654324",
    "987654325",
    "987654326",
    "987654327",
    "987654328",
    "987654329",
];

/// True when the SSA could have issued this number.
pub(crate) fn issuable(d: &[u8]) -> bool {
    let area = &d[0..3];
    area != b"000" && area != b"666" && area[0] != b'9' && &d[3..5] != b"00" && &d[5..9] != b"0000"
}

pub(crate) fn check(buf: &[u8], s: usize, e: usize, cx: &Cx) -> Option<Hit> {
    if !numeric_start_ok(buf, s) || !numeric_end_ok(buf, e) || continues_group_left(buf, s) {
        return None;
    }
    let text = &buf[s..e];
    let plain = text.len() == 9;
    if !plain && text[3] != text[6] {
        return None;
    }
    let d: Vec<u8> = text.iter().copied().filter(u8::is_ascii_digit).collect();
    if !issuable(&d) {
        return None;
    }
    let ev = evidence(buf, s, e, 40, cx.header(s), HOTWORDS, NEGATIVE_SSN, true);
    let (hot, down) = (ev.up(), ev.down());
    // Dots are a rare way to write an SSN (`078.05.1123`): as weak as
    // bare digits but for a label or keyword.
    let plain = plain || text[3] == b'.';
    let base = match (plain, hot) {
        (false, true) => Confidence::VeryLikely,
        (false, false) => Confidence::Likely,
        (true, true) => Confidence::Likely,
        (true, false) => Confidence::Unlikely,
    };
    let mut c = adjust(base, false, down);
    if MISUSED.iter().any(|m| m.as_bytes() == d.as_slice()) || d.iter().all(|&x| x == d[0]) {
        c = c.min(Confidence::Unlikely);
    }
    Some(Hit::new(s, e, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Option<Confidence> {
        super::super::first_hit(PATTERN, check, text).map(|(_, c)| c)
    }

    #[test]
    fn positives() {
        assert_eq!(conf("id 536-22-8726 x"), Some(Confidence::Likely));
        assert_eq!(conf("SSN: 536-22-8726"), Some(Confidence::VeryLikely));
        assert_eq!(conf("ssn 536 22 8726"), Some(Confidence::VeryLikely));
        assert_eq!(conf("my ssn is 536228726"), Some(Confidence::Likely));
    }

    #[test]
    fn decoys() {
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-34-5678",
            "536-00-8726",
            "536-22-0000",
            "536-22 8726",
        ] {
            assert_eq!(conf(bad), None, "{bad}");
        }
        assert_eq!(
            conf("count 536228726"),
            Some(Confidence::Unlikely),
            "plain without context"
        );
        assert_eq!(
            conf("SSN 078-05-1120"),
            Some(Confidence::Unlikely),
            "Woolworth card"
        );
        assert!(conf("order 536-22-8726") < Some(Confidence::Likely));
        assert_eq!(conf("1536-22-8726"), None);
        assert_eq!(conf("2024-01-15"), None, "date");
    }
}
