//! The page in a real headless Chromium (Debian's `chromium`, installed by
//! tests/browser/ensure-chromium.sh on first use): the DOM it builds holds
//! the input's numbers; the page's script runs because its hash is in the
//! Content-Security-Policy and for no other reason (an altered copy is
//! refused); clicking a header sorts and typing in the filter hides rows
//! (driven by a second script the test adds, with its own hash); when the
//! script does not run the page is still ranked and readable; the chart is
//! drawn.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use testkit::TempDir;

use crate::support::*;

fn chromium() -> String {
    testkit::setup_script("tests/browser/ensure-chromium.sh")
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
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The DOM Chromium builds from `html`.
fn dom(d: &TempDir, name: &str, html: &str) -> String {
    let file = d.join(format!("{name}.html"));
    std::fs::write(&file, html).unwrap();
    let out = browser(&d.join(format!("profile-{name}")))
        .arg("--window-size=1300,1400")
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sha256_source(text: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()));
    format!("'sha256-{b64}'")
}

/// The page's inline script and its CSP's script-src.
fn script_and_csp(html: &str) -> (&str, &str) {
    let s = &html[html.find("<script>").unwrap() + 8..];
    let script = &s[..s.find("</script>").unwrap()];
    let c = &html[html.find("script-src ").unwrap() + 11..];
    (script, &c[..c.find(';').unwrap()])
}

/// What the page's script marks when it runs.
const RAN: &str = "<html lang=\"en\" data-js=\"on\">";

/// 60 open findings on three hosts, a few resolved.
fn sample() -> String {
    let mut recs = Vec::new();
    let dets = [
        "API Key",
        "US Social Security Number",
        "Email Address",
        "Phone Number",
    ];
    for i in 0..66u64 {
        let host = ["alpha", "beta", "gamma"][i as usize % 3];
        let ts = format!("2026-11-{}T{:02}:00:00Z", 24 + i % 4, i % 24);
        let f = F::new(
            host,
            &format!("/srv/{host}/f{i}.csv"),
            dets[i as usize % 4],
            &format!("secret-{i:04}"),
        )
        .id("1")
        .at(&ts);
        if i % 11 == 0 {
            recs.push(f.clone().status("new"));
            recs.push(f.status("resolved").at("2026-11-28T01:00:00Z"));
        } else {
            recs.push(f);
        }
    }
    ndjson(&recs)
}

#[test]
fn the_csp_allows_exactly_the_inline_script() {
    let html = page(&[], sample());
    let (script, src) = script_and_csp(&html);
    assert_eq!(src, sha256_source(script), "the hash is the script's");
    assert_eq!(html.matches("<script").count(), 1);
    assert!(
        html.contains("content=\"default-src 'none';"),
        "nothing fetched"
    );
    assert!(!html.contains("unsafe-eval") && !src.contains("unsafe-inline"));
}

#[test]
fn chromium_builds_the_numbers_and_draws_the_chart() {
    let d = TempDir::new("report-browser");
    let html = page(&[], sample());
    let dom = dom(&d, "page", &html);
    assert_eq!(kpi(&dom, "total"), 66);
    assert_eq!(kpi(&dom, "open"), 60);
    assert_eq!(kpi(&dom, "resolved"), 6);
    assert_eq!(kpi(&dom, "hosts"), 3);
    assert_eq!(rows(&dom, "open-findings").len(), 60);
    assert!(dom.contains(RAN), "the script ran");
    assert!(
        !dom.contains("class=\"controls\" hidden"),
        "filters shown once scripts run"
    );
    assert!(!dom.contains("secret-0005"), "masked");

    let png = d.join("shot.png");
    let file = d.join("page.html");
    let shot = browser(&d.join("profile-shot"))
        .arg("--window-size=1300,5000")
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", file.display()))
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
    assert!(pixels > 2_000, "chart bars drawn: {pixels} pixels");
    assert!(maxy - miny > 100, "bars have height: rows {miny}..{maxy}");
}

/// Clicks "Last seen" twice, then types in the filter and picks a
/// severity, writing what the table showed after each step.
const DRIVER: &str = include_str!("driver.js");

#[test]
fn clicking_a_header_sorts_and_typing_filters() {
    let d = TempDir::new("report-drive");
    let html = page(&[], sample());
    let (script, src) = script_and_csp(&html);
    let driven = html
        .replacen(
            &format!("<script>{script}</script>"),
            &format!("<script>{script}</script><script>{DRIVER}</script>"),
            1,
        )
        .replacen(src, &format!("{src} {}", sha256_source(DRIVER)), 1);
    let dom = dom(&d, "driven", &driven);
    let s = &dom[dom.find("<pre id=\"selftest\">").expect("the driver ran") + 19..];
    let out: Value = serde_json::from_str(&s[..s.find("</pre>").unwrap()]).unwrap();
    let times = |k: &str| -> Vec<i64> {
        out[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect()
    };
    let (first, second) = (times("first"), times("second"));
    assert_eq!(first.len(), 60);
    assert!(
        first.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {first:?}"
    );
    assert!(
        second.windows(2).all(|w| w[0] <= w[1]),
        "then oldest first: {second:?}"
    );
    assert_ne!(first, second);
    assert_eq!(
        (out["firstSort"].as_str(), out["secondSort"].as_str()),
        (Some("descending"), Some("ascending"))
    );
    let typed: Vec<&str> = out["typed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(typed.len(), 20, "beta's open findings: {typed:?}");
    assert!(typed.iter().all(|r| r.starts_with("beta ")), "{typed:?}");
    let critical: Vec<&str> = out["critical"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!critical.is_empty() && critical.len() < typed.len());
    assert!(
        critical.iter().all(|r| *r == "beta critical"),
        "{critical:?}"
    );
    assert_eq!(
        out["count"].as_str().unwrap(),
        format!("{} of 60 rows shown", critical.len())
    );
}

/// A page whose script does not run (here: altered, so the CSP refuses
/// it; as with scripts turned off) is ranked and readable, without dead
/// controls.
#[test]
fn an_altered_script_is_refused_and_the_page_reads_without_it() {
    let d = TempDir::new("report-noscript");
    let html = page(&[], sample());
    let altered = html.replacen("\"use strict\";", "\"use strict\"; ", 1);
    assert_ne!(altered, html);
    let dom = dom(&d, "altered", &altered);
    assert!(!dom.contains(RAN), "the CSP refused the altered script");
    assert_eq!(
        dom.matches("<div class=\"controls\" hidden=\"\">").count(),
        2,
        "no dead controls"
    );
    assert_eq!(kpi(&dom, "open"), 60);
    let open = rows(&dom, "open-findings");
    assert_eq!(open.len(), 60);
    let sev: Vec<u64> = open.iter().map(|r| r.sort[0].parse().unwrap()).collect();
    assert!(
        sev.windows(2).all(|w| w[0] >= w[1]),
        "ranked by severity: {sev:?}"
    );
    assert_eq!(open[0].cells[0], "critical");
}
