//! Every wire type written with each of its fields set, compared byte for
//! byte with what the service sends: the serde attributes that say how a
//! field reads and writes can change shape without changing the bytes.

use serde_json::json;

use crate::findings::FindingsDocument;
use crate::scan::FileScanRequest;
use crate::webhook::{ErrorBody, WebhookNotification};

/// Parses `src` as `T` and writes it back compactly.
fn rewrite<T: serde::de::DeserializeOwned + serde::Serialize>(src: &str) -> String {
    serde_json::to_string(&serde_json::from_str::<T>(src).unwrap()).unwrap()
}

#[test]
fn a_scan_request_with_every_field_set_writes_the_same_bytes() {
    let full = json!({"policy": {"webhookURL": "https://h/ingest",
        "detectionRules": [{"name": "r", "logicalOp": "ALL", "detectors": [{
            "minNumFindings": 2, "minConfidence": "POSSIBLE", "displayName": "Tok",
            "detectorType": "REGEX", "nightfallDetector": "API_KEY", "detectorUUID": "d-1",
            "regex": {"pattern": "tok_[a-z]+", "isCaseSensitive": true},
            "wordList": {"values": ["a"], "isCaseSensitive": false},
            "contextRules": [{"regex": {"pattern": "x", "isCaseSensitive": false},
                "proximity": {"windowBefore": 5, "windowAfter": 6},
                "confidenceAdjustment": {"fixedConfidence": "VERY_LIKELY"}}],
            "exclusionRules": [{"matchType": "PARTIAL", "exclusionType": "WORD_LIST",
                "regex": {"pattern": "y", "isCaseSensitive": true},
                "wordList": {"values": ["test"], "isCaseSensitive": false}}],
            "redactionConfig": {"removeFinding": true,
                "maskConfig": {"maskingChar": "*", "numCharsToLeaveUnmasked": 2,
                    "charsToIgnore": ["-"], "maskLeftToRight": true, "maskRightToLeft": false},
                "substitutionConfig": {"substitutionPhrase": "[X]"},
                "infoTypeSubstitutionConfig": {},
                "cryptoConfig": {"publicKey": "k"}}}]}],
        "detectionRuleUUIDs": ["u-1"],
        "alertConfig": {"url": {"address": "https://h/a"}, "slack": {"target": "#g"},
            "email": {"address": "a@b.c"}}},
        "policyUUID": "p-1", "requestMetadata": "m"});
    let src = full.to_string();
    assert_eq!(
        rewrite::<FileScanRequest>(&src),
        r##"{"policy":{"webhookURL":"https://h/ingest","detectionRules":[{"name":"r","logicalOp":"ALL","detectors":[{"minNumFindings":2,"minConfidence":"POSSIBLE","displayName":"Tok","detectorType":"REGEX","nightfallDetector":"API_KEY","detectorUUID":"d-1","regex":{"pattern":"tok_[a-z]+","isCaseSensitive":true},"wordList":{"values":["a"],"isCaseSensitive":false},"contextRules":[{"regex":{"pattern":"x","isCaseSensitive":false},"proximity":{"windowBefore":5,"windowAfter":6},"confidenceAdjustment":{"fixedConfidence":"VERY_LIKELY"}}],"exclusionRules":[{"matchType":"PARTIAL","exclusionType":"WORD_LIST","regex":{"pattern":"y","isCaseSensitive":true},"wordList":{"values":["test"],"isCaseSensitive":false}}],"redactionConfig":{"removeFinding":true,"maskConfig":{"maskingChar":"*","numCharsToLeaveUnmasked":2,"charsToIgnore":["-"],"maskLeftToRight":true,"maskRightToLeft":false},"substitutionConfig":{"substitutionPhrase":"[X]"},"infoTypeSubstitutionConfig":{},"cryptoConfig":{"publicKey":"k"}}}]}],"detectionRuleUUIDs":["u-1"],"alertConfig":{"url":{"address":"https://h/a"},"slack":{"target":"#g"},"email":{"address":"a@b.c"}}},"policyUUID":"p-1","requestMetadata":"m"}"##
    );
}

#[test]
fn unset_null_and_empty_fields_are_left_out_when_written() {
    let src = r#"{"policy":{"webhookURL":"","detectionRules":null,"detectionRuleUUIDs":[],
        "alertConfig":{"url":null,"slack":"","email":null}},"policyUUID":null,"requestMetadata":""}"#;
    assert_eq!(
        rewrite::<FileScanRequest>(src),
        r#"{"policy":{"alertConfig":{}}}"#
    );
    let src = r#"{"policy":{"detectionRules":[{"name":"","logicalOp":null,"detectors":[{"minNumFindings":null,
        "minConfidence":"","regex":null,"redactionConfig":{"maskConfig":{"maskingChar":""}}}]}]}}"#;
    assert_eq!(
        rewrite::<FileScanRequest>(src),
        r#"{"policy":{"detectionRules":[{"detectors":[{"redactionConfig":{"maskConfig":{"numCharsToLeaveUnmasked":0}}}]}]}}"#
    );
}

#[test]
fn a_findings_document_with_every_field_set_writes_the_same_bytes() {
    let src = r#"{"findings":[{"path":"a/b.py","detector":{"name":"n","uuid":"u","id":"i"},
        "finding":"f","redactedFinding":"r","beforeContext":"b","afterContext":"a","confidence":"LIKELY",
        "location":{"byteRange":{"start":1,"end":2},"codepointRange":{"start":3,"end":4},
            "lineRange":{"start":5,"end":5},"rowRange":{"start":6,"end":6},"columnRange":{"start":7,"end":7},
            "commitHash":"c","commitAuthor":"x"},
        "redactedLocation":{"byteRange":{"start":1,"end":2},"codepointRange":{"start":3,"end":4},"commitHash":null},
        "matchedDetectionRuleUUIDs":["m-1"],"matchedDetectionRules":["rule"],"findingMetadata":{"k":1}}]}"#;
    assert_eq!(
        rewrite::<FindingsDocument>(src),
        r#"{"findings":[{"path":"a/b.py","detector":{"name":"n","uuid":"u","id":"u"},"finding":"f","redactedFinding":"r","beforeContext":"b","afterContext":"a","confidence":"LIKELY","location":{"byteRange":{"start":1,"end":2},"codepointRange":{"start":3,"end":4},"lineRange":{"start":5,"end":5},"rowRange":{"start":6,"end":6},"columnRange":{"start":7,"end":7},"commitHash":"c","commitAuthor":"x"},"redactedLocation":{"byteRange":{"start":1,"end":2},"codepointRange":{"start":3,"end":4},"lineRange":null,"rowRange":null,"columnRange":null,"commitHash":"","commitAuthor":""},"matchedDetectionRuleUUIDs":["m-1"],"matchedDetectionRules":["rule"],"findingMetadata":{"k":1}}]}"#
    );
    let nulls = r#"{"findings":[{"path":null,"detector":{"name":null},"finding":null,"redactedFinding":null,
        "beforeContext":null,"afterContext":null,"confidence":"POSSIBLE","location":null,
        "matchedDetectionRuleUUIDs":null,"matchedDetectionRules":null}]}"#;
    assert_eq!(
        rewrite::<FindingsDocument>(nulls),
        r#"{"findings":[{"path":"","detector":{"name":"","uuid":"","id":""},"finding":"","redactedFinding":"","beforeContext":"","afterContext":"","confidence":"POSSIBLE","location":{"byteRange":{"start":0,"end":0},"codepointRange":{"start":0,"end":0},"lineRange":null,"rowRange":null,"columnRange":null,"commitHash":"","commitAuthor":""},"matchedDetectionRuleUUIDs":[],"matchedDetectionRules":[]}]}"#
    );
}

#[test]
fn a_notification_and_its_errors_write_the_same_bytes() {
    let src = r#"{"findingsURL":null,"validUntil":null,"uploadID":"u","findingsPresent":false,
        "requestMetadata":null,"errors":[{"code":40012,"message":"m","description":"d","additionalData":{"k":"v"}},
        {"additionalData":null}]}"#;
    assert_eq!(
        rewrite::<WebhookNotification>(src),
        r#"{"findingsURL":"","validUntil":"","uploadID":"u","findingsPresent":false,"requestMetadata":"","errors":[{"code":40012,"message":"m","description":"d","additionalData":{"k":"v"}},{}]}"#
    );
    assert_eq!(rewrite::<ErrorBody>(r#"{"code":null}"#), "{}");
}
