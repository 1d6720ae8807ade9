//! The offline engine's side of the rule language: its default rule,
//! `--detector` shorthands limited to what it implements, and warnings
//! about rules that load but cannot run offline. Reading and checking the
//! rules themselves is the wire format's business (`nfapi::load`).

use dlp_record::Confidence;
use nfapi::rules::{DetectionRule, Detector, DetectorType};

use crate::builtin::Kind;

pub use nfapi::load::load_rules;
use nfapi::load::{tutorial_rule, MAX_FILE_SCAN_RULES};

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
/// `ALL` means every implemented detector) at `min` confidence; a name this
/// engine does not implement is refused.
pub fn shorthand_rules(
    detectors: &[String],
    min: Confidence,
) -> anyhow::Result<Vec<DetectionRule>> {
    let known: Vec<&str> = Kind::all().map(|k| k.name()).collect();
    Ok(nfapi::load::shorthand_rules(detectors, min, &known)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfapi::load::parse_rules;

    #[test]
    fn presets_and_shorthands_stay_within_the_engine() {
        assert_eq!(default_rules()[0].detectors.len(), 4);
        assert_eq!(
            default_rules()[0].detectors[..3],
            tutorial_rule().detectors[..]
        );
        let s = shorthand_rules(
            &["credit_card_number,API_KEY".into(), "API_KEY".into()],
            Confidence::Possible,
        )
        .unwrap();
        assert_eq!(s[0].detectors.len(), 2);
        assert!(shorthand_rules(&["BOGUS".into()], Confidence::Likely).is_err());
        // documented by Nightfall but not implemented offline
        let e = shorthand_rules(&["PERSON_NAME".into()], Confidence::Likely).unwrap_err();
        assert!(
            e.to_string().contains("unknown detector \"PERSON_NAME\""),
            "{e}"
        );
        let all = shorthand_rules(&["ALL".into()], Confidence::Likely).unwrap();
        assert_eq!(all[0].detectors.len(), Kind::all().count());
        let warn = rule_warnings(
            &parse_rules(br#"[{"detectors":[{"nightfallDetector":"PERSON_NAME"}]}]"#).unwrap(),
        );
        assert_eq!(warn.len(), 1);
    }
}
