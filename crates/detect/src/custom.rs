//! User-defined REGEX and WORD_LIST detectors, and the per-detector
//! context rules, exclusion rules and redaction Nightfall defines.

use anyhow::Context;
use dlp_record::Confidence;
use nfapi::rules::{Detector, ExclusionRule, MatchType, RedactionConfig, WordList};
use regex::bytes::{Regex, RegexBuilder};
use sha2::{Digest, Sha256};

/// Confidence of a custom regex or word-list match (Nightfall's own
/// findings for custom detectors report LIKELY).
pub const CUSTOM_CONFIDENCE: Confidence = Confidence::Likely;

/// Compiles an RE2-style pattern.
pub fn compile(pattern: &str, case_sensitive: bool) -> anyhow::Result<Regex> {
    if pattern.is_empty() {
        anyhow::bail!("empty regex pattern");
    }
    RegexBuilder::new(pattern)
        .case_insensitive(!case_sensitive)
        .size_limit(32 << 20)
        .build()
        .with_context(|| format!("invalid regex {pattern:?}"))
}

/// A word list as one regex; words that start/end with a word character
/// must match whole words.
pub fn word_list_regex(wl: &WordList) -> anyhow::Result<Regex> {
    let alts: Vec<String> = wl
        .values
        .iter()
        .filter(|w| !w.is_empty())
        .map(|w| {
            let b = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let pre = if b(w.chars().next()) { r"\b" } else { "" };
            let post = if b(w.chars().last()) { r"\b" } else { "" };
            format!("{pre}{}{post}", regex::escape(w))
        })
        .collect();
    compile(&format!("(?:{})", alts.join("|")), wl.is_case_sensitive)
}

/// A UUID derived from the detector's definition, stable across runs.
pub fn derived_uuid(d: &Detector) -> String {
    let key = serde_json::json!({"regex": d.regex, "wordList": d.word_list, "nightfallDetector": d.nightfall_detector});
    let h = Sha256::digest(key.to_string().as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = dlp_record::hash::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// A compiled context rule: when `re` matches within the window, the
/// finding's confidence becomes `fixed`.
#[derive(Debug, Clone)]
pub struct CompiledContext {
    pub re: Regex,
    pub before: usize,
    pub after: usize,
    pub fixed: Option<Confidence>,
}

/// A compiled exclusion rule.
#[derive(Debug, Clone)]
pub struct CompiledExclusion {
    pub re: Regex,
    /// `^(?:re)$` for FULL matches.
    pub anchored: Option<Regex>,
}

impl CompiledExclusion {
    pub fn compile(x: &ExclusionRule) -> anyhow::Result<Self> {
        let full = x.match_type.unwrap_or_default() == MatchType::Full;
        let re = match (&x.regex, &x.word_list) {
            (Some(r), _) => compile(&r.pattern, r.is_case_sensitive)?,
            (None, Some(wl)) => {
                let alts: Vec<String> = wl
                    .values
                    .iter()
                    .filter(|w| !w.is_empty())
                    .map(|w| regex::escape(w))
                    .collect();
                compile(&format!("(?:{})", alts.join("|")), wl.is_case_sensitive)?
            }
            (None, None) => anyhow::bail!("exclusion rule needs regex or wordList"),
        };
        let anchored = if full {
            let case = x
                .regex
                .as_ref()
                .map(|r| r.is_case_sensitive)
                .or(x.word_list.as_ref().map(|w| w.is_case_sensitive));
            Some(compile(
                &format!("^(?:{})$", re.as_str()),
                case.unwrap_or(false),
            )?)
        } else {
            None
        };
        Ok(CompiledExclusion { re, anchored })
    }

    /// True when the finding is excluded.
    pub fn excludes(&self, finding: &[u8]) -> bool {
        if self.anchored.is_some() {
            self.anchored.as_ref().is_some_and(|r| r.is_match(finding))
        } else {
            self.re.is_match(finding)
        }
    }
}

/// The redacted form of `finding` under `cfg`; `None` when no redaction
/// is configured or it cannot be done offline (cryptoConfig).
pub fn redact(cfg: &RedactionConfig, finding: &str, detector: &str) -> Option<String> {
    if cfg.remove_finding {
        return Some(String::new());
    }
    if let Some(s) = &cfg.substitution_config {
        return Some(s.substitution_phrase.clone());
    }
    if cfg.info_type_substitution_config.is_some() {
        return Some(format!("[{detector}]"));
    }
    let m = cfg.mask_config.as_ref()?;
    let mask = m
        .masking_char
        .as_deref()
        .and_then(|s| s.chars().next())
        .unwrap_or('*');
    let ignore: Vec<char> = m.chars_to_ignore.iter().flat_map(|s| s.chars()).collect();
    // Masking runs left to right by default and leaves the last N
    // characters visible; `maskRightToLeft: true` leaves the first N.
    let right_to_left = m.mask_right_to_left == Some(true) && !m.mask_left_to_right;
    let chars: Vec<char> = finding.chars().collect();
    let mut keep = m.num_chars_to_leave_unmasked as usize;
    let mut out = chars.clone();
    let order: Box<dyn Iterator<Item = usize>> = if right_to_left {
        Box::new(0..chars.len())
    } else {
        Box::new((0..chars.len()).rev())
    };
    for i in order {
        if ignore.contains(&chars[i]) {
            continue;
        }
        if keep > 0 {
            keep -= 1;
            continue;
        }
        out[i] = mask;
    }
    Some(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfapi::rules::{MaskConfig, SubstitutionConfig};

    #[test]
    fn masking_and_substitution() {
        let cfg = RedactionConfig {
            mask_config: Some(MaskConfig {
                masking_char: Some("#".into()),
                num_chars_to_leave_unmasked: 4,
                chars_to_ignore: vec!["-".into()],
                ..MaskConfig::default()
            }),
            ..RedactionConfig::default()
        };
        assert_eq!(redact(&cfg, "536-22-8726", "SSN").unwrap(), "###-##-8726");
        let mut ltr = cfg.clone();
        ltr.mask_config.as_mut().unwrap().mask_right_to_left = Some(true);
        assert_eq!(redact(&ltr, "536-22-8726", "SSN").unwrap(), "536-2#-####");
        let sub = RedactionConfig {
            substitution_config: Some(SubstitutionConfig {
                substitution_phrase: "[X]".into(),
            }),
            ..RedactionConfig::default()
        };
        assert_eq!(redact(&sub, "a", "b").unwrap(), "[X]");
        assert_eq!(redact(&RedactionConfig::default(), "a", "b"), None);
    }

    #[test]
    fn word_lists_and_exclusions() {
        let re = word_list_regex(&WordList {
            values: vec!["Project X".into(), "c++".into()],
            is_case_sensitive: false,
        })
        .unwrap();
        assert!(re.is_match(b"about project x."));
        assert!(!re.is_match(b"projectxx"));
        assert!(re.is_match(b"use c++ now"));
        let x = CompiledExclusion::compile(&ExclusionRule {
            match_type: Some(MatchType::Full),
            regex: Some(nfapi::rules::RegexSpec {
                pattern: "a|abc".into(),
                is_case_sensitive: true,
            }),
            ..ExclusionRule::default()
        })
        .unwrap();
        assert!(x.excludes(b"abc"));
        assert!(!x.excludes(b"abcd"));
        let u = derived_uuid(&Detector {
            regex: Some(nfapi::rules::RegexSpec {
                pattern: "x".into(),
                is_case_sensitive: false,
            }),
            ..Detector::default()
        });
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "5");
    }
}
