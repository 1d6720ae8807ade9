//! Rule files, rule presets and the checks the API applies to inline rules
//! (docs/nightfall-api.md §3), so a bad rules file is refused with a clear
//! message before anything is uploaded: by `nf-upload` before it sends the
//! rules, by `crates/detect` before it runs them offline, by `nf-emulator`
//! as the 400 the service would answer.

use std::path::Path;

use dlp_record::Confidence;

use crate::rules::{DetectionRule, Detector, DetectorType, LogicalOp};

/// The API's limit on inline detection rules, and on rule UUIDs, in one
/// file-scan policy (§2.4).
pub const MAX_FILE_SCAN_RULES: usize = 10;

/// Every `nightfallDetector` name the API documents (§3.1).
pub const NIGHTFALL_DETECTORS: &[&str] = &[
    "AMERICAN_BANKERS_CUSIP_ID",
    "API_KEY",
    "CANADA_BANK_ACCOUNT",
    "CANADA_BC_PHN",
    "CANADA_DRIVERS_LICENSE_NUMBER",
    "CANADA_GOVERNMENT_ID",
    "CANADA_OHIP",
    "CANADA_PASSPORT",
    "CANADA_PERMANENT_RESIDENT_NUMBER",
    "CANADA_QUEBEC_HIN",
    "CANADA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_CARD_NUMBER",
    "CRYPTOGRAPHIC_KEY",
    "DATABASE_CONNECTION_STRING",
    "DATE",
    "DATE_OF_BIRTH",
    "EMAIL_ADDRESS",
    "FDA_NATIONAL_DRUG_NAME",
    "FRANCE_CNI",
    "FRANCE_INSEE",
    "FRANCE_PASSPORT",
    "GCP_CREDENTIALS",
    "GERMANY_IDENTITY_NUMBER",
    "GERMANY_PASSPORT",
    "HIPAA_DEFINED_PII",
    "IBAN_CODE",
    "ICD10_CODE",
    "ICD10_DIAGNOSIS_DESCRIPTION",
    "ICD9_CODE",
    "ICD9_DIAGNOSIS_DESCRIPTION",
    "IMEI_HARDWARE_ID",
    "IP_ADDRESS",
    "IRELAND_PASSPORT",
    "IRELAND_PPSN",
    "LOCATION",
    "MAC_ADDRESS",
    "PASSWORD_IN_CODE",
    "PERSON_NAME",
    "PHONE_NUMBER",
    "PROTECTED_HEALTH_INFORMATION",
    "RANDOMLY_GENERATED_TOKEN",
    "SCOTLAND_COMMUNITY_HEALTH_INDEX_NUMBER",
    "STREET_ADDRESS",
    "SWIFT_CODE",
    "UK_DRIVERS_LICENSE_NUMBER",
    "UK_ELECTORAL_ROLL_NUMBER",
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_PASSPORT",
    "UK_TAXPAYER_REFERENCE",
    "US_BANK_ROUTING_MICR",
    "US_DRIVERS_LICENSE_NUMBER",
    "US_EMPLOYER_IDENTIFICATION_NUMBER",
    "US_HEALTHCARE_NPI",
    "US_HEALTH_INSURANCE_CLAIM_NUMBER",
    "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER",
    "US_MEDICARE_BENEFICIARY_IDENTIFIER",
    "US_PASSPORT",
    "US_SOCIAL_SECURITY_NUMBER",
    "US_VEHICLE_IDENTIFICATION_NUMBER",
    "BRAZIL_BUSINESS_TAX_ID_NUMBER",
    "BRAZIL_CPF_NUMBER",
];

/// Why rules were refused; the message says where
/// (`detection rule #2: detector #1: unknown nightfallDetector "NOPE" …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(pub String);

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

fn err<T>(msg: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError(msg.into()))
}

fn within<T>(r: Result<T, RuleError>, what: impl std::fmt::Display) -> Result<T, RuleError> {
    r.map_err(|e| RuleError(format!("{what}: {e}")))
}

/// The ways a rules file may hold its rules: a bare array,
/// `{"detectionRules": [...]}`, or a whole scan request
/// `{"policy": {"detectionRules": [...]}}`. Only the shape is read here
/// (the fields are never looked at); the rules are then read with their
/// types, so a bad value is reported with its position.
#[allow(dead_code)]
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum RulesFile {
    List(Vec<serde::de::IgnoredAny>),
    Rules {
        #[serde(rename = "detectionRules")]
        detection_rules: Vec<serde::de::IgnoredAny>,
    },
    Policy {
        policy: PolicyRules,
    },
}

#[allow(dead_code)]
#[derive(serde::Deserialize)]
struct PolicyRules {
    #[serde(rename = "detectionRules")]
    detection_rules: Vec<serde::de::IgnoredAny>,
}

/// Loads rules from a JSON file (the shapes [`parse_rules`] accepts).
pub fn load_rules(path: &Path) -> Result<Vec<DetectionRule>, RuleError> {
    let text = std::fs::read(path)
        .map_err(|e| RuleError(format!("reading rules file {}: {e}", path.display())))?;
    within(
        parse_rules(&text),
        format_args!("rules file {}", path.display()),
    )
}

/// Parses and checks rules: a JSON array of rules,
/// `{"detectionRules":[...]}` or `{"policy":{"detectionRules":[...]}}`.
pub fn parse_rules(text: &[u8]) -> Result<Vec<DetectionRule>, RuleError> {
    let shape: RulesFile = serde_json::from_slice(text).map_err(|e| {
        RuleError(if e.is_syntax() || e.is_eof() {
            format!("not valid JSON: {e}")
        } else {
            "expected an array of rules, {\"detectionRules\":[...]} or {\"policy\":{\"detectionRules\":[...]}}".into()
        })
    })?;
    #[derive(serde::Deserialize)]
    struct Rules {
        #[serde(rename = "detectionRules")]
        detection_rules: Vec<DetectionRule>,
    }
    #[derive(serde::Deserialize)]
    struct Policy {
        policy: Rules,
    }
    let parsed = match shape {
        RulesFile::List(_) => serde_json::from_slice::<Vec<DetectionRule>>(text),
        RulesFile::Rules { .. } => serde_json::from_slice::<Rules>(text).map(|r| r.detection_rules),
        RulesFile::Policy { .. } => {
            serde_json::from_slice::<Policy>(text).map(|p| p.policy.detection_rules)
        }
    };
    let rules = parsed.map_err(|e| RuleError(format!("invalid detection rule: {e}")))?;
    if rules.is_empty() {
        return err("no detection rules");
    }
    validate_rules(&rules)?;
    Ok(rules)
}

/// The checks the API makes on inline rules: every rule has detectors,
/// every detector says what it finds (a documented `nightfallDetector`, a
/// regex that parses, a non-empty word list, or a saved detector's UUID),
/// context and exclusion rules have something to match with.
pub fn validate_rules(rules: &[DetectionRule]) -> Result<(), RuleError> {
    for (i, rule) in rules.iter().enumerate() {
        within(
            validate_rule(rule),
            format_args!("detection rule #{}", i + 1),
        )?;
    }
    Ok(())
}

fn validate_rule(rule: &DetectionRule) -> Result<(), RuleError> {
    if rule.detectors.is_empty() {
        return err("has no detectors");
    }
    for (j, d) in rule.detectors.iter().enumerate() {
        within(validate_detector(d), format_args!("detector #{}", j + 1))?;
    }
    Ok(())
}

fn validate_detector(d: &Detector) -> Result<(), RuleError> {
    match d.kind() {
        Some(DetectorType::NightfallDetector) => {
            let Some(name) = d.nightfall_detector.as_deref() else {
                return err("detectorType NIGHTFALL_DETECTOR needs \"nightfallDetector\"");
            };
            if !NIGHTFALL_DETECTORS.contains(&name) {
                return err(format!("unknown nightfallDetector {name:?} (e.g. CREDIT_CARD_NUMBER, US_SOCIAL_SECURITY_NUMBER, API_KEY)"));
            }
        }
        Some(DetectorType::Regex) => {
            let Some(re) = &d.regex else {
                return err("detectorType REGEX needs \"regex\": {\"pattern\": ...}");
            };
            check_pattern(&re.pattern, re.is_case_sensitive)?;
        }
        Some(DetectorType::WordList) => {
            let Some(wl) = &d.word_list else {
                return err("detectorType WORD_LIST needs \"wordList\": {\"values\": [...]}");
            };
            if wl.values.iter().all(|w| w.is_empty()) {
                return err("word list is empty");
            }
        }
        None if d.detector_uuid.is_some() => {}
        None => return err("needs nightfallDetector, regex, wordList or detectorUUID"),
    }
    for c in d.context_rules.iter().flatten() {
        let Some(re) = &c.regex else {
            return err("context rule without \"regex\"");
        };
        within(
            check_pattern(&re.pattern, re.is_case_sensitive),
            "context rule",
        )?;
    }
    for x in d.exclusion_rules.iter().flatten() {
        if let Some(re) = &x.regex {
            within(
                check_pattern(&re.pattern, re.is_case_sensitive),
                "exclusion rule",
            )?;
        } else if x.word_list.is_none() {
            return err("exclusion rule needs \"regex\" or \"wordList\"");
        }
    }
    Ok(())
}

/// Checks that `pattern` is a non-empty regex in the syntax RE2 (the API)
/// and Rust's `regex` (the offline engine) share.
pub fn check_pattern(pattern: &str, case_sensitive: bool) -> Result<(), RuleError> {
    if pattern.is_empty() {
        return err("empty regex pattern");
    }
    regex_syntax::ParserBuilder::new()
        .case_insensitive(!case_sensitive)
        .build()
        .parse(pattern)
        .map(drop)
        .map_err(|e| RuleError(format!("invalid regex {pattern:?}: {e}")))
}

/// The endpoint-DLP tutorial's rule (§3): card, SSN and API key at
/// LIKELY, `logicalOp` ANY.
pub fn tutorial_rule() -> DetectionRule {
    DetectionRule {
        name: None,
        logical_op: Some(LogicalOp::Any),
        detectors: vec![
            Detector::nightfall(
                "CREDIT_CARD_NUMBER",
                "Credit Card Number",
                Confidence::Likely,
            ),
            Detector::nightfall(
                "US_SOCIAL_SECURITY_NUMBER",
                "US Social Security Number",
                Confidence::Likely,
            ),
            Detector::nightfall("API_KEY", "API Key", Confidence::Likely),
        ],
    }
}

/// One ANY rule from `--detector` names (repeatable or comma-separated,
/// any case) at `min` confidence. Names are checked against `known`, and
/// `ALL` means every name in it: a caller that sends rules to Nightfall
/// passes [`NIGHTFALL_DETECTORS`], an offline engine the names it
/// implements.
pub fn shorthand_rules(
    detectors: &[String],
    min: Confidence,
    known: &[&str],
) -> Result<Vec<DetectionRule>, RuleError> {
    let mut names: Vec<&str> = Vec::new();
    for d in detectors
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if d.eq_ignore_ascii_case("ALL") {
            names.extend(known);
            continue;
        }
        let Some(name) = known.iter().find(|k| k.eq_ignore_ascii_case(d)) else {
            return err(format!(
                "unknown detector {d:?}; known: {}",
                known.join(", ")
            ));
        };
        names.push(name);
    }
    if names.is_empty() {
        return err("no detector names given");
    }
    let mut seen: Vec<&str> = Vec::new();
    names.retain(|n| {
        let new = !seen.contains(n);
        seen.push(n);
        new
    });
    Ok(vec![DetectionRule {
        name: None,
        logical_op: Some(LogicalOp::Any),
        detectors: names
            .into_iter()
            .map(|n| Detector::nightfall(n, "", min))
            .collect(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_three_shapes_and_reports_errors_clearly() {
        let rule = r#"{"detectors":[{"nightfallDetector":"CREDIT_CARD_NUMBER","minConfidence":"LIKELY"}]}"#;
        for doc in [
            format!("[{rule}]"),
            format!(r#"{{"detectionRules":[{rule}]}}"#),
            format!(r#"{{"policy":{{"webhookURL":"x","detectionRules":[{rule}]}}}}"#),
        ] {
            assert_eq!(parse_rules(doc.as_bytes()).unwrap().len(), 1, "{doc}");
        }
        let e = parse_rules(br#"[{"detectors":[{"nightfallDetector":"NOPE"}]}]"#).unwrap_err();
        assert!(
            e.0.contains("detection rule #1: detector #1: unknown nightfallDetector \"NOPE\""),
            "{e}"
        );
        let e = parse_rules(br#"[{"detectors":[{"regex":{"pattern":"(unclosed"}}]}]"#).unwrap_err();
        assert!(
            e.0.starts_with("detection rule #1: detector #1: invalid regex \"(unclosed\""),
            "{e}"
        );
        let e = parse_rules(br#"[{"detectors":[{"regex":{"pattern":""}}]}]"#).unwrap_err();
        assert!(e.0.contains("empty regex pattern"), "{e}");
        let e = parse_rules(b"{\"x\":1}").unwrap_err();
        assert!(e.0.starts_with("expected an array of rules"), "{e}");
        let e = parse_rules(b"not json").unwrap_err();
        assert!(e.0.starts_with("not valid JSON"), "{e}");
        assert_eq!(parse_rules(b"[]").unwrap_err().0, "no detection rules");
        let e = parse_rules(br#"[{"detectors":[]}]"#).unwrap_err();
        assert_eq!(e.0, "detection rule #1: has no detectors");
        let e = parse_rules(
            br#"[{"detectors":[{"detectorType":"WORD_LIST","wordList":{"values":[""]}}]}]"#,
        )
        .unwrap_err();
        assert!(e.0.ends_with("word list is empty"), "{e}");
        let e = parse_rules(
            br#"[{"detectors":[{"detectorUUID":"u","exclusionRules":[{"matchType":"FULL"}]}]}]"#,
        )
        .unwrap_err();
        assert!(
            e.0.ends_with("exclusion rule needs \"regex\" or \"wordList\""),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_enum_value_names_the_value_and_the_choices() {
        for (doc, bad, choices) in [
            (
                r#"[{"logicalOp":"SOME","detectors":[{"nightfallDetector":"API_KEY"}]}]"#,
                "SOME",
                "`ANY` or `ALL`",
            ),
            (
                r#"[{"detectors":[{"nightfallDetector":"API_KEY","minConfidence":"SURE"}]}]"#,
                "SURE",
                "`VERY_LIKELY`",
            ),
            (
                r#"[{"detectors":[{"detectorType":"ML","nightfallDetector":"API_KEY"}]}]"#,
                "ML",
                "`WORD_LIST`",
            ),
        ] {
            let e = parse_rules(doc.as_bytes()).unwrap_err();
            assert!(e.0.starts_with("invalid detection rule: "), "{e}");
            assert!(e.0.contains(&format!("unknown variant `{bad}`")), "{e}");
            assert!(e.0.contains(choices), "{e}");
        }
        // A field of the wrong type is refused too.
        let e = parse_rules(
            br#"[{"detectors":[{"nightfallDetector":"API_KEY","minNumFindings":"two"}]}]"#,
        )
        .unwrap_err();
        assert!(e.0.contains("invalid type"), "{e}");
    }

    #[test]
    fn load_rules_names_the_file() {
        let e = load_rules(Path::new("/nonexistent/rules.json")).unwrap_err();
        assert!(
            e.0.starts_with("reading rules file /nonexistent/rules.json: "),
            "{e}"
        );
    }

    #[test]
    fn presets_match_the_tutorial() {
        let t = serde_json::to_value(tutorial_rule()).unwrap();
        assert_eq!(
            t,
            serde_json::json!({"logicalOp": "ANY", "detectors": [
                {"minNumFindings": 1, "minConfidence": "LIKELY", "displayName": "Credit Card Number",
                 "detectorType": "NIGHTFALL_DETECTOR", "nightfallDetector": "CREDIT_CARD_NUMBER"},
                {"minNumFindings": 1, "minConfidence": "LIKELY", "displayName": "US Social Security Number",
                 "detectorType": "NIGHTFALL_DETECTOR", "nightfallDetector": "US_SOCIAL_SECURITY_NUMBER"},
                {"minNumFindings": 1, "minConfidence": "LIKELY", "displayName": "API Key",
                 "detectorType": "NIGHTFALL_DETECTOR", "nightfallDetector": "API_KEY"}]})
        );
        validate_rules(&[tutorial_rule()]).unwrap();
    }

    #[test]
    fn shorthand_checks_names_against_the_given_list() {
        let s = shorthand_rules(
            &["credit_card_number,API_KEY".into(), "API_KEY".into()],
            Confidence::Possible,
            NIGHTFALL_DETECTORS,
        )
        .unwrap();
        let names: Vec<_> = s[0]
            .detectors
            .iter()
            .map(|d| d.nightfall_detector.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["CREDIT_CARD_NUMBER", "API_KEY"]);
        assert_eq!(s[0].detectors[0].min_confidence, Some(Confidence::Possible));
        let all =
            shorthand_rules(&["all".into()], Confidence::Likely, NIGHTFALL_DETECTORS).unwrap();
        assert_eq!(all[0].detectors.len(), NIGHTFALL_DETECTORS.len());
        let e = shorthand_rules(&["BOGUS".into()], Confidence::Likely, &["API_KEY"]).unwrap_err();
        assert_eq!(e.0, "unknown detector \"BOGUS\"; known: API_KEY");
        assert!(shorthand_rules(&[" , ".into()], Confidence::Likely, &["API_KEY"]).is_err());
        validate_rules(&all).unwrap();
    }
}
