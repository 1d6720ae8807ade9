//! The report counts findings, not rows: duplicates, lifecycles, records
//! out of order, with and without finding_id, from NDJSON and from the
//! CSV findings-csv writes; open findings ranked by severity; hosts that
//! went silent; exit codes.

use testkit::cmd;

use crate::support::*;

const T1: &str = "2026-11-26T09:00:00Z";
const T2: &str = "2026-11-27T09:00:00Z";
const T3: &str = "2026-11-28T09:00:00Z";

/// 20 records of 11 distinct findings: 7 open, 2 resolved, 1
/// quarantined, 1 with an unknown status.
fn lifecycle() -> Vec<F> {
    let ssn = |p: &str, f: &str| F::new("alpha", p, "US Social Security Number", f);
    let card = |p: &str| F::new("alpha", p, "Credit Card Number", "4111111111111111");
    let key = |h: &str, p: &str| F::new(h, p, "API Key", "sk_live_abcdef123456");
    let on_beta = |p: &str, det: &str, f: &str| F::new("beta", p, det, f);
    vec![
        // A: the same finding reported 3 times.
        ssn("/a.csv", "536-22-8726").id("A").at(T1),
        ssn("/a.csv", "536-22-8726").id("A").at(T2),
        ssn("/a.csv", "536-22-8726").id("A").at(T3),
        // B: new, then resolved.
        key("alpha", "/b.env").id("B").status("new").at(T1),
        key("alpha", "/b.env").id("B").status("resolved").at(T2),
        // C: new, resolved, new again later.
        card("/c.csv").id("C").status("new").at(T1),
        card("/c.csv").id("C").status("resolved").at(T2),
        card("/c.csv").id("C").status("new").at(T3),
        // D: quarantined.
        F::new("alpha", "/d.txt", "Email Address", "x@example.com")
            .id("D")
            .status("new")
            .at(T1),
        F::new("alpha", "/d.txt", "Email Address", "x@example.com")
            .id("D")
            .status("quarantined")
            .at(T2),
        // E: two equal cards in one file.
        card("/e.csv").id("E1").status("new").at(T1).line(3),
        card("/e.csv").id("E2").status("new").at(T1).line(9),
        // F: no finding_id: the same place twice, another place once.
        on_beta("/f.txt", "US Social Security Number", "536-22-8727")
            .bytes(10)
            .at(T1),
        on_beta("/f.txt", "US Social Security Number", "536-22-8727")
            .bytes(10)
            .at(T2),
        on_beta("/f.txt", "US Social Security Number", "536-22-8727")
            .bytes(40)
            .at(T2),
        // G: a status this version does not know.
        on_beta("/g.txt", "Phone Number", "+1 202 555 0100")
            .id("G")
            .status("archived")
            .set("first_seen", T1)
            .at(T1),
        // H: resolved arrives first, the older new after it.
        key("beta", "/h.env").id("H").status("resolved").at(T3),
        key("beta", "/h.env").id("H").status("new").at(T1),
        // I: raised again (newer) arrives first, an older resolved after it.
        key("beta", "/i.env").id("I").status("new").at(T3),
        key("beta", "/i.env").id("I").status("resolved").at(T2),
    ]
}

fn assert_lifecycle_counts(html: &str) {
    assert_eq!(kpi(html, "total"), 11, "distinct findings");
    assert_eq!(kpi(html, "open"), 7);
    assert_eq!(kpi(html, "resolved"), 2);
    assert_eq!(kpi(html, "quarantined"), 1);
    assert_eq!(kpi(html, "other"), 1);
    assert_eq!(kpi(html, "hosts"), 2);
    assert_eq!(kpi(html, "files"), 5, "/a /c /e on alpha, /f /i on beta");
    assert_eq!(kpi(html, "records"), 20);
    assert_eq!(rows(html, "open-findings").len(), 7);
}

#[test]
fn distinct_findings_and_their_final_state() {
    let html = page(&[], ndjson(&lifecycle()));
    assert_lifecycle_counts(&html);
    assert!(
        html.contains("<code>archived</code> 1"),
        "an unknown status, as given"
    );
    let open = rows(&html, "open-findings");
    let paths: Vec<&str> = open.iter().map(|r| r.cells[2].as_str()).collect();
    assert_eq!(paths.iter().filter(|p| **p == "/e.csv").count(), 2);
    assert!(
        paths.contains(&"/i.env") && !paths.contains(&"/h.env"),
        "{paths:?}"
    );
    // Per host and severity.
    let hosts = rows(&html, "hosts");
    let alpha = hosts
        .iter()
        .find(|r| r.attr("data-host") == "alpha")
        .unwrap();
    assert_eq!(alpha.attr("data-open"), "4");
    assert_eq!(
        &alpha.cells[1..5],
        ["0", "4", "0", "0"],
        "critical high medium low"
    );
    let beta = hosts
        .iter()
        .find(|r| r.attr("data-host") == "beta")
        .unwrap();
    assert_eq!(&beta.cells[1..6], ["1", "2", "0", "0", "3"]);
    // Raised by first seen, resolved when resolved: B and H.
    let raised: u64 = bars(&html, "raised").iter().map(|b| b.1).sum();
    let resolved: Vec<(String, u64)> = bars(&html, "resolved")
        .into_iter()
        .filter(|b| b.1 > 0)
        .collect();
    assert_eq!(raised, 11);
    assert_eq!(resolved.iter().map(|b| b.1).sum::<u64>(), 2, "{resolved:?}");
}

#[test]
fn csv_from_findings_csv_gives_the_same_numbers_as_ndjson() {
    let csv = cmd(testkit::bin("findings-csv"))
        .args(["--preset", "fleet"])
        .stdin(ndjson(&lifecycle()))
        .run()
        .expect_code(0);
    let from_csv = page(&[], csv.stdout.clone());
    assert_lifecycle_counts(&from_csv);
    let from_ndjson = page(&[], ndjson(&lifecycle()));
    let key = |html: &str| -> Vec<Vec<String>> {
        rows(html, "open-findings")
            .iter()
            .map(|r| r.cells[..9].to_vec())
            .collect()
    };
    assert_eq!(
        key(&from_csv),
        key(&from_ndjson),
        "the same rows, in the same order"
    );
    let e = rows(&from_csv, "open-findings");
    let lines: Vec<&str> = e
        .iter()
        .filter(|r| r.cells[2] == "/e.csv")
        .map(|r| r.cells[3].as_str())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.contains(&"3") && lines.contains(&"9"), "{lines:?}");
}

#[test]
fn open_findings_are_ranked_limited_masked_and_marked() {
    let mut recs = Vec::new();
    for i in 0..30u64 {
        let det = [
            "Email Address",
            "US Social Security Number",
            "API Key",
            "Phone Number",
        ][i as usize % 4];
        let ts = format!("2026-11-2{}T{:02}:00:00Z", i % 7, i % 24);
        recs.push(
            F::new("h", &format!("/f{i}"), det, &format!("secret-{i:04}"))
                .id("x")
                .at(&ts),
        );
    }
    recs.push(
        F::new("h", "/media/usb/copy.csv", "API Key", "sk_live_usb_0001")
            .id("u")
            .at(T3)
            .set("removable", true)
            .set("copied_from", "/home/u/keys.csv")
            .set("archive_path", "inner/keys.txt"),
    );
    let html = page(&["--rows", "10"], ndjson(&recs));
    let open = rows(&html, "open-findings");
    assert_eq!(open.len(), 10);
    assert_eq!(value(&html, "open-more"), 21);
    let ranks: Vec<(u64, u64)> = open
        .iter()
        .map(|r| (r.sort[0].parse().unwrap(), r.sort[7].parse().unwrap()))
        .collect();
    let mut sorted = ranks.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ranks, sorted, "severity, then last seen, newest first");
    assert_eq!(open[0].cells[0], "critical");
    assert_eq!(
        open[0].cells[2],
        "/media/usb/copy.csv ▸ inner/keys.txtremovablecopied from /home/u/keys.csv"
    );
    assert_eq!(open[0].cells[9], "************0001");
    assert!(!html.contains("sk_live_usb_0001") && !html.contains("secret-0002"));
    let full = page(&["--unmasked"], ndjson(&recs));
    assert!(full.contains("sk_live_usb_0001"));
}

#[test]
fn a_host_that_stopped_reporting_is_flagged_silent() {
    let recs = [
        F::new("laptop-1", "/a", "API Key", "k1").at("2026-11-27T12:00:00Z"),
        F::new("laptop-2", "/b", "API Key", "k2").at("2026-11-18T12:00:00Z"),
        F::new("laptop-2", "/b", "API Key", "k2").at("9999-12-31T23:59:59Z"),
    ];
    let html = page(&[], ndjson(&recs));
    assert_eq!(kpi(&html, "silent"), 1);
    let hosts = rows(&html, "hosts");
    let silent: Vec<&str> = hosts
        .iter()
        .filter(|r| r.attr("data-silent") == "1")
        .map(|r| r.attr("data-host"))
        .collect();
    assert_eq!(
        silent,
        ["laptop-2"],
        "a far-future record does not make it recent"
    );
    let two = hosts
        .iter()
        .find(|r| r.attr("data-host") == "laptop-2")
        .unwrap();
    assert_eq!(two.cells[6], "2026-11-18 12:00");
    let html = page(&["--silent-after", "14d"], ndjson(&recs));
    assert_eq!(kpi(&html, "silent"), 0);
}

#[test]
fn malformed_records_are_reported_and_skipped() {
    let good = ndjson(&[F::new("h", "/p", "API Key", "x")]);
    let out = report(
        &[],
        format!("{good}not json\n{{\"path\":\"/no-detector\"}}\n{{\"detector\":\"x\",\"byte_range\":\"1-2\"}}\n{good}"),
    )
    .expect_code(1);
    let err = out.stderr_str();
    assert!(err.contains("findings-report: stdin: line 2:"), "{err}");
    assert!(err.contains("line 3: not a Finding"), "{err}");
    assert!(
        err.contains("line 4: field `byte_range` is a string"),
        "{err}"
    );
    assert_eq!(kpi(&out.stdout_str(), "records"), 2);
    assert_eq!(kpi(&out.stdout_str(), "total"), 1);
    report(&["--strict"], "not json\n").expect_code(2);
    let out = report(&[], "a,b\n1,2\n").expect_code(2);
    assert!(
        out.stderr_str().contains("not a findings CSV"),
        "{}",
        out.stderr_str()
    );
    let out = report(&["/nonexistent/x.ndjson"], "").expect_code(2);
    assert!(out.stderr_str().contains("/nonexistent/x.ndjson"));
    let out = cmd(BIN).args(["--now", "yesterday"]).run().expect_code(2);
    assert!(
        out.stderr_str().contains("RFC 3339"),
        "{}",
        out.stderr_str()
    );
}
