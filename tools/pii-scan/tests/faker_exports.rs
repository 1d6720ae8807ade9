//! The real `pii-scan` binary, default rule (card, SSN, API key at
//! LIKELY), on Faker customer exports it did not shape
//! (crates/detect/tests/data/faker, see its SOURCES.md): every SSN and
//! card number is reported, `@example.com` addresses and "sample" notes
//! next to them notwithstanding, in CSV, TSV and a bare-digit export.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use testkit::cmd;

const BIN: &str = env!("CARGO_BIN_EXE_pii-scan");

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../crates/detect/tests/data/faker")
}

#[test]
fn default_rule_reports_every_ssn_and_card_of_faker_exports() {
    let labels: Vec<Value> = std::fs::read_to_string(data().join("labels.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for file in [
        "customers_en_US.csv",
        "customers_en_US.tsv",
        "accounts_en_US.csv",
    ] {
        let out = cmd(BIN).arg(data().join(file)).run().expect_code(0);
        let found: BTreeSet<(String, u64)> = out
            .stdout_str()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|r| {
                (
                    r["detector"].as_str().unwrap().to_owned(),
                    r["byte_range"]["start"].as_u64().unwrap(),
                )
            })
            .collect();
        let want: BTreeSet<(String, u64)> = labels
            .iter()
            .filter(|l| l["file"] == file)
            .filter_map(|l| {
                let d = match l["detector"].as_str().unwrap() {
                    "CREDIT_CARD_NUMBER" => "Credit Card Number",
                    "US_SOCIAL_SECURITY_NUMBER" => "US Social Security Number",
                    _ => return None,
                };
                Some((d.to_owned(), l["start"].as_u64().unwrap()))
            })
            .collect();
        assert!(want.len() >= 20, "{file}: {want:?}");
        assert_eq!(found, want, "{file}");
    }
}
