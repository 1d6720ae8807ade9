//! How a finding's text is kept for the page: masked by default (all but
//! the last 4 characters, as findings-csv masks: `dlp_record::safety`), in
//! a fixed 24 bytes whatever the finding's length; in full with `--unmasked`, cut to
//! [`FULL_BYTES`].

use dlp_record::safety::mask_parts;
use dlp_record::text::cut_middle;

/// Bytes of an unmasked finding kept for display.
pub const FULL_BYTES: usize = 256;
/// Masked findings longer than this many characters are shown shortened.
const STARS_SHOWN: u32 = 40;

/// A finding's text as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// `stars` asterisks, then the last characters (`tail[..len]`).
    Masked { stars: u32, tail: [u8; 16], len: u8 },
    /// The text itself (cut).
    Full(Box<str>),
}

impl Shown {
    /// `text` masked, or in full when `unmasked`.
    pub fn new(text: &str, unmasked: bool) -> Shown {
        if unmasked {
            return Shown::Full(cut_middle(text, FULL_BYTES).into());
        }
        let (stars, kept) = mask_parts(text);
        let kept = kept.as_bytes();
        let mut tail = [0u8; 16];
        tail[..kept.len()].copy_from_slice(kept);
        Shown::Masked {
            stars: u32::try_from(stars).unwrap_or(u32::MAX),
            tail,
            len: kept.len() as u8,
        }
    }

    /// The display text: a very long masked finding keeps its length as
    /// a number (`****…(4,096 characters)…ABCD`).
    pub fn text(&self) -> String {
        match self {
            Shown::Full(s) => s.to_string(),
            Shown::Masked { stars, tail, len } => {
                let tail = std::str::from_utf8(&tail[..*len as usize]).unwrap_or("");
                if *stars <= STARS_SHOWN {
                    format!("{}{tail}", "*".repeat(*stars as usize))
                } else {
                    format!("{}…({stars} masked)…{tail}", "*".repeat(8))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_like_findings_csv() {
        for s in ["536-22-8726", "abcd", "ñañañaña", "", "sk_live_0123456789"] {
            assert_eq!(
                Shown::new(s, false).text(),
                dlp_record::safety::mask(s),
                "{s}"
            );
        }
        assert_eq!(Shown::new("4111-1111", true).text(), "4111-1111");
    }

    #[test]
    fn long_findings_stay_small() {
        let key = "A".repeat(5000) + "WXYZ";
        assert_eq!(
            Shown::new(&key, false).text(),
            "********…(5000 masked)…WXYZ"
        );
        assert!(Shown::new(&key, true).text().len() <= FULL_BYTES);
        assert!(std::mem::size_of::<Shown>() <= 24);
    }
}
