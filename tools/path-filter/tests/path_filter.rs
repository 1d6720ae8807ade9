//! Integration tests: the real `path-filter` binary on real pipes.

use std::time::Duration;

use testkit::cmd;

const BIN: &str = env!("CARGO_BIN_EXE_path-filter");

fn ev(t: &str, src: &str, dest: &str) -> String {
    format!(
        r#"{{"event_type":"{t}","src_path":"{src}","dest_path":"{dest}","is_directory":false,"is_synthetic":false,"timestamp":"2026-11-22T10:15:03.120511Z"}}"#
    )
}

fn kept(args: &[&str], lines: &[String]) -> Vec<String> {
    let out = cmd(BIN)
        .args(args)
        .stdin(lines.join("\n") + "\n")
        .run()
        .expect_code(0);
    out.stdout_str().lines().map(str::to_owned).collect()
}

#[test]
fn include_and_exclude_on_the_event_file() {
    let lines = vec![
        ev("modified", "/home/ana/Documents/q3.csv", ""),
        ev("modified", "/home/ana/Documents/q3.log", ""),
        ev("moved", "/tmp/x.part", "/home/ana/Downloads/x.csv"),
        ev("created", "/home/ana/.cache/y.csv", ""),
    ];
    let got = kept(&["--include", r"\.csv$", "--exclude", "/\\.cache/"], &lines);
    assert_eq!(got, vec![lines[0].clone(), lines[2].clone()]);
    // --invert keeps exactly the others
    let got = kept(
        &[
            "--include",
            r"\.csv$",
            "--exclude",
            "/\\.cache/",
            "--invert",
        ],
        &lines,
    );
    assert_eq!(got, vec![lines[1].clone(), lines[3].clone()]);
}

#[test]
fn kept_lines_pass_through_byte_for_byte() {
    let odd = r#"{ "zeta":1, "src_path" : "/home/bo/Desktop/a b.txt","extra":{"nested":[1,2,3]},"event_type":"created" }"#;
    let out = cmd(BIN)
        .args(["--preset", "user-docs"])
        .stdin(format!("{odd}\n"))
        .run()
        .expect_code(0);
    assert_eq!(out.stdout_str(), format!("{odd}\n"));
}

#[test]
fn presets_match_the_tutorial_and_common_junk() {
    let lines = vec![
        ev("modified", "/Users/ana/Downloads/sample.csv", ""),
        ev("modified", "/home/bo/Desktop/notes.txt", ""),
        ev("modified", "/home/bo/src/main.rs", ""),
        ev("modified", "/home/bo/Documents/.report.docx.swp", ""),
        ev("modified", "/home/bo/Documents/~$report.docx", ""),
        ev("modified", "/home/bo/Downloads/big.iso.crdownload", ""),
        ev("modified", "/home/bo/Documents/proj/.git/index", ""),
        ev("modified", "/home/bo/Documents/.DS_Store", ""),
        ev("modified", "/home/bo/Documents/report.docx~", ""),
    ];
    let got = kept(
        &["--preset", "user-docs", "--preset", "ignore-temp"],
        &lines,
    );
    assert_eq!(got, vec![lines[0].clone(), lines[1].clone()]);

    let sys = vec![
        ev("modified", "/usr/lib/x.so", ""),
        ev("modified", "/proc/1/status", ""),
        ev("modified", "/Users/ana/Library/Caches/a", ""),
        ev("modified", "/var/cache/apt/pkg.bin", ""),
        ev("modified", "/srv/data/users.csv", ""),
        ev("modified", "/usrdata/ok.txt", ""),
    ];
    let got = kept(&["--preset", "ignore-system"], &sys);
    assert_eq!(got, vec![sys[4].clone(), sys[5].clone()]);
}

#[test]
fn ignore_temp_drops_every_editor_and_os_temp_name() {
    let temp = [
        "/d/.notes.txt.swp",
        "/d/.notes.txt.swo",
        "/d/.notes.txt.swn",
        "/d/.notes.txt.swa",
        "/d/.notes.txt.swx",
        "/d/4913",
        "/d/notes.txt~",
        "/d/#notes.txt#",
        "/d/.#notes.txt",
        "/d/notes.txt.kate-swp",
        "/d/notes.txt___jb_tmp___",
        "/d/notes.txt___jb_old___",
        "/d/.goutputstream-Q2XK1Z",
        "/d/.~lock.budget.ods#",
        "/d/Thumbs.db",
        "/d/desktop.ini",
        "/d/.Trash-1000/files/a.txt",
        "/Volumes/usb/.Trashes/501/a.txt",
        "/Volumes/usb/.Spotlight-V100/store.db",
        "/d/report.docx.tmp",
    ];
    let keep = [
        "/d/notes.txt",
        "/d/.bashrc",
        "/d/logo.svg",
        "/d/.hidden.swift",
        "/d/trash.txt",
        "/d/my.db",
        "/d/lock.ods",
    ];
    let lines: Vec<String> = temp
        .iter()
        .chain(keep.iter())
        .map(|p| ev("modified", p, ""))
        .collect();
    let got = kept(&["--preset", "ignore-temp"], &lines);
    let want: Vec<String> = keep.iter().map(|p| ev("modified", p, "")).collect();
    assert_eq!(got, want);
}

#[test]
fn event_type_filter_and_named_field() {
    let lines = vec![
        ev("created", "/a/1", ""),
        ev("deleted", "/a/2", ""),
        ev("closed_no_write", "/a/3", ""),
        ev("modified", "/a/4", ""),
    ];
    let got = kept(&["--event-type", "created,modified"], &lines);
    assert_eq!(got, vec![lines[0].clone(), lines[3].clone()]);
    let got = kept(
        &["--event-type", "deleted", "--event-type", "closed_no_write"],
        &lines,
    );
    assert_eq!(got, vec![lines[1].clone(), lines[2].clone()]);

    let findings = vec![
        r#"{"path":"/srv/a.csv","detector":"CREDIT_CARD_NUMBER","finding":"x","confidence":"LIKELY"}"#.to_string(),
        r#"{"path":"/srv/fixtures/b.csv","detector":"CREDIT_CARD_NUMBER","finding":"y","confidence":"LIKELY"}"#.to_string(),
    ];
    assert_eq!(
        kept(&["--exclude", "/fixtures/"], &findings),
        vec![findings[0].clone()]
    );
    assert_eq!(
        kept(&["--field", "detector", "--include", "^CREDIT"], &findings),
        findings
    );
}

#[test]
fn case_insensitive_matching() {
    let lines = vec![ev("created", "/data/Report.CSV", "")];
    assert!(kept(&["--include", r"\.csv$"], &lines).is_empty());
    assert_eq!(kept(&["-i", "--include", r"\.csv$"], &lines), lines);
}

#[test]
fn bad_lines_are_reported_with_numbers_and_nothing_else_is_lost() {
    let mut input = Vec::new();
    input.extend_from_slice(ev("created", "/keep/1", "").as_bytes());
    input.extend_from_slice(b"\nthis is not json\n");
    input.extend_from_slice(br#"{"event_type":"created","dest_path":""}"#);
    input.extend_from_slice(b"\n\xff\xfe{garbage\n");
    input.extend_from_slice(br#"{"event_type":"created","src_path":42}"#);
    input.extend_from_slice(b"\n\n   \n");
    input.extend_from_slice(ev("created", "/keep/2", "").as_bytes());
    // a final line without newline still counts
    input.extend_from_slice(b"\n");
    input.extend_from_slice(ev("created", "/keep/3", "").as_bytes());
    let out = cmd(BIN)
        .args(["--include", "^/keep/"])
        .stdin(input)
        .run()
        .expect_code(1);
    let paths: Vec<String> = out
        .records()
        .iter()
        .map(|r| r["src_path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, ["/keep/1", "/keep/2", "/keep/3"]);
    let err = out.stderr_str();
    assert!(
        err.contains("path-filter: line 2: not a JSON object"),
        "{err}"
    );
    assert!(
        err.contains("path-filter: line 3: record has no src_path"),
        "{err}"
    );
    assert!(
        err.contains("path-filter: line 4: not a JSON object"),
        "{err}"
    );
    assert!(
        err.contains("path-filter: line 5: not a JSON object: field \"src_path\" is not a string"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 4, "{err}");
}

#[test]
fn non_utf8_paths_match_on_raw_bytes() {
    // "/data/caf\xe9.csv" carried as lossy text plus raw base64, as fswatch-json writes it
    let line = r#"{"event_type":"created","src_path":"/data/caf\ufffd.csv","src_path_b64":"L2RhdGEvY2Fm6S5jc3Y="}"#;
    let out = cmd(BIN)
        .args(["--include", r"(?-u)caf\xE9\.csv$"])
        .stdin(format!("{line}\n"))
        .run()
        .expect_code(0);
    assert_eq!(out.stdout_str(), format!("{line}\n"));
}

#[test]
fn strict_mode_makes_a_bad_line_fatal() {
    let input = format!(
        "{}\nnope\n{}\n",
        ev("created", "/a", ""),
        ev("created", "/b", "")
    );
    let out = cmd(BIN).arg("--strict").stdin(input).run().expect_code(2);
    assert!(
        out.stderr_str().contains("path-filter: line 2:"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(
        out.records().len(),
        1,
        "records before the bad line are flushed"
    );
}

#[test]
fn empty_input_is_fine() {
    let out = cmd(BIN).stdin("").run().expect_code(0);
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn usage_errors_exit_2_before_reading() {
    let out = cmd(BIN)
        .args(["--include", "(unclosed"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("invalid --include regex"),
        "{}",
        out.stderr_str()
    );
    let out = cmd(BIN)
        .args(["--event-type", "exploded"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str()
            .starts_with("path-filter: error: invalid value 'exploded' for '--event-type <TYPES>'"),
        "{}",
        out.stderr_str()
    );
    assert!(out.stderr_str().contains("closed_no_write"));
    let out = cmd(BIN).args(["--preset", "nope"]).run().expect_code(2);
    assert!(out.stderr_str().contains("nope"));
    cmd(BIN).arg("--help").run().expect_code(0);
    let v = cmd(BIN).arg("--version").run().expect_code(0);
    assert!(v.stdout_str().starts_with("path-filter "));
}

#[test]
fn closed_stdout_ends_quietly_with_status_0() {
    let (first, out) =
        testkit::first_line_then_close(BIN, &[], &ev("created", "/a/b", ""), 200_000);
    assert!(first.contains("/a/b"));
    assert_eq!(out.code(), 0);
    assert_eq!(out.stderr_str(), "");
}

#[test]
fn full_disk_is_a_clear_fatal_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = cmd(BIN)
        .stdin(ev("created", "/a", "") + "\n")
        .stdout_file(full)
        .run()
        .expect_code(2);
    let err = out.stderr_str();
    assert!(err.starts_with("path-filter: writing output"), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
}

#[test]
fn live_records_are_flushed_and_sigterm_exits_cleanly() {
    let mut p = cmd(BIN).args(["--include", "keep"]).spawn();
    p.write_line(&ev("created", "/keep/1", ""));
    let r = p
        .next_record(Duration::from_secs(10))
        .expect("record flushed while input is idle");
    assert_eq!(r["src_path"], "/keep/1");
    p.signal(15);
    let st = p
        .wait_timeout(Duration::from_secs(10))
        .expect("exits on SIGTERM");
    // 128 + SIGTERM, so a shell loop around the tool sees it was stopped.
    assert_eq!(st.code(), Some(143));
}

#[test]
fn sigint_while_waiting_for_input_exits_130() {
    let mut p = cmd(BIN).args(["--include", "keep"]).spawn();
    p.write_line(&ev("created", "/keep/1", ""));
    assert!(p.next_record(Duration::from_secs(10)).is_some());
    p.signal(2);
    let st = p
        .wait_timeout(Duration::from_secs(10))
        .expect("exits on SIGINT");
    assert_eq!(st.code(), Some(130), "{}", p.stderr_text());
}
