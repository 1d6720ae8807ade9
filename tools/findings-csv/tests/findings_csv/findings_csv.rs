//! Integration tests: the real `findings-csv` binary, plus an in-process
//! property test of the CSV round trip.

use proptest::prelude::*;
use serde_json::{json, Value};
use testkit::{cmd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_findings-csv");

fn finding(finding: &str, before: &str, after: &str) -> Value {
    json!({
        "upload_id": "ac6a4a9d-a7b9-4a78-810d-8a66f7644704", "path": "/home/ana/Downloads/sample.csv",
        "index": 1, "timestamp": "2026-11-22T10:15:03.120511Z", "detector": "CREDIT_CARD_NUMBER",
        "detector_uuid": "74c1815e-c0c3-4df5-8b1e-6cf98864a454", "confidence": "VERY_LIKELY",
        "finding": finding, "before_context": before, "after_context": after,
        "byte_range": {"start": 36, "end": 55}, "codepoint_range": {"start": 36, "end": 55},
        "line_range": {"start": 2, "end": 2}, "archive_path": "", "detection_rules": ["cards", "pii"]
    })
}

fn ndjson(v: &[Value]) -> String {
    v.iter().map(|r| r.to_string() + "\n").collect()
}

fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn default_columns_follow_the_tutorial_plus_path() {
    let f = finding(
        "5433-9502-3725-7862",
        "Name\tCredit Card\nRep. Viviana Hintz\t",
        "\nEloisa, \"Champlin\"",
    );
    let out = cmd(BIN).stdin(ndjson(&[f])).run().expect_code(0);
    let rows = parse_csv(&out.stdout);
    assert_eq!(
        rows[0],
        "upload_id,index,timestamp,path,before_context,finding,after_context,detector,confidence,byte_range,detection_rules"
            .split(',')
            .collect::<Vec<_>>()
    );
    assert_eq!(
        rows[1],
        [
            "ac6a4a9d-a7b9-4a78-810d-8a66f7644704",
            "1",
            "2026-11-22T10:15:03.120511Z",
            "/home/ana/Downloads/sample.csv",
            "Name\tCredit Card\nRep. Viviana Hintz\t",
            "5433-9502-3725-7862",
            "\nEloisa, \"Champlin\"",
            "CREDIT_CARD_NUMBER",
            "VERY_LIKELY",
            "36-55",
            "cards;pii"
        ]
    );
    assert_eq!(
        rows.len(),
        2,
        "contexts with newlines, tabs, quotes and commas stay one field"
    );
}

#[test]
fn chosen_columns() {
    let f = finding("123-45-6789", "", "");
    let out = cmd(BIN)
        .args([
            "--columns",
            "path,line,detector_uuid,redacted_finding,codepoint_range",
            "--header",
            "never",
        ])
        .stdin(ndjson(&[f]))
        .run()
        .expect_code(0);
    assert_eq!(
        parse_csv(&out.stdout),
        vec![vec![
            "/home/ana/Downloads/sample.csv",
            "2",
            "74c1815e-c0c3-4df5-8b1e-6cf98864a454",
            "",
            "36-55"
        ]]
    );
    let bad = cmd(BIN)
        .args(["--columns", "path,nope"])
        .run()
        .expect_code(2);
    assert!(
        bad.stderr_str().contains("unknown column \"nope\""),
        "{}",
        bad.stderr_str()
    );
}

#[test]
fn tutorial_preset_and_aliases_write_the_tutorial_header() {
    let f = finding("123-45-6789", "a ", " b");
    let out = cmd(BIN)
        .args(["--preset", "tutorial"])
        .stdin(ndjson(std::slice::from_ref(&f)))
        .run()
        .expect_code(0);
    let text = out.stdout_str();
    assert!(
        text.starts_with(
            "upload_id,#,datetime,before_context,finding,after_context,detector,confidence,loc,detection_rules\n"
        ),
        "{text}"
    );
    let rows = parse_csv(&out.stdout);
    assert_eq!(
        rows[1],
        [
            "ac6a4a9d-a7b9-4a78-810d-8a66f7644704",
            "1",
            "2026-11-22T10:15:03.120511Z",
            "a ",
            "123-45-6789",
            " b",
            "CREDIT_CARD_NUMBER",
            "VERY_LIKELY",
            "36-55",
            "cards;pii"
        ]
    );
    // The same columns spelled out with the aliases give the same bytes.
    let spelled = cmd(BIN)
        .args(["--columns", "upload_id,#,datetime,before_context,finding,after_context,detector,confidence,loc,detection_rules"])
        .stdin(ndjson(&[f]))
        .run()
        .expect_code(0);
    assert_eq!(spelled.stdout, out.stdout);
    let both = cmd(BIN)
        .args(["--preset", "tutorial", "--columns", "path"])
        .run()
        .expect_code(2);
    assert!(
        both.stderr_str().contains("cannot be used with"),
        "{}",
        both.stderr_str()
    );
    let bad = cmd(BIN).args(["--columns", "##"]).run().expect_code(2);
    assert!(
        bad.stderr_str().contains("aliases: # = index"),
        "{}",
        bad.stderr_str()
    );
}

#[test]
fn status_column_tells_new_from_resolved() {
    let mut new = finding("123-45-6789", "", "");
    new["status"] = json!("new");
    let resolved = json!({"path": "/home/ana/a.txt", "detector": "CREDIT_CARD_NUMBER",
        "confidence": "VERY_LIKELY", "finding": "", "line_range": {"start": 4, "end": 4},
        "status": "resolved"});
    let plain = finding("123-45-6789", "", "");
    let out = cmd(BIN)
        .args(["--columns", "path,line,detector,finding,status"])
        .stdin(ndjson(&[new, resolved, plain]))
        .run()
        .expect_code(0);
    let rows = parse_csv(&out.stdout);
    assert_eq!(rows[0], ["path", "line", "detector", "finding", "status"]);
    assert_eq!(rows[1][4], "new");
    assert_eq!(
        rows[2],
        ["/home/ana/a.txt", "4", "CREDIT_CARD_NUMBER", "", "resolved"]
    );
    assert_eq!(rows[3][4], "", "no status without finding state");
}

#[test]
fn formula_injection_is_neutralised_unless_raw() {
    let f = finding(
        "=HYPERLINK(\"http://evil\")",
        "+cmd|' /C calc'!A0",
        "@SUM(1)",
    );
    let out = cmd(BIN)
        .args(["--header", "never"])
        .stdin(ndjson(std::slice::from_ref(&f)))
        .run()
        .expect_code(0);
    let row = &parse_csv(&out.stdout)[0];
    assert_eq!(row[4], "'+cmd|' /C calc'!A0");
    assert_eq!(row[5], "'=HYPERLINK(\"http://evil\")");
    assert_eq!(row[6], "'@SUM(1)");
    let out = cmd(BIN)
        .args(["--header", "never", "--raw"])
        .stdin(ndjson(&[f]))
        .run()
        .expect_code(0);
    assert_eq!(parse_csv(&out.stdout)[0][5], "=HYPERLINK(\"http://evil\")");
}

#[test]
fn redact_masks_the_finding_and_its_copies() {
    let f = finding(
        "4111111111111111",
        "card 4111111111111111 again ",
        " then 4111111111111111",
    );
    let out = cmd(BIN)
        .args(["--header", "never", "--redact"])
        .stdin(ndjson(&[f]))
        .run()
        .expect_code(0);
    let text = out.stdout_str();
    assert!(!text.contains("4111111111111111"), "{text}");
    let row = &parse_csv(&out.stdout)[0];
    assert_eq!(row[5], "************1111");
    assert_eq!(row[4], "card ************1111 again ");
}

#[test]
fn header_auto_appends_one_header() {
    let dir = TempDir::new("csv");
    let results = dir.join("results.csv");
    for _ in 0..3 {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&results)
            .unwrap();
        cmd(BIN)
            .stdin(ndjson(&[finding("4111111111111111", "", "")]))
            .stdout_file(f)
            .run()
            .expect_code(0);
    }
    let rows = parse_csv(&std::fs::read(&results).unwrap());
    assert_eq!(rows.len(), 4);
    assert_eq!(rows.iter().filter(|r| r[0] == "upload_id").count(), 1);
    // on a pipe, auto writes the header; never / always are honoured
    let out = cmd(BIN).stdin("").run().expect_code(0);
    assert!(out.stdout_str().starts_with("upload_id,"));
    assert!(cmd(BIN)
        .args(["--header", "never"])
        .stdin("")
        .run()
        .stdout
        .is_empty());
    let f = std::fs::OpenOptions::new()
        .append(true)
        .open(&results)
        .unwrap();
    cmd(BIN)
        .args(["--header", "always"])
        .stdin("")
        .stdout_file(f)
        .run()
        .expect_code(0);
    assert_eq!(
        parse_csv(&std::fs::read(&results).unwrap())
            .iter()
            .filter(|r| r[0] == "upload_id")
            .count(),
        2
    );
}

#[test]
fn malformed_and_incomplete_lines_are_reported_and_skipped() {
    let good = finding("4111111111111111", "", "").to_string();
    let input = format!("{good}\nnot json\n{{\"path\":\"/x\"}}\n\u{0}\u{1}\n{good}\n");
    let mut bytes = input.into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\n");
    let out = cmd(BIN)
        .args(["--header", "never"])
        .stdin(bytes)
        .run()
        .expect_code(1);
    assert_eq!(parse_csv(&out.stdout).len(), 2);
    let err = out.stderr_str();
    for n in [2, 3, 4, 6] {
        assert!(
            err.contains(&format!("findings-csv: line {n}: not a Finding record")),
            "{err}"
        );
    }
    assert!(err.contains("missing field `detector`"), "{err}");
    let out = cmd(BIN)
        .args(["--strict", "--header", "never"])
        .stdin(format!("{good}\nbad\n{good}\n"))
        .run()
        .expect_code(2);
    assert_eq!(parse_csv(&out.stdout).len(), 1);
}

#[test]
fn closed_stdout_and_full_disk() {
    let line = finding("4111111111111111", "x", "y").to_string();
    let (first, out) = testkit::first_line_then_close(BIN, &[], &line, 100_000);
    assert!(first.starts_with("upload_id"));
    assert_eq!(out.code(), 0);
    assert_eq!(out.stderr_str(), "");

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = cmd(BIN)
        .stdin(ndjson(&[finding("1", "", "")]))
        .stdout_file(full)
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("No space left on device"),
        "{}",
        out.stderr_str()
    );
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".*",
        "[=+@\t\r-][a-z,\"\n]{0,8}",
        proptest::collection::vec(
            prop_oneof![
                Just(","),
                Just("\""),
                Just("\n"),
                Just("\r\n"),
                Just("\t"),
                Just("é"),
                Just("a")
            ],
            0..12
        )
        .prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn csv_round_trip(items in proptest::collection::vec((text(), text(), text(), text(), 0u64..1000, 0u64..1000), 1..20)) {
        let findings: Vec<Value> = items.iter().map(|(fi, b, a, p, s, l)| json!({
            "path": p, "index": 1, "detector": "X", "confidence": "LIKELY", "finding": fi,
            "before_context": b, "after_context": a, "byte_range": {"start": s, "end": s + l},
            "detection_rules": []
        })).collect();
        let input = ndjson(&findings);
        for raw in [true, false] {
            let cli = <findings_csv::Cli as clap::Parser>::try_parse_from(
                ["findings-csv", "--columns", "path,finding,before_context,after_context,byte_range"]
                    .into_iter().chain(raw.then_some("--raw"))).unwrap();
            let mut out = Vec::new();
            // With a header row first, so a data cell never starts the file
            // (CSV readers strip a leading UTF-8 BOM there).
            let code = findings_csv::run(&cli, input.as_bytes(), &mut out, true).unwrap();
            prop_assert_eq!(code, dlp_runtime::ExitCode::Ok);
            let rows = parse_csv(&out)[1..].to_vec();
            prop_assert_eq!(rows.len(), findings.len());
            for (row, (fi, b, a, p, s, l)) in rows.iter().zip(&items) {
                let want = |x: &str| if raw { x.to_owned() } else { dlp_record::safety::neutralise(x.into()).into_owned() };
                prop_assert_eq!(&row[0], &want(p));
                prop_assert_eq!(&row[1], &want(fi));
                prop_assert_eq!(&row[2], &want(b));
                prop_assert_eq!(&row[3], &want(a));
                prop_assert_eq!(&row[4], &format!("{}-{}", s, s + l));
            }
        }
    }
}

#[test]
fn host_column_names_the_machine_and_is_empty_when_absent() {
    let mut a = finding("123-45-6789", "", "");
    a["host"] = "lap-7.corp".into();
    let b = finding("123-45-6789", "", "");
    let out = cmd(BIN)
        .args(["--columns", "host,path", "--header", "always"])
        .stdin(ndjson(&[a, b]))
        .run()
        .expect_code(0);
    assert_eq!(
        parse_csv(&out.stdout),
        vec![
            vec!["host", "path"],
            vec!["lap-7.corp", "/home/ana/Downloads/sample.csv"],
            vec!["", "/home/ana/Downloads/sample.csv"],
        ]
    );
}

#[test]
fn without_a_status_column_only_open_findings_are_written() {
    let mut new = finding("4111 2222 3333 4444", "", "");
    new["status"] = json!("new");
    let mut resolved = finding("", "", "");
    resolved["status"] = json!("resolved");
    let mut quarantined = finding("", "", "");
    quarantined["status"] = json!("quarantined");
    let mut later = finding("", "", "");
    later["status"] = json!("escalated");
    let plain = finding("5433-9502-3725-7862", "", "");
    let input = ndjson(&[new, resolved, quarantined, later, plain]);
    for args in [
        vec!["--preset", "tutorial"],
        vec![],
        vec!["--columns", "path,finding"],
    ] {
        let out = cmd(BIN)
            .args(&args)
            .stdin(input.clone())
            .run()
            .expect_code(0);
        let rows = parse_csv(&out.stdout);
        assert_eq!(rows.len(), 3, "{args:?}: header and the two open findings");
        let err = out.stderr_str();
        assert!(
            err.contains("3 resolved or quarantined record(s) not written"),
            "{args:?}: {err}"
        );
    }
    // With status, every record is a row that says what it is.
    for preset in ["local", "fleet"] {
        let out = cmd(BIN)
            .args(["--preset", preset])
            .stdin(input.clone())
            .run()
            .expect_code(0);
        let rows = parse_csv(&out.stdout);
        let st = rows[0].iter().position(|c| c == "status").unwrap();
        let statuses: Vec<&str> = rows[1..].iter().map(|r| r[st].as_str()).collect();
        assert_eq!(
            statuses,
            ["new", "resolved", "quarantined", "escalated", ""],
            "{preset}"
        );
        assert!(out.stderr_str().is_empty(), "{}", out.stderr_str());
    }
}

#[test]
fn fleet_columns_carry_identity_severity_and_removable_media() {
    let mut f = finding("-----BEGIN RSA PRIVATE KEY-----", "", "");
    f["detector"] = json!("CRYPTOGRAPHIC_KEY");
    f["host"] = json!("lap-7");
    f["status"] = json!("new");
    f["finding_id"] = json!("0f3c.0");
    f["first_seen"] = json!("2026-12-01T10:00:00Z");
    f["removable"] = json!(true);
    f["copied_from"] = json!("/home/ana/keys/id_rsa");
    let out = cmd(BIN)
        .args([
            "--columns",
            "host,severity,finding_id,first_seen,removable,copied_from",
        ])
        .stdin(ndjson(&[f]))
        .run()
        .expect_code(0);
    assert_eq!(
        parse_csv(&out.stdout)[1],
        [
            "lap-7",
            "critical",
            "0f3c.0",
            "2026-12-01T10:00:00Z",
            "true",
            "/home/ana/keys/id_rsa"
        ]
    );
}

#[test]
fn appending_other_columns_under_an_existing_header_is_refused() {
    let dir = TempDir::new("csv-cols");
    let results = dir.join("results.csv");
    let append = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&results)
            .unwrap()
    };
    cmd(BIN)
        .args(["--preset", "local"])
        .stdin(ndjson(&[finding("4111111111111111", "", "")]))
        .stdout_file(append())
        .run()
        .expect_code(0);
    let before = std::fs::read(&results).unwrap();
    let out = cmd(BIN)
        .args(["--preset", "fleet"])
        .stdin(ndjson(&[finding("4111111111111111", "", "")]))
        .stdout_file(append())
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str()
            .contains("other columns than this run writes"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(std::fs::read(&results).unwrap(), before, "nothing appended");
    // The same columns append under the one header.
    cmd(BIN)
        .args(["--preset", "local"])
        .stdin(ndjson(&[finding("4111111111111111", "", "")]))
        .stdout_file(append())
        .run()
        .expect_code(0);
    assert_eq!(parse_csv(&std::fs::read(&results).unwrap()).len(), 3);
}
