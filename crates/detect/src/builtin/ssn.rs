//! US_SOCIAL_SECURITY_NUMBER: AAA-GG-SSSS with the SSA's never-issued
//! values rejected (area 000, 666, 900–999; group 00; serial 0000).
//! Dashed or spaced numbers are likely on their own; a plain 9-digit run
//! needs an SSN hotword nearby. Advertising/"misused" numbers (078-05-1120
//! and friends) and placeholder shapes are the evidence module's.

use super::{Detector, Find, Form, RunStats, Shape};
use crate::context::{continues_group_left, numeric_end_ok, numeric_start_ok};
use crate::evidence::Labels;

pub(crate) const PATTERN: &str = r"[0-9]{3}[- .][0-9]{2}[- .][0-9]{4}|[0-9]{9}";

pub(crate) const DETECTOR: Detector = Detector {
    name: "US_SOCIAL_SECURITY_NUMBER",
    uuid: "e30d9a87-f6c7-46b9-a8f4-16547901e069",
    find: Find::Digits {
        pattern: PATTERN,
        shape,
        may: |st: &RunStats| st.nine || (st.digits >= 9 && st.longest >= 3 && st.longest < 9),
        regex_if: super::always,
        fallback: None,
        also: None,
    },
    labels: Labels {
        hot: HOTWORDS,
        neg: NEGATIVE_SSN,
        generic: true,
        window: 40,
    },
    probe: Some(crate::evidence::ssn_probe),
    votes: true,
    max_len: 512,
    prepare: None,
};

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

/// True when the SSA could have issued this number.
pub(crate) fn issuable(d: &[u8]) -> bool {
    let area = &d[0..3];
    area != b"000" && area != b"666" && area[0] != b'9' && &d[3..5] != b"00" && &d[5..9] != b"0000"
}

/// An SSN the SSA could have issued, dashed or spaced (`536-22-8726`:
/// valid alone) or a bare or dotted run (`536228726`: sure only with a
/// label).
pub(crate) fn shape(buf: &[u8], s: usize, e: usize) -> Option<Shape> {
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
    // Dots are a rare way to write an SSN (`078.05.1123`): as weak as
    // bare digits but for a label or keyword.
    let form = if plain || text[3] == b'.' {
        Form::Bare
    } else {
        Form::Valid
    };
    Some(Shape::new(s, e, form))
}

#[cfg(test)]
mod tests {

    use dlp_record::Confidence;

    fn conf(text: &str) -> Option<Confidence> {
        super::super::first(super::super::Kind::Ssn, text).map(|(_, c)| c)
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
