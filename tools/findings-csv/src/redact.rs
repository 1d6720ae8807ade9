//! Redaction of a finding's copies in its context (the mask and the
//! formula check are `dlp_record::safety`'s).

use std::borrow::Cow;

/// Replaces every copy of `finding` in `text` with `masked`.
pub fn redact_copies<'a>(text: Cow<'a, str>, finding: &str, masked: &str) -> Cow<'a, str> {
    if finding.is_empty() || !text.contains(finding) {
        return text;
    }
    Cow::Owned(text.replace(finding, masked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_of_the_finding_are_replaced() {
        assert_eq!(
            redact_copies(Cow::Borrowed("x 1234 y 1234"), "1234", "****"),
            "x **** y ****"
        );
    }
}
