//! Integration tests: the real `findings-report` binary, and its page
//! rendered by a real headless Chromium (Debian's `chromium`, installed by
//! tests/browser/ensure-chromium.sh on first use): the DOM Chromium builds
//! carries the same numbers as the input, and the screenshot shows the
//! chart's bars.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use testkit::{cmd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_findings-report");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// 150 findings on three hosts over four days, with statuses.
fn input() -> (String, Expect) {
    let mut s = String::new();
    let mut e = Expect::default();
    let hosts = [("alpha", 70), ("beta", 50), ("gamma", 30)];
    let dets = ["US Social Security Number", "Credit Card Number", "API Key"];
    let mut i = 0;
    for (host, n) in hosts {
        for k in 0..n {
            let day = 24 + (i * 7) % 4;
            let det = dets[(i * 5) % 3];
            let status = if i % 5 == 0 { "resolved" } else { "new" };
            let finding = format!("4111-1111-1111-{:04}", 1000 + i);
            s.push_str(
                &json!({
                    "host": host, "path": format!("/srv/{host}/file{}.csv", k % 7),
                    "index": 1, "timestamp": format!("2026-11-{day}T{:02}:00:00.000000Z", i % 24),
                    "detector": det, "confidence": if i % 2 == 0 { "VERY_LIKELY" } else { "LIKELY" },
                    "finding": finding, "status": status,
                })
                .to_string(),
            );
            s.push('\n');
            *e.hosts.entry(host.to_owned()).or_default() += 1;
            *e.detectors.entry(det.to_owned()).or_default() += 1;
            *e.days.entry(format!("2026-11-{day}")).or_default() += 1;
            if status == "resolved" {
                e.resolved += 1;
            }
            e.findings.push(finding);
            i += 1;
        }
    }
    (s, e)
}

#[derive(Default)]
struct Expect {
    hosts: BTreeMap<String, u64>,
    detectors: BTreeMap<String, u64>,
    days: BTreeMap<String, u64>,
    resolved: u64,
    findings: Vec<String>,
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let pat = format!("{name}=\"");
    let i = tag.find(&pat)? + pat.len();
    Some(&tag[i..i + tag[i..].find('"')?])
}

/// (data-key, data-count) of each row of table `id`.
fn rows(html: &str, id: &str) -> BTreeMap<String, u64> {
    let t = &html[html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("table {id}"))..];
    let t = &t[..t.find("</table>").unwrap()];
    t.split("<tr ")
        .skip(1)
        .filter_map(|r| {
            let tag = &r[..r.find('>')?];
            Some((
                attr(tag, "data-key")?.to_owned(),
                attr(tag, "data-count")?.parse().ok()?,
            ))
        })
        .collect()
}

fn kpi(html: &str, id: &str) -> u64 {
    let t = &html[html.find(&format!("id=\"kpi-{id}\"")).unwrap()..];
    attr(&t[..t.find('>').unwrap()], "data-value")
        .unwrap()
        .parse()
        .unwrap()
}

/// Chart bars: bucket -> count.
fn bars(html: &str) -> BTreeMap<String, u64> {
    html.split("<rect ")
        .skip(1)
        .filter_map(|r| {
            let tag = &r[..r.find('>')?];
            Some((
                attr(tag, "data-bucket")?.to_owned(),
                attr(tag, "data-count")?.parse().ok()?,
            ))
        })
        .collect()
}

fn chromium() -> String {
    let out = Command::new(root().join("tests/browser/ensure-chromium.sh"))
        .output()
        .expect("running tests/browser/ensure-chromium.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Chromium, headless, isolated: no network services, a fresh profile.
fn browser(profile: &Path) -> Command {
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,1000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn chromium_renders_the_report_with_the_inputs_numbers_and_a_drawn_chart() {
    let (ndjson, want) = input();
    let d = TempDir::new("report-browser");
    let out = cmd(BIN).stdin(ndjson).run().expect_code(0);
    let page = d.join("report.html");
    std::fs::write(&page, &out.stdout).unwrap();
    let url = format!("file://{}", page.display());

    // The DOM as Chromium parsed it.
    let dom = browser(&d.join("profile1"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8(dom.stdout).unwrap();
    assert_eq!(kpi(&dom, "total"), 150);
    assert_eq!(kpi(&dom, "hosts"), 3);
    assert_eq!(kpi(&dom, "files"), 21);
    assert_eq!(kpi(&dom, "resolved"), want.resolved);
    assert_eq!(kpi(&dom, "open"), 150 - want.resolved);
    assert_eq!(rows(&dom, "by-host"), want.hosts);
    assert_eq!(rows(&dom, "by-detector"), want.detectors);
    assert_eq!(rows(&dom, "by-confidence").values().sum::<u64>(), 150);
    assert_eq!(bars(&dom), want.days, "one bar per day with its count");
    assert!(dom.contains("<svg id=\"timeline\""));
    // Masked by default: no finding appears whole.
    for f in &want.findings {
        assert!(!dom.contains(f.as_str()), "{f} shown unmasked");
    }
    assert!(
        dom.contains("**************1"),
        "masked findings keep their last 4"
    );

    // The screenshot: the chart's bar colour is on screen, in a band.
    let png = d.join("shot.png");
    let shot = browser(&d.join("profile2"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let count = Command::new("python3")
        .arg(root().join("tests/py/png_color_count.py"))
        .arg(&png)
        .arg("1971c2")
        .output()
        .unwrap();
    assert!(
        count.status.success(),
        "{}",
        String::from_utf8_lossy(&count.stderr)
    );
    let v: Vec<i64> = String::from_utf8(count.stdout)
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let (pixels, miny, maxy) = (v[0], v[3], v[4]);
    assert!(pixels > 20_000, "chart bars drawn: {pixels} pixels");
    assert!(maxy - miny > 100, "bars have height: rows {miny}..{maxy}");
}

/// The open records of `ndjson` (what findings-csv writes without a
/// status column) and what a report of them counts.
fn open_only(ndjson: &str) -> (String, Expect) {
    let mut e = Expect::default();
    let mut kept = String::new();
    for line in ndjson.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        if r["status"] == "resolved" {
            continue;
        }
        let s = |k: &str| r[k].as_str().unwrap().to_owned();
        *e.hosts.entry(s("host")).or_default() += 1;
        *e.detectors.entry(s("detector")).or_default() += 1;
        *e.days.entry(s("timestamp")[..10].to_owned()).or_default() += 1;
        e.findings.push(s("finding"));
        kept.push_str(line);
        kept.push('\n');
    }
    (kept, e)
}

#[test]
fn csv_from_findings_csv_gives_the_same_numbers_as_ndjson() {
    // Without a status column findings-csv leaves resolved records out
    // (and counts them on stderr): the report counts the open ones.
    let (ndjson, _) = input();
    let (_, want) = open_only(&ndjson);
    let csv = cmd(testkit::bin("findings-csv"))
        .args([
            "--columns",
            "host,path,detector,confidence,timestamp,finding",
        ])
        .stdin(ndjson)
        .run()
        .expect_code(0);
    let out = cmd(BIN).stdin(csv.stdout).run().expect_code(0);
    let html = out.stdout_str();
    assert_eq!(kpi(&html, "total"), want.findings.len() as u64);
    assert_eq!(want.findings.len(), 120);
    assert_eq!(rows(&html, "by-host"), want.hosts);
    assert_eq!(rows(&html, "by-detector"), want.detectors);
    assert_eq!(bars(&html), want.days);
    // No status column: no open/resolved figures.
    assert!(!html.contains("kpi-open"));
}

#[test]
fn page_is_self_contained_and_escapes_what_it_shows() {
    let rec = json!({"host": "<b>h</b>", "path": "/a\"><script>alert(1)</script>",
        "detector": "API Key", "confidence": "LIKELY", "finding": "sk_live_0123456789",
        "timestamp": "2026-11-27T10:00:00Z"});
    let out = cmd(BIN).stdin(format!("{rec}\n")).run().expect_code(0);
    let html = out.stdout_str();
    for bad in [
        "<script", "http://", "https://", "src=", "url(", "@import", "<b>h",
    ] {
        assert!(!html.contains(bad), "{bad} in the page");
    }
    assert!(html.contains("default-src 'none'"), "a CSP forbids fetches");
    assert!(!html.contains("sk_live_0123456789"));
    let shown = cmd(BIN)
        .arg("--unmasked")
        .stdin(format!("{rec}\n"))
        .run()
        .expect_code(0);
    assert!(shown.stdout_str().contains("sk_live_0123456789"));
}

#[test]
fn malformed_records_are_reported_and_skipped() {
    let good = json!({"detector": "API Key", "confidence": "LIKELY", "finding": "x", "path": "/p"});
    let out = cmd(BIN)
        .stdin(format!(
            "{good}\nnot json\n{{\"path\":\"/no-detector\"}}\n{good}\n"
        ))
        .run()
        .expect_code(1);
    let err = out.stderr_str();
    assert!(err.contains("findings-report: stdin: line 2:"), "{err}");
    assert!(err.contains("line 3: not a Finding"), "{err}");
    assert_eq!(kpi(&out.stdout_str(), "total"), 2);
    cmd(BIN)
        .arg("--strict")
        .stdin("not json\n")
        .run()
        .expect_code(2);
    let out = cmd(BIN).stdin("a,b\n1,2\n").run().expect_code(2);
    assert!(
        out.stderr_str().contains("not a findings CSV"),
        "{}",
        out.stderr_str()
    );
    let out = cmd(BIN).arg("/nonexistent/x.ndjson").run().expect_code(2);
    assert!(out.stderr_str().contains("/nonexistent/x.ndjson"));
}
