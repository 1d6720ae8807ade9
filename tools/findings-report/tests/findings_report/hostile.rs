//! Inputs that broke the old report: a timestamp in the year 9999 (416,064
//! bars, a 59 MB page), 400 distinct 1 MB paths (864 MB of memory),
//! right-to-left overrides in names (`invoice\u202efdp.exe` displayed as
//! `invoiceexe.pdf`), markup in names; and a million findings.

use std::io::Write;
use std::time::Instant;

use testkit::TempDir;

use crate::support::*;

#[test]
fn a_far_future_timestamp_is_flagged_not_charted() {
    let mut recs = vec![F::new("h", "/far", "API Key", "k-far").at("9999-12-31T23:59:59Z")];
    for i in 0..50 {
        let ts = format!("2026-11-{}T{:02}:00:00Z", 25 + i % 3, i % 24);
        recs.push(F::new("h", &format!("/f{i}"), "API Key", "k").at(&ts));
    }
    recs.push(F::new("h", "/old", "API Key", "k-old").at("1999-06-01T00:00:00Z"));
    recs.push(F::new("h", "/bad", "API Key", "k-bad").at("soon\u{202e}"));
    let html = page(&[], ndjson(&recs));
    eprintln!("far-future page: {} bytes", html.len());
    assert!(html.len() < 200_000, "{} bytes", html.len());
    let raised = bars(&html, "raised");
    assert!(raised.len() <= 120, "{} bars", raised.len());
    assert_eq!(
        raised.iter().map(|b| b.1).sum::<u64>(),
        50,
        "flagged ones not charted"
    );
    let flagged = tag(&html, "flagged").unwrap();
    assert_eq!(
        (attr(flagged, "data-far"), attr(flagged, "data-unreadable")),
        (Some("2"), Some("1"))
    );
    assert!(html.contains("<code>9999-12-31T23:59:59Z</code>"));
    assert!(html.contains("<code>soon\\u202e</code>"), "shown escaped");
    let open = rows(&html, "open-findings");
    assert_eq!(open.len(), 53);
    assert!(
        open[0].cells[7].starts_with("2026-11-27"),
        "newest trusted first"
    );
    let last: Vec<&str> = open[50..].iter().map(|r| r.cells[7].as_str()).collect();
    assert_eq!(
        last,
        ["—", "—", "—"],
        "untrusted times sort last and show none"
    );
    let host = &rows(&html, "hosts")[0];
    assert!(
        host.cells[6].starts_with("2026-11-27"),
        "last seen: {}",
        host.cells[6]
    );
    // The old report's worst case: one record in 9999 beside one today.
    let two = page(&[], ndjson(&recs[..2]));
    assert_eq!(bars(&two, "raised").len(), 1);
}

#[test]
fn hidden_and_bidirectional_characters_show_as_escapes() {
    let rec = F::new(
        "ws\u{202e}lab",
        "/srv/invoice\u{202e}fdp.exe",
        "API\u{200b}Key",
        "abc\u{2066}def\u{7}",
    )
    .at("2026-11-27T10:00:00Z")
    .set("archive_path", "a\u{202d}b.txt")
    .set("copied_from", "/home/\u{feff}x");
    let html = page(&["--unmasked"], ndjson(&[rec]));
    for c in [
        '\u{202e}', '\u{200b}', '\u{2066}', '\u{7}', '\u{202d}', '\u{feff}',
    ] {
        assert!(!html.contains(c), "raw U+{:04X} in the page", c as u32);
    }
    for shown in [
        "/srv/invoice\\u202efdp.exe",
        "ws\\u202elab",
        "API\\u200bKey",
        "abc\\u2066def\\u0007",
        "a\\u202db.txt",
        "/home/\\ufeffx",
    ] {
        assert!(html.contains(shown), "{shown} not shown");
    }
}

#[test]
fn markup_in_names_is_inert_and_nothing_is_fetched() {
    let rec = F::new(
        "<b>h</b>",
        "/a\"><script>alert(1)</script>",
        "API Key",
        "sk_live_0123456789",
    )
    .at("2026-11-27T10:00:00Z");
    let html = page(&["--title", "<i>t</i>"], ndjson(&[rec]));
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the page's own script"
    );
    for bad in [
        "http://",
        "https://",
        "src=",
        "url(",
        "@import",
        "<b>h",
        "<i>t",
        "sk_live_0123456789",
    ] {
        assert!(!html.contains(bad), "{bad} in the page");
    }
}

fn long_path(i: usize) -> String {
    let mut p = format!("/deep/{i:04}/");
    p.push_str(&"x".repeat((1 << 20) - 20));
    p.push_str("/last.csv");
    p
}

#[test]
fn four_hundred_megabyte_paths_stay_small() {
    let d = TempDir::new("report-long");
    let out = d.join("page.html");
    let t = Instant::now();
    let (code, kib) = peak_rss(&[], &out, |w: &mut dyn Write| {
        for i in 0..400 {
            let line =
                ndjson(&[F::new("h", &long_path(i), "API Key", "k").at("2026-11-27T10:00:00Z")]);
            w.write_all(line.as_bytes()).unwrap();
        }
    });
    eprintln!("400 x 1 MB paths: peak RSS {} KiB, {:?}", kib, t.elapsed());
    assert_eq!(code, 0);
    assert!(kib < 120 * 1024, "peak RSS {kib} KiB");
    let html = std::fs::read_to_string(&out).unwrap();
    assert_eq!(kpi(&html, "total"), 400);
    assert_eq!(kpi(&html, "files"), 400, "cut alike, still 400 files");
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
    let p = &rows(&html, "open-findings")[0].cells[2];
    assert!(
        p.len() <= 512 && p.starts_with("/deep/") && p.ends_with("/last.csv"),
        "{p}"
    );
}

#[test]
fn a_million_findings_in_bounded_memory() {
    const N: u64 = 1_000_000;
    let d = TempDir::new("report-million");
    let out = d.join("page.html");
    let t = Instant::now();
    let (code, kib) = peak_rss(&["--rows", "100"], &out, |w: &mut dyn Write| {
        let dets = ["US Social Security Number", "API Key", "Email Address"];
        for i in 0..N {
            writeln!(
                w,
                "{{\"host\":\"host-{}\",\"path\":\"/home/u/file-{}.csv\",\"detector\":\"{}\",\"confidence\":\"LIKELY\",\"finding\":\"536-22-{:04}\",\"finding_id\":\"{:x}\",\"status\":\"new\",\"timestamp\":\"2026-11-{:02}T{:02}:00:00Z\"}}",
                i % 500,
                i % 100_000,
                dets[(i % 3) as usize],
                i % 10_000,
                i,
                1 + i % 27,
                i % 24
            )
            .unwrap();
        }
    });
    eprintln!("{N} findings: peak RSS {} KiB, {:?}", kib, t.elapsed());
    assert_eq!(code, 0);
    assert!(kib < 300 * 1024, "peak RSS {kib} KiB");
    let html = std::fs::read_to_string(&out).unwrap();
    assert_eq!(kpi(&html, "total"), N);
    assert_eq!(kpi(&html, "open"), N);
    assert_eq!(kpi(&html, "hosts"), 500);
    assert_eq!(kpi(&html, "files"), 100_000);
    assert_eq!(value(&html, "open-more"), N - 100);
}

#[test]
fn past_max_findings_the_count_is_an_estimate_and_says_so() {
    let recs: Vec<F> = (0..3000)
        .map(|i| F::new("h", &format!("/f{i}"), "API Key", "k").at("2026-11-27T10:00:00Z"))
        .collect();
    let html = page(&["--max-findings", "1000"], ndjson(&recs));
    let t = tag(&html, "kpi-total").unwrap();
    assert_eq!(attr(t, "data-estimate"), Some("1"));
    let n = kpi(&html, "total");
    assert!((2700..=3300).contains(&n), "{n}");
    assert_eq!(
        kpi(&html, "open"),
        1000,
        "open counts tracked findings only"
    );
    assert_eq!(value(&html, "untracked"), 2000);
}
