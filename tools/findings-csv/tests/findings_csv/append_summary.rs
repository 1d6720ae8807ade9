//! `findings-csv --append FILE`, `--summary` and the local-dlp presets:
//! the real binary on real files.

use std::path::Path;

use serde_json::{json, Value};
use testkit::{cmd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_findings-csv");
const LOCAL: &str = "upload_id,index,timestamp,path,before_context,finding,after_context,detector,confidence,byte_range,detection_rules,status";
const DEFAULT: &str = "upload_id,index,timestamp,path,before_context,finding,after_context,detector,confidence,byte_range,detection_rules";

fn rec(path: &str, detector: &str, finding: &str, status: Option<&str>) -> Value {
    let mut v = json!({
        "path": path, "detector": detector, "confidence": "LIKELY", "finding": finding,
        "timestamp": "2026-12-01T10:00:00Z", "index": 1, "removable": true, "copied_from": "/home/a/x"
    });
    if let Some(s) = status {
        v["status"] = s.into();
    }
    v
}

fn ndjson(v: &[Value]) -> String {
    v.iter().map(|r| r.to_string() + "\n").collect()
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn append_writes_one_header_and_never_truncates() {
    let dir = TempDir::new("csv-append");
    let out = dir.join("results.csv");
    let one = ndjson(&[rec("/a", "SSN", "1", Some("new"))]);
    for _ in 0..2 {
        let run = cmd(BIN)
            .args(["--preset", "local", "--append"])
            .arg(&out)
            .stdin(one.clone())
            .run()
            .expect_code(0);
        assert!(run.stdout.is_empty(), "rows go to FILE only");
    }
    let got = lines(&out);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0], LOCAL);
    assert!(got[1].ends_with(",new") && got[1] == got[2], "{got:?}");

    // An empty file gets the header; CRLF line ends are the same header.
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    cmd(BIN)
        .arg("--append")
        .arg(&empty)
        .stdin("")
        .run()
        .expect_code(0);
    assert_eq!(lines(&empty), [DEFAULT]);
    let crlf = dir.join("crlf.csv");
    std::fs::write(&crlf, format!("{DEFAULT}\r\nkept\r\n")).unwrap();
    cmd(BIN)
        .arg("--append")
        .arg(&crlf)
        .stdin(one.clone())
        .run()
        .expect_code(0);
    let got = lines(&crlf);
    assert_eq!((got[1].as_str(), got.len()), ("kept", 3), "{got:?}");

    // --header never: rows only, nothing checked.
    let bare = dir.join("bare.csv");
    std::fs::write(&bare, "other,header\n").unwrap();
    cmd(BIN)
        .args(["--header", "never", "--append"])
        .arg(&bare)
        .stdin(one)
        .run()
        .expect_code(0);
    assert_eq!(lines(&bare).len(), 2);
}

#[test]
fn append_refuses_another_header_naming_both_and_writes_nothing() {
    let dir = TempDir::new("csv-append-other");
    let out = dir.join("results.csv");
    let before = format!("{DEFAULT}\n,1,t,/a,,x,,SSN,LIKELY,,\n");
    std::fs::write(&out, &before).unwrap();
    let run = cmd(BIN)
        .args(["--preset", "local", "--append"])
        .arg(&out)
        .stdin(ndjson(&[rec("/a", "SSN", "1", None)]))
        .run()
        .expect_code(2);
    let err = run.stderr_str();
    assert!(
        err.contains("has other columns than this run writes"),
        "{err}"
    );
    assert!(err.contains(&format!("its header: {DEFAULT};")), "{err}");
    assert!(err.contains(&format!("this run's: {LOCAL})")), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), before);

    // A first line that is not a header at all, without a line end.
    std::fs::write(&out, "no newline here").unwrap();
    let err = cmd(BIN)
        .arg("--append")
        .arg(&out)
        .stdin("")
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("its header: no newline here;"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "no newline here");
}

#[test]
fn append_refuses_what_is_not_a_writable_csv_file() {
    let dir = TempDir::new("csv-append-bad");
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let err = cmd(BIN)
        .arg("--append")
        .arg(&sub)
        .stdin("")
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("cannot open") && err.contains("sub"), "{err}");
    assert!(err.contains("Is a directory"), "{err}");

    let err = cmd(BIN)
        .args(["--append", "-"])
        .stdin("")
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("--append needs a file"), "{err}");
    assert!(!Path::new("-").exists());

    let err = cmd(BIN)
        .arg("--append")
        .arg(dir.join("missing/results.csv"))
        .stdin("")
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("No such file or directory"), "{err}");

    // Unknown columns are refused before FILE is created.
    let never = dir.join("never.csv");
    cmd(BIN)
        .args(["--columns", "path,nope", "--append"])
        .arg(&never)
        .stdin("")
        .run()
        .expect_code(2);
    assert!(!never.exists());
}

/// `findings-csv` as an ordinary user: as root (tests run as root in CI),
/// mode 000 blocks nothing, so it runs as `nobody` through setpriv.
fn as_user() -> testkit::Cmd {
    if testkit::is_root() {
        cmd("setpriv").args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            BIN,
        ])
    } else {
        cmd(BIN)
    }
}

#[test]
fn append_refuses_a_file_it_cannot_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("csv-append-perm");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = dir.join("results.csv");
    std::fs::write(&out, format!("{DEFAULT}\n")).unwrap();
    // Writable, not readable: the header cannot be checked.
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o222)).unwrap();
    let err = as_user()
        .arg("--append")
        .arg(&out)
        .stdin(ndjson(&[rec("/a", "SSN", "1", None)]))
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(
        err.contains("cannot open") && err.contains("Permission denied"),
        "{err}"
    );
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(lines(&out), [DEFAULT]);
}

#[test]
fn summary_counts_what_was_read_and_goes_to_stdout_with_append() {
    let dir = TempDir::new("csv-summary");
    let out = dir.join("results.csv");
    let input = ndjson(&[
        rec("/a", "Credit Card Number", "1", Some("new")),
        rec("/a", "Credit Card Number", "2", Some("new")),
        rec("/b", "US Social Security Number", "3", Some("new")),
        rec("/c", "API Key", "", Some("resolved")),
        rec("/d", "API Key", "", Some("quarantined")),
        rec("/d", "API Key", "", Some("quarantined")),
    ]) + "not json\n"
        + "{\"detector\":\"API Key\"}\n";
    let run = cmd(BIN)
        .args(["--preset", "local", "--summary", "--append"])
        .arg(&out)
        .stdin(input.clone())
        .run()
        .expect_code(1);
    assert_eq!(
        run.stdout_str(),
        "findings-csv: 3 finding(s) in 2 file(s)\n  2 Credit Card Number\n  1 US Social Security Number\n\
         findings-csv: 1 finding(s) resolved (gone from their files since the last scan)\n\
         findings-csv: 2 finding(s) quarantined (their files are in the vault)\n"
    );
    let err = run.stderr_str();
    assert!(err.contains("line 7: not a Finding record"), "{err}");
    assert!(err.contains("line 8: not a Finding record"), "{err}");
    assert_eq!(lines(&out).len(), 7, "header and the six records");

    // Without --append: the CSV on stdout, the summary on stderr; records
    // left out (no status column) are counted all the same.
    let run = cmd(BIN)
        .args([
            "--preset",
            "tutorial",
            "--summary",
            "--summary-label=local-dlp",
        ])
        .args(["--summary-new", "--summary-under=/home/a /srv"])
        .stdin(input)
        .run()
        .expect_code(1);
    assert_eq!(run.stdout_str().lines().count(), 4, "header and 3 open");
    let err = run.stderr_str();
    assert!(
        err.contains(
            "local-dlp: 3 new finding(s) in 2 file(s) under /home/a /srv\n  2 Credit Card Number\n  1 US Social Security Number\nlocal-dlp: 1 finding(s) resolved"
        ),
        "{err}"
    );
    assert!(
        err.contains("3 resolved or quarantined record(s) not written"),
        "{err}"
    );

    // Nothing read: one line, no detector lines.
    let run = cmd(BIN)
        .args(["--summary", "--header", "never"])
        .stdin("")
        .run()
        .expect_code(0);
    assert_eq!(
        run.stderr_str(),
        "findings-csv: 0 finding(s) in 0 file(s)\n"
    );

    // The wording flags need --summary.
    cmd(BIN).arg("--summary-new").stdin("").run().expect_code(2);
}

#[test]
fn summary_is_the_same_on_many_threads() {
    // Enough records for several blocks of the parallel reader.
    let mut v = Vec::new();
    for i in 0..30_000 {
        let det = ["A", "B", "C"][i % 3];
        v.push(rec(&format!("/f{}", i % 1000), det, &i.to_string(), None));
    }
    let run = cmd(BIN)
        .args(["--summary", "--header", "never"])
        .stdin(ndjson(&v))
        .run()
        .expect_code(0);
    assert_eq!(
        run.stderr_str(),
        "findings-csv: 30000 finding(s) in 1000 file(s)\n  10000 C\n  10000 B\n  10000 A\n"
    );
}

#[test]
fn local_presets_name_the_columns_local_dlp_writes() {
    for (preset, cols) in [
        ("local", LOCAL.to_owned()),
        ("local-mounts", format!("{LOCAL},removable,copied_from")),
        ("local-no-state", DEFAULT.to_owned()),
        (
            "local-no-state-mounts",
            format!("{DEFAULT},removable,copied_from"),
        ),
    ] {
        let out = cmd(BIN)
            .args(["--preset", preset])
            .stdin(ndjson(&[rec("/a", "SSN", "1", Some("new"))]))
            .run()
            .expect_code(0)
            .stdout_str();
        let got: Vec<&str> = out.lines().collect();
        assert_eq!(got[0], cols, "{preset}");
        if preset.ends_with("mounts") {
            assert!(got[1].ends_with(",true,/home/a/x"), "{preset}: {}", got[1]);
        }
    }
}
