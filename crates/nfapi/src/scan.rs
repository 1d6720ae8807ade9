//! The body of `POST /v3/upload/{id}/scan` (docs/nightfall-api.md §2.4):
//! an inline policy or a saved policy's UUID, and `requestMetadata`.
//! `nf-upload` writes it, `nf-emulator` reads it and answers its mistakes
//! with the service's 400s.

use serde::{Deserialize, Serialize};

use crate::load::{validate_rules, MAX_FILE_SCAN_RULES};
use crate::metadata::MAX_REQUEST_METADATA;
use crate::rules::DetectionRule;
use crate::{lenient, nullable};

/// The scan request. Exactly one of `policy` and `policy_uuid` is set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileScanRequest {
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub policy: Option<ScanPolicy>,
    #[serde(rename = "policyUUID")]
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub policy_uuid: Option<String>,
    /// Echoed verbatim in the result notification; at most 10 KB.
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub request_metadata: Option<String>,
}

/// An inline file-scan policy: what to look for and where results go.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanPolicy {
    /// The older webhook field (what the SDKs and the tutorial send).
    #[serde(rename = "webhookURL")]
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    #[serde(default, with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub detection_rules: Vec<DetectionRule>,
    /// Saved detection rules.
    #[serde(rename = "detectionRuleUUIDs")]
    #[serde(default, with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub detection_rule_uuids: Vec<String>,
    /// The newer form of the webhook, and other destinations.
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub alert_config: Option<AlertConfig>,
}

/// Where alerts go. For file scans the `url` destination receives every
/// result, with or without findings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AlertConfig {
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub url: Option<WebhookAlert>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackAlert>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailAlert>,
}

/// `alertConfig.url`: an HTTPS endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WebhookAlert {
    #[serde(default, with = "nullable")]
    pub address: String,
}

/// `alertConfig.slack`: a public channel such as `#general`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SlackAlert {
    #[serde(default, with = "nullable")]
    pub target: String,
}

/// `alertConfig.email`: an address that receives the findings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmailAlert {
    #[serde(default, with = "nullable")]
    pub address: String,
}

impl ScanPolicy {
    /// The policy of the endpoint-DLP tutorial's form: results to
    /// `webhook_url`, found with `rules`.
    pub fn inline(webhook_url: String, rules: Vec<DetectionRule>) -> Self {
        ScanPolicy {
            webhook_url: Some(webhook_url),
            detection_rules: rules,
            ..ScanPolicy::default()
        }
    }

    /// The webhook results go to: `webhookURL`, else
    /// `alertConfig.url.address` (empty values count as absent).
    pub fn webhook(&self) -> Option<&str> {
        self.webhook_url
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self
                .alert_config
                .as_ref()
                .and_then(|a| a.url.as_ref())
                .map(|u| u.address.as_str())
                .filter(|s| !s.is_empty()))
    }
}

impl FileScanRequest {
    /// The checks the service makes before it accepts a scan, with its
    /// descriptions (the 400 "Invalid Request" body's `description`): one
    /// of policy and policyUUID, metadata within 10 KB, at most 10 rules
    /// and 10 rule UUIDs but not none, every inline rule valid.
    pub fn validate(&self) -> Result<(), String> {
        if self.policy.is_some() == self.policy_uuid.is_some() {
            return Err("Exactly one of policyUUID or policy should be provided".into());
        }
        if self
            .request_metadata
            .as_ref()
            .is_some_and(|m| m.len() > MAX_REQUEST_METADATA)
        {
            return Err("requestMetadata is larger than 10 KB".into());
        }
        let Some(policy) = &self.policy else {
            return Ok(());
        };
        if policy.detection_rules.len() > MAX_FILE_SCAN_RULES
            || policy.detection_rule_uuids.len() > MAX_FILE_SCAN_RULES
        {
            return Err(format!(
                "a file scan policy takes at most {MAX_FILE_SCAN_RULES} detectionRules and {MAX_FILE_SCAN_RULES} detectionRuleUUIDs"
            ));
        }
        if policy.detection_rules.is_empty() && policy.detection_rule_uuids.is_empty() {
            return Err("detectionRuleUUIDs and detectionRules can't both be empty".into());
        }
        validate_rules(&policy.detection_rules).map_err(|e| format!("invalid detectionRules: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::tutorial_rule;
    use serde_json::{json, Value};

    /// The request of docs/nightfall-api.md §2.4 with a §3 rule in it.
    fn doc_example() -> Value {
        json!({"policy": {"webhookURL": "https://host/ingest",
                          "detectionRules": [{"name": "optional", "logicalOp": "ANY",
                              "detectors": [{"detectorType": "NIGHTFALL_DETECTOR", "nightfallDetector": "CREDIT_CARD_NUMBER",
                                             "displayName": "Credit Card Number", "minConfidence": "LIKELY", "minNumFindings": 1,
                                             "contextRules": [{"regex": {"pattern": "card", "isCaseSensitive": false},
                                                               "proximity": {"windowBefore": 10, "windowAfter": 10},
                                                               "confidenceAdjustment": {"fixedConfidence": "VERY_LIKELY"}}],
                                             "exclusionRules": [{"matchType": "FULL", "exclusionType": "WORD_LIST",
                                                                 "wordList": {"values": ["4242424242424242"], "isCaseSensitive": false}}]}]}],
                          "detectionRuleUUIDs": ["a6e8d1c4-8b8e-4f7e-9d0e-3a1b2c3d4e5f"],
                          "alertConfig": {"url": {"address": "https://host/ingest"},
                                          "slack": {"target": "#general"},
                                          "email": {"address": "a@b.c"}}},
               "requestMetadata": "{\"path\":\"/home/ana/q3.csv\"}"})
    }

    #[test]
    fn the_documented_request_round_trips() {
        let v = doc_example();
        let r: FileScanRequest = serde_json::from_value(v.clone()).unwrap();
        let p = r.policy.as_ref().unwrap();
        assert_eq!(p.webhook(), Some("https://host/ingest"));
        assert_eq!(
            p.detection_rules[0].detectors[0].display_name.as_deref(),
            Some("Credit Card Number")
        );
        assert_eq!(r.validate(), Ok(()));
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
        let by_uuid = json!({"policyUUID": "b7a3", "requestMetadata": "x"});
        let r: FileScanRequest = serde_json::from_value(by_uuid.clone()).unwrap();
        assert_eq!(r.validate(), Ok(()));
        assert_eq!(serde_json::to_value(&r).unwrap(), by_uuid);
    }

    #[test]
    fn nf_upload_sends_the_tutorial_form() {
        let r = FileScanRequest {
            policy: Some(ScanPolicy::inline(
                "https://h/ingest".into(),
                vec![tutorial_rule()],
            )),
            request_metadata: Some("m".into()),
            ..Default::default()
        };
        let s = serde_json::to_string(&r).unwrap();
        assert!(
            s.starts_with(r#"{"policy":{"webhookURL":"https://h/ingest","detectionRules":[{"logicalOp":"ANY","detectors":[{"#),
            "{s}"
        );
        assert!(s.ends_with(r#"]}]},"requestMetadata":"m"}"#), "{s}");
    }

    #[test]
    fn go_and_java_nulls_and_empty_strings_are_absent_and_unknown_fields_ignored() {
        // GO serialises every key; JAVA adds "violation": null.
        let r: FileScanRequest = serde_json::from_value(json!({
            "policyUUID": null, "requestMetadata": "", "violation": null,
            "policy": {"webhookURL": "", "detectionRules": [tutorial_rule()], "detectionRuleUUIDs": null,
                       "alertConfig": {"url": {"address": "https://n/ingest"}, "slack": null, "email": null,
                                       "siem": null}}}))
        .unwrap();
        assert_eq!(r.policy_uuid, None);
        assert_eq!(r.request_metadata, None);
        let p = r.policy.as_ref().unwrap();
        assert_eq!(p.webhook(), Some("https://n/ingest"));
        assert!(p.detection_rule_uuids.is_empty());
        assert_eq!(r.validate(), Ok(()));
    }

    #[test]
    fn refusals_carry_the_services_descriptions() {
        let check = |v: Value| {
            serde_json::from_value::<FileScanRequest>(v)
                .unwrap()
                .validate()
                .unwrap_err()
        };
        let rule = serde_json::to_value(tutorial_rule()).unwrap();
        assert_eq!(
            check(json!({"policyUUID": "a", "policy": {"detectionRules": [rule]}})),
            "Exactly one of policyUUID or policy should be provided"
        );
        assert_eq!(
            check(json!({"requestMetadata": "x"})),
            "Exactly one of policyUUID or policy should be provided"
        );
        assert_eq!(
            check(json!({"policy": {"webhookURL": "https://h"}})),
            "detectionRuleUUIDs and detectionRules can't both be empty"
        );
        let eleven: Vec<Value> = (0..11).map(|_| rule.clone()).collect();
        assert!(check(json!({"policy": {"detectionRules": eleven}})).contains("at most 10"));
        assert_eq!(
            check(json!({"policyUUID": "a", "requestMetadata": "x".repeat(10 * 1024 + 1)})),
            "requestMetadata is larger than 10 KB"
        );
        assert!(check(
            json!({"policy": {"detectionRules": [{"detectors": [{"nightfallDetector": "NOPE"}]}]}})
        )
        .starts_with("invalid detectionRules: detection rule #1: detector #1: unknown nightfallDetector \"NOPE\""));
    }

    #[test]
    fn wrong_types_and_enum_values_are_parse_errors() {
        for v in [
            json!({"policy": "x"}),
            json!({"policy": {"detectionRuleUUIDs": "u"}}),
            json!({"policy": {"alertConfig": {"url": "https://h"}}}),
            json!({"policy": {"detectionRules": [{"logicalOp": "OR", "detectors": []}]}}),
        ] {
            assert!(
                serde_json::from_value::<FileScanRequest>(v.clone()).is_err(),
                "{v}"
            );
        }
        let e = serde_json::from_str::<FileScanRequest>(
            r#"{"policy":{"detectionRules":[{"detectors":[{"minConfidence":"MAYBE"}]}]}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown variant `MAYBE`"), "{e}");
    }
}
