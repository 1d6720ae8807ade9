//! Loading and checking rule files, and the built-in rule presets
//! (the endpoint-DLP tutorial's rule, the default, `--detector` shorthands).

use std::path::Path;

use anyhow::{bail, Context};
use dlp_core::Confidence;
use serde_json::Value;

use crate::builtin::Kind;
use crate::rules::{DetectionRule, Detector, DetectorType, LogicalOp};

/// The API's limit on detection rules in one file-scan policy.
pub const MAX_FILE_SCAN_RULES: usize = 10;

/// Every `nightfallDetector` name the API documents (docs/nightfall-api.md §3.1).
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

/// Loads rules from a JSON file holding an array of rules,
/// `{"detectionRules":[...]}` or `{"policy":{"detectionRules":[...]}}`.
pub fn load_rules(path: &Path) -> anyhow::Result<Vec<DetectionRule>> {
    let text =
        std::fs::read(path).with_context(|| format!("reading rules file {}", path.display()))?;
    parse_rules(&text).with_context(|| format!("rules file {}", path.display()))
}

/// [`load_rules`] on bytes already read.
pub fn parse_rules(text: &[u8]) -> anyhow::Result<Vec<DetectionRule>> {
    let v: Value = serde_json::from_slice(text).context("not valid JSON")?;
    let list = match &v {
        Value::Array(_) => v,
        Value::Object(o) => match (o.get("detectionRules"), o.get("policy").and_then(|p| p.get("detectionRules"))) {
            (Some(r), _) | (None, Some(r)) => r.clone(),
            _ => bail!("expected an array of rules, {{\"detectionRules\":[...]}} or {{\"policy\":{{\"detectionRules\":[...]}}}}"),
        },
        _ => bail!("expected a JSON array or object at the top level"),
    };
    let Value::Array(items) = list else {
        bail!("\"detectionRules\" must be an array")
    };
    let mut rules = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let rule: DetectionRule =
            serde_json::from_value(item).with_context(|| format!("detection rule #{}", i + 1))?;
        validate_rule(&rule).with_context(|| format!("detection rule #{}", i + 1))?;
        rules.push(rule);
    }
    if rules.is_empty() {
        bail!("no detection rules");
    }
    Ok(rules)
}

fn validate_rule(rule: &DetectionRule) -> anyhow::Result<()> {
    if rule.detectors.is_empty() {
        bail!("has no detectors");
    }
    for (j, d) in rule.detectors.iter().enumerate() {
        validate_detector(d).with_context(|| format!("detector #{}", j + 1))?;
    }
    Ok(())
}

fn validate_detector(d: &Detector) -> anyhow::Result<()> {
    match d.kind() {
        Some(DetectorType::NightfallDetector) => {
            let Some(name) = d.nightfall_detector.as_deref() else {
                bail!("detectorType NIGHTFALL_DETECTOR needs \"nightfallDetector\"")
            };
            if !NIGHTFALL_DETECTORS.contains(&name) {
                bail!("unknown nightfallDetector {name:?} (e.g. CREDIT_CARD_NUMBER, US_SOCIAL_SECURITY_NUMBER, API_KEY)");
            }
        }
        Some(DetectorType::Regex) => {
            let Some(re) = &d.regex else {
                bail!("detectorType REGEX needs \"regex\": {{\"pattern\": ...}}")
            };
            crate::custom::compile(&re.pattern, re.is_case_sensitive)?;
        }
        Some(DetectorType::WordList) => {
            let Some(wl) = &d.word_list else {
                bail!("detectorType WORD_LIST needs \"wordList\": {{\"values\": [...]}}")
            };
            if wl.values.iter().all(|w| w.is_empty()) {
                bail!("word list is empty");
            }
        }
        None if d.detector_uuid.is_some() => {}
        None => bail!("needs nightfallDetector, regex, wordList or detectorUUID"),
    }
    for c in d.context_rules.iter().flatten() {
        let Some(re) = &c.regex else {
            bail!("context rule without \"regex\"")
        };
        crate::custom::compile(&re.pattern, re.is_case_sensitive).context("context rule")?;
    }
    for x in d.exclusion_rules.iter().flatten() {
        if let Some(re) = &x.regex {
            crate::custom::compile(&re.pattern, re.is_case_sensitive).context("exclusion rule")?;
        } else if x.word_list.is_none() {
            bail!("exclusion rule needs \"regex\" or \"wordList\"");
        }
    }
    Ok(())
}

/// Warnings about rules that load but will not behave as on the API:
/// detectors this engine does not implement, stored detector UUIDs, more
/// rules than a file scan accepts.
pub fn rule_warnings(rules: &[DetectionRule]) -> Vec<String> {
    let mut w = Vec::new();
    if rules.len() > MAX_FILE_SCAN_RULES {
        w.push(format!(
            "{} detection rules; Nightfall file scans accept at most {MAX_FILE_SCAN_RULES}",
            rules.len()
        ));
    }
    for d in rules.iter().flat_map(|r| &r.detectors) {
        match d.kind() {
            Some(DetectorType::NightfallDetector) => {
                let name = d.nightfall_detector.as_deref().unwrap_or_default();
                if Kind::parse(name).is_none() {
                    w.push(format!(
                        "nightfallDetector {name} is not implemented offline; it finds nothing"
                    ));
                }
            }
            None => w.push(
                "a detector given only by detectorUUID cannot run offline; it finds nothing".into(),
            ),
            _ => {}
        }
    }
    w
}

/// The endpoint-DLP tutorial's rule: card, SSN and API key at LIKELY, ANY.
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

/// The default: the tutorial rule plus CRYPTOGRAPHIC_KEY.
pub fn default_rules() -> Vec<DetectionRule> {
    let mut r = tutorial_rule();
    r.detectors.push(Detector::nightfall(
        "CRYPTOGRAPHIC_KEY",
        "Cryptographic Key",
        Confidence::Likely,
    ));
    vec![r]
}

/// One ANY rule from `--detector` names (repeatable or comma-separated;
/// `ALL` means every implemented detector) at `min` confidence.
pub fn shorthand_rules(
    detectors: &[String],
    min: Confidence,
) -> anyhow::Result<Vec<DetectionRule>> {
    let mut names: Vec<&str> = Vec::new();
    for d in detectors
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if d.eq_ignore_ascii_case("ALL") {
            names.extend(Kind::ALL.iter().map(|k| k.name()));
            continue;
        }
        let Some(k) = Kind::parse(&d.to_ascii_uppercase()) else {
            let known: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
            bail!(
                "unknown or unimplemented detector {d:?}; known: {}",
                known.join(", ")
            );
        };
        names.push(k.name());
    }
    names.dedup();
    if names.is_empty() {
        bail!("no detector names given");
    }
    let mut seen = Vec::new();
    let detectors = names
        .into_iter()
        .filter(|n| {
            let new = !seen.contains(n);
            seen.push(*n);
            new
        })
        .map(|n| Detector::nightfall(n, "", min))
        .collect();
    Ok(vec![DetectionRule {
        name: None,
        logical_op: Some(LogicalOp::Any),
        detectors,
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
            format!("{e:#}").contains("rule #1: detector #1: unknown nightfallDetector \"NOPE\""),
            "{e:#}"
        );
        let e = parse_rules(br#"[{"detectors":[{"regex":{"pattern":"(unclosed"}}]}]"#).unwrap_err();
        assert!(format!("{e:#}").contains("detector #1"), "{e:#}");
        assert!(parse_rules(b"{\"x\":1}").is_err());
        assert!(parse_rules(b"not json").is_err());
    }

    #[test]
    fn presets_match_the_tutorial() {
        let t = serde_json::to_value(tutorial_rule()).unwrap();
        assert_eq!(
            t["detectors"][1]["displayName"],
            "US Social Security Number"
        );
        assert_eq!(t["detectors"][2]["minConfidence"], "LIKELY");
        assert_eq!(t["logicalOp"], "ANY");
        assert_eq!(default_rules()[0].detectors.len(), 4);
        let s = shorthand_rules(
            &["credit_card_number,API_KEY".into(), "API_KEY".into()],
            Confidence::Possible,
        )
        .unwrap();
        assert_eq!(s[0].detectors.len(), 2);
        assert!(shorthand_rules(&["BOGUS".into()], Confidence::Likely).is_err());
        let warn = rule_warnings(
            &parse_rules(br#"[{"detectors":[{"nightfallDetector":"PERSON_NAME"}]}]"#).unwrap(),
        );
        assert_eq!(warn.len(), 1);
    }
}
