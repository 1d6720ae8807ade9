//! A record's text made safe to hand to a person: a finding masked to its
//! last characters (findings-csv `--redact`, the HTML report), and a cell
//! that a spreadsheet would run as a formula (CSV formula injection), so
//! that every tool that shows findings masks them and quotes cells alike.

use std::borrow::Cow;

/// OWASP CSV-injection advice: a cell that a spreadsheet could read as a
/// formula (leading `=`, `+`, `-`, `@`, tab or carriage return) is
/// prefixed with a single quote so it is shown as text.
pub fn neutralise(cell: Cow<'_, str>) -> Cow<'_, str> {
    match is_formula(cell.as_bytes()) {
        true => Cow::Owned(format!("'{cell}")),
        false => cell,
    }
}

/// True for a cell that [`neutralise`] prefixes.
pub fn is_formula(cell: &[u8]) -> bool {
    matches!(
        cell.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// Masks all but the last four characters of `s` with `*` (all of it when
/// it has four characters or fewer, so a short secret never shows whole).
pub fn mask(s: &str) -> String {
    let (stars, kept) = mask_parts(s);
    "*".repeat(stars) + kept
}

/// How [`mask`] cuts `s`: the number of characters it hides and the tail
/// it keeps (the last four characters, or nothing).
pub fn mask_parts(s: &str) -> (usize, &str) {
    let n = s.chars().count();
    let keep = if n > 4 { 4 } else { 0 };
    let start = s.char_indices().nth(n - keep).map_or(s.len(), |(i, _)| i);
    (n - keep, &s[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises_formula_leaders_only() {
        for bad in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(Cow::Borrowed(bad)), format!("'{bad}"));
        }
        for ok in ["", "plain", "4111 1111", " =x", "'=x"] {
            assert_eq!(neutralise(Cow::Borrowed(ok)), ok);
        }
    }

    #[test]
    fn masks_keep_last_four() {
        assert_eq!(mask("5433-9502-3725-7862"), "***************7862");
        assert_eq!(mask("abcd"), "****");
        assert_eq!(mask("ñañañaña"), "****ñaña");
        assert_eq!(mask(""), "");
        assert_eq!(mask_parts("ñañañaña"), (4, "ñaña"));
        assert_eq!(mask_parts("abc"), (3, ""));
    }
}
