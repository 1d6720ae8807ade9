//! The real `pii-scan` binary, default rule (card, SSN, API key at
//! LIKELY), on Faker customer exports it did not shape
//! (crates/detect/tests/data/faker, see its SOURCES.md): every SSN and
//! card number is reported, `@example.com` addresses and "sample" notes
//! next to them notwithstanding, in CSV, TSV and a bare-digit export;
//! and Excel workbooks written by openpyxl and XlsxWriter
//! (tests/data/xlsx, see its make.py), whose sheets are tables headed by
//! their first row, as CSV files are.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;
use testkit::{cmd, TempDir};

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

fn xlsx_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/xlsx")
}

/// (archive_path, detector, finding) of each record.
fn triples(out: &testkit::Output) -> BTreeSet<(String, String, String)> {
    out.records()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_owned();
            (s("archive_path"), s("detector"), s("finding"))
        })
        .collect()
}

#[test]
fn xlsx_header_rows_label_the_columns_under_them() {
    let labels: Value =
        serde_json::from_str(&std::fs::read_to_string(xlsx_data().join("labels.json")).unwrap())
            .unwrap();
    for (file, sheets) in labels.as_object().unwrap() {
        let want: BTreeSet<(String, String, String)> = sheets
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(part, vals)| {
                vals.as_array().unwrap().iter().map(move |v| {
                    let s = |i: usize| v[i].as_str().unwrap().to_owned();
                    (part.clone(), s(0), s(1))
                })
            })
            .collect();
        assert!(want.len() >= 70, "{file}");
        // 9-digit SSNs and 10-digit phones under `ssn` and `phone` headers
        // reach LIKELY, shared strings and inline strings alike.
        let out = cmd(BIN)
            .args([
                "--detector",
                "US_SOCIAL_SECURITY_NUMBER,PHONE_NUMBER,CREDIT_CARD_NUMBER",
                "--min-confidence",
                "LIKELY",
            ])
            .arg(xlsx_data().join(file))
            .run()
            .expect_code(0);
        assert_eq!(triples(&out), want, "{file}");
        // Offsets are in the sheet's table text: the row around a value.
        let r = &out.records()[1];
        assert!(r["before_context"].as_str().unwrap().contains('\t'), "{r}");
        // The default rule: every SSN and card of the sheets.
        let out = cmd(BIN).arg(xlsx_data().join(file)).run().expect_code(0);
        let name = |d: &str| match d {
            "US_SOCIAL_SECURITY_NUMBER" => "US Social Security Number",
            _ => "Credit Card Number",
        };
        let default: BTreeSet<_> = want
            .iter()
            .filter(|(_, d, _)| d != "PHONE_NUMBER")
            .map(|(p, d, f)| (p.clone(), name(d).to_owned(), f.clone()))
            .collect();
        assert_eq!(triples(&out), default, "{file}");
    }
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in members {
        z.start_file(*name, opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap().into_inner()
}

const SHEET: &[u8] = br#"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row><row r="2"><c r="A2" t="s"><v>2</v></c><c r="C2"><v>536228726</v></c></row><row r="3"><c r="A3" t="s"><v>3</v></c><c r="B3" t="s"><v>4</v></c><c r="C3"><v>412673390</v></c></row></sheetData></worksheet>"#;
const STRINGS: &[u8] = br#"<sst><si><t>name</t></si><si><t>acct_ssn</t></si><si><t>Ana</t></si><si><t>Bo</t></si><si><t>note</t></si></sst>"#;

#[test]
fn xlsx_sparse_cells_keep_their_columns_and_bad_shared_strings_are_reported() {
    let dir = TempDir::new("pii-xlsx");
    let types: &[u8] = b"<Types/>";
    let good = zip_of(&[
        ("[Content_Types].xml", types),
        ("xl/worksheets/sheet1.xml", SHEET),
        ("xl/sharedStrings.xml", STRINGS),
    ]);
    std::fs::write(dir.join("good.xlsx"), &good).unwrap();
    // B2 is missing: 536228726 is still in column C, under acct_ssn.
    let out = cmd(BIN).arg(dir.join("good.xlsx")).run().expect_code(0);
    let got: Vec<(String, String)> = out
        .records()
        .iter()
        .map(|r| {
            (
                r["finding"].as_str().unwrap().to_owned(),
                r["confidence"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("536228726".to_owned(), "LIKELY".to_owned()),
            ("412673390".to_owned(), "LIKELY".to_owned())
        ]
    );
    assert_eq!(out.records()[0]["archive_path"], "xl/worksheets/sheet1.xml");
    // Shared strings whose stored bytes fail their CRC: a note naming the
    // part, exit status 1; the sheet's numbers are still scanned, but
    // without the header they are bare 9-digit runs (UNLIKELY).
    let mut bad = good.clone();
    let at = bad.windows(8).rposition(|w| w == b"acct_ssn").unwrap();
    bad[at] = b'b';
    std::fs::write(dir.join("bad.xlsx"), &bad).unwrap();
    let out = cmd(BIN)
        .args([
            "--detector",
            "US_SOCIAL_SECURITY_NUMBER",
            "--min-confidence",
            "UNLIKELY",
        ])
        .arg(dir.join("bad.xlsx"))
        .run()
        .expect_code(1);
    let err = out.stderr_str();
    let note = format!(
        "{}!xl/sharedStrings.xml: skipped: corrupt",
        dir.join("bad.xlsx").display()
    );
    assert!(err.contains(&note), "{note} not in:\n{err}");
    let bands: Vec<String> = out
        .records()
        .iter()
        .map(|r| r["confidence"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bands, ["UNLIKELY", "UNLIKELY"]);
}
