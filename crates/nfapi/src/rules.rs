//! Nightfall's inline detection-rule JSON (docs/nightfall-api.md §3) as serde
//! types, so one rules file drives both `nf-upload --rules` (sent to the
//! real API) and `pii-scan --rules` (run offline by `crates/detect`).
//!
//! Wire names are camelCase and enum values SCREAMING_SNAKE_CASE, exactly
//! as the SDKs send them. On input, `null`, `""` and an absent field mean
//! the same thing (the Go and Java SDKs send the first two); a value
//! outside an enum is an error that names the value and the accepted ones;
//! fields this crate does not know are ignored, as the service does (§3).
//! On output, unset fields are omitted.

use dlp_record::Confidence;
use serde::{Deserialize, Serialize};

use crate::lenient;

/// How a rule combines its detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogicalOp {
    /// The rule fires when any detector reaches its `minNumFindings`.
    #[default]
    Any,
    /// The rule fires only when every detector does.
    All,
}

/// A detection rule: a named set of detectors and how they combine.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectionRule {
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub logical_op: Option<LogicalOp>,
    #[serde(default)]
    pub detectors: Vec<Detector>,
}

/// Kind of detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DetectorType {
    NightfallDetector,
    Regex,
    WordList,
}

/// One detector inside a rule.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detector {
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub min_num_findings: Option<u32>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub min_confidence: Option<Confidence>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub detector_type: Option<DetectorType>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub nightfall_detector: Option<String>,
    #[serde(rename = "detectorUUID", alias = "detectorUuid")]
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub detector_uuid: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub regex: Option<RegexSpec>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub word_list: Option<WordList>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub context_rules: Option<Vec<ContextRule>>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub exclusion_rules: Option<Vec<ExclusionRule>>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub redaction_config: Option<RedactionConfig>,
}

/// An RE2-style pattern.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegexSpec {
    #[serde(default)]
    pub pattern: String,
    #[serde(default)]
    pub is_case_sensitive: bool,
}

/// A list of literal words.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WordList {
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub is_case_sensitive: bool,
}

/// Sets a finding's confidence when `regex` matches near it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextRule {
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub regex: Option<RegexSpec>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub proximity: Option<Proximity>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub confidence_adjustment: Option<ConfidenceAdjustment>,
}

/// Bytes before and after a finding that a context rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proximity {
    #[serde(default)]
    pub window_before: u32,
    #[serde(default)]
    pub window_after: u32,
}

/// The confidence a matching context rule imposes.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfidenceAdjustment {
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub fixed_confidence: Option<Confidence>,
}

/// Whether an exclusion must match the whole finding or part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MatchType {
    #[default]
    Full,
    Partial,
}

/// Kind of exclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExclusionType {
    Regex,
    WordList,
}

/// Drops findings that match a regex or a word list.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExclusionRule {
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub match_type: Option<MatchType>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub exclusion_type: Option<ExclusionType>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub regex: Option<RegexSpec>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub word_list: Option<WordList>,
}

/// How to redact a finding (one of the configs is expected).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedactionConfig {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remove_finding: bool,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub mask_config: Option<MaskConfig>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub substitution_config: Option<SubstitutionConfig>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub info_type_substitution_config: Option<InfoTypeSubstitutionConfig>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub crypto_config: Option<CryptoConfig>,
}

/// Masks characters of the finding.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MaskConfig {
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub masking_char: Option<String>,
    #[serde(default)]
    pub num_chars_to_leave_unmasked: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chars_to_ignore: Vec<String>,
    /// GO/JAVA/NODE spelling; PY sends `maskRightToLeft` (both accepted).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mask_left_to_right: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask_right_to_left: Option<bool>,
}

/// Replaces the finding by a phrase.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubstitutionConfig {
    #[serde(default)]
    pub substitution_phrase: String,
}

/// Replaces the finding by its detector's name (an empty object on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InfoTypeSubstitutionConfig {}

/// Encrypts the finding with an RSA public key (PEM).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CryptoConfig {
    #[serde(default)]
    pub public_key: String,
}

impl Detector {
    /// The effective detector type: explicit, or implied by the fields set
    /// (as the Python SDK does).
    pub fn kind(&self) -> Option<DetectorType> {
        self.detector_type.or(if self.nightfall_detector.is_some() {
            Some(DetectorType::NightfallDetector)
        } else if self.regex.is_some() {
            Some(DetectorType::Regex)
        } else if self.word_list.is_some() {
            Some(DetectorType::WordList)
        } else {
            None
        })
    }

    /// A built-in detector at `min` confidence, `minNumFindings` 1.
    pub fn nightfall(name: &str, display: &str, min: Confidence) -> Self {
        Detector {
            min_num_findings: Some(1),
            min_confidence: Some(min),
            display_name: (!display.is_empty()).then(|| display.to_owned()),
            detector_type: Some(DetectorType::NightfallDetector),
            nightfall_detector: Some(name.to_owned()),
            ..Detector::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_empty_and_absent_are_alike_and_omitted_on_output() {
        let a: Detector = serde_json::from_str(
            r#"{"minConfidence":"LIKELY","nightfallDetector":"API_KEY","displayName":"","regex":null,"detectorUUID":""}"#,
        )
        .unwrap();
        assert_eq!(a.display_name, None);
        assert_eq!(a.regex, None);
        assert_eq!(a.detector_uuid, None);
        assert_eq!(a.kind(), Some(DetectorType::NightfallDetector));
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"minConfidence":"LIKELY","nightfallDetector":"API_KEY"}"#
        );
    }

    #[test]
    fn full_rule_round_trips() {
        let src = r#"{"name":"r","logicalOp":"ALL","detectors":[{"minNumFindings":2,"minConfidence":"POSSIBLE","displayName":"Tok","detectorType":"REGEX","regex":{"pattern":"tok_[a-z]+","isCaseSensitive":true},"contextRules":[{"regex":{"pattern":"x","isCaseSensitive":false},"proximity":{"windowBefore":5,"windowAfter":5},"confidenceAdjustment":{"fixedConfidence":"VERY_LIKELY"}}],"exclusionRules":[{"matchType":"PARTIAL","exclusionType":"WORD_LIST","wordList":{"values":["test"],"isCaseSensitive":false}}],"redactionConfig":{"maskConfig":{"maskingChar":"*","numCharsToLeaveUnmasked":2,"maskLeftToRight":true}}}]}"#;
        let r: DetectionRule = serde_json::from_str(src).unwrap();
        let back: serde_json::Value = serde_json::to_value(&r).unwrap();
        let orig: serde_json::Value = serde_json::from_str(src).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn redaction_configs_are_typed() {
        for src in [
            r#"{"removeFinding":true,"infoTypeSubstitutionConfig":{}}"#,
            r#"{"cryptoConfig":{"publicKey":"-----BEGIN PUBLIC KEY-----"}}"#,
            r#"{"substitutionConfig":{"substitutionPhrase":"[REDACTED]"}}"#,
            r#"{"maskConfig":{"maskingChar":"*","numCharsToLeaveUnmasked":3,"charsToIgnore":["-"],"maskRightToLeft":true}}"#,
        ] {
            let r: RedactionConfig = serde_json::from_str(src).unwrap();
            assert_eq!(serde_json::to_string(&r).unwrap(), src);
        }
        let r: RedactionConfig =
            serde_json::from_str(r#"{"infoTypeSubstitutionConfig":{}}"#).unwrap();
        assert_eq!(
            r.info_type_substitution_config,
            Some(InfoTypeSubstitutionConfig {})
        );
        assert!(
            serde_json::from_str::<RedactionConfig>(r#"{"cryptoConfig":{"publicKey":7}}"#).is_err()
        );
    }
}
