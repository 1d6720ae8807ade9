//! `pii-scan --state`, `-q` and `-v`: the real binary on real files, run
//! again and again as a watching pipeline would run it.

use std::path::Path;

use serde_json::{json, Value};
use testkit::{cmd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_pii-scan");
const CARD: &str = "4526 0181 5908 3012";
const SSN: &str = "536-22-8726";
const SSN2: &str = "078-05-1121";

fn ev(kind: &str, path: &Path) -> String {
    json!({"event_type": kind, "src_path": path, "dest_path": ""}).to_string() + "\n"
}

fn moved(from: &Path, to: &Path) -> String {
    json!({"event_type": "moved", "src_path": from, "dest_path": to}).to_string() + "\n"
}

/// Runs pii-scan --state on `input`; (status, finding text or "", path) per record.
fn run(state: &Path, input: &str) -> Vec<(String, String, String)> {
    scan_with_state(state, &[], input, "finding")
}

/// Runs pii-scan --state with `args` on `input`; (status, the record's
/// `field`, path) per record.
fn scan_with_state(
    state: &Path,
    args: &[&Path],
    input: &str,
    field: &str,
) -> Vec<(String, String, String)> {
    let out = cmd(BIN)
        .arg("--state")
        .arg(state)
        .args(args)
        .stdin(input)
        .run();
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    out.records()
        .iter()
        .map(|r: &Value| {
            (
                r["status"].as_str().unwrap_or("none").to_owned(),
                r[field].as_str().unwrap().to_owned(),
                r["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn statuses(recs: &[(String, String, String)]) -> Vec<(&str, &str)> {
    recs.iter()
        .map(|(s, f, _)| (s.as_str(), f.as_str()))
        .collect()
}

#[test]
fn each_finding_is_reported_once_and_resolved_when_gone() {
    let t = TempDir::new("pii-state");
    let state = t.join("pii.state");
    let a = t.join("a.txt");
    std::fs::write(&a, format!("card {CARD}\nssn {SSN}\n")).unwrap();
    let first = run(&state, &ev("created", &a));
    assert_eq!(statuses(&first), [("new", CARD), ("new", SSN)]);

    // The same content again (a touch, a restart, an initial scan): nothing.
    assert!(run(&state, &(ev("modified", &a) + &ev("closed", &a))).is_empty());

    // One line added above, one SSN appended: only the SSN is new.
    std::fs::write(&a, format!("header\ncard {CARD}\nssn {SSN}\nssn {SSN2}\n")).unwrap();
    assert_eq!(statuses(&run(&state, &ev("modified", &a))), [("new", SSN2)]);

    // A second copy of a known SSN is one more finding.
    std::fs::write(&a, format!("card {CARD}\nssn {SSN}\nssn {SSN2}\n{SSN}\n")).unwrap();
    assert_eq!(statuses(&run(&state, &ev("modified", &a))), [("new", SSN)]);

    // Edited out: one resolved record, no text.
    std::fs::write(&a, format!("ssn {SSN}\nssn {SSN2}\n{SSN}\n")).unwrap();
    let recs = run(&state, &ev("modified", &a));
    assert_eq!(statuses(&recs), [("resolved", "")]);

    // Moved: resolved at the old path, new at the new one.
    let b = t.join("b.txt");
    std::fs::rename(&a, &b).unwrap();
    let recs = run(&state, &moved(&a, &b));
    let at = |p: &Path, s: &str| {
        recs.iter()
            .filter(|r| r.0 == s && r.2 == p.to_str().unwrap())
            .count()
    };
    assert_eq!((at(&a, "resolved"), at(&b, "new"), recs.len()), (3, 3, 6));

    // Deleted: resolved for what was left, once.
    std::fs::remove_file(&b).unwrap();
    let recs = run(&state, &ev("deleted", &b));
    assert_eq!(statuses(&recs), [("resolved", ""); 3]);
    assert!(run(&state, &ev("deleted", &b)).is_empty());

    // The state holds no finding text (in any spacing: its hex digests can
    // hold a short run of the same digits by chance, so whole values).
    let text = std::fs::read_to_string(&state).unwrap();
    for v in [CARD, SSN, SSN2] {
        let digits: String = v.chars().filter(char::is_ascii_digit).collect();
        assert!(!text.contains(v) && !text.contains(&digits), "{text}");
    }
}

#[test]
fn files_deleted_while_stopped_are_resolved_at_start_and_paths_mode_keeps_state() {
    let t = TempDir::new("pii-state-paths");
    let dir = t.join("d");
    std::fs::create_dir(&dir).unwrap();
    let state = t.join("s");
    std::fs::write(dir.join("one.txt"), format!("ssn {SSN}\n")).unwrap();
    std::fs::write(dir.join("two.txt"), format!("card {CARD}\n")).unwrap();
    let scan = || {
        let out = cmd(BIN).arg("--state").arg(&state).arg(&dir).run();
        assert_eq!(out.code(), 0, "{}", out.stderr_str());
        out.records()
    };
    assert_eq!(scan().len(), 2);
    assert!(scan().is_empty(), "a second run reports nothing");
    std::fs::remove_file(dir.join("two.txt")).unwrap();
    let recs = scan();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["status"], "resolved");
    assert!(recs[0]["path"].as_str().unwrap().ends_with("two.txt"));
}

#[test]
fn bad_state_paths_fail_before_any_scan() {
    let t = TempDir::new("pii-state-bad");
    let a = t.join("a.txt");
    std::fs::write(&a, format!("ssn {SSN}\n")).unwrap();
    let out = cmd(BIN)
        .args(["--state", "/no/such/dir/pii.state"])
        .stdin(ev("created", &a))
        .run()
        .expect_code(2);
    assert!(out.records().is_empty());
    let err = out.stderr_str();
    assert!(
        err.contains(
            "pii-scan: state file /no/such/dir/pii.state: directory /no/such/dir does not exist"
        ),
        "{err}"
    );
    // A key others can read is refused (the key protects short findings).
    let state = t.join("s");
    run(&state, &ev("created", &a));
    let key = t.join("s.key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = cmd(BIN)
        .arg("--state")
        .arg(&state)
        .stdin("")
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("readable by others"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn routine_skips_are_quiet_unless_verbose_and_quiet_keeps_errors() {
    let t = TempDir::new("pii-verbosity");
    let sub = t.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let bin = t.join("b.bin");
    std::fs::write(&bin, b"\0\x01\x02").unwrap();
    let dir_ev = json!({"event_type":"created","src_path":sub,"dest_path":"","is_directory":true})
        .to_string()
        + "\n";
    let input = dir_ev + &ev("deleted", &t.join("gone")) + &ev("modified", &bin) + "{bad\n";
    let err = |args: &[&str]| {
        let out = cmd(BIN)
            .args(args)
            .stdin(input.clone())
            .run()
            .expect_code(1);
        out.stderr_str()
    };
    let default = err(&[]);
    assert!(!default.contains("skipped: directory") && !default.contains("skipped: deleted"));
    assert!(
        default.contains("skipped 3 file(s): 1 binary, 1 deleted, 1 directory (-v lists them)")
            && !default.contains("b.bin")
            && default.contains("line 4"),
        "{default}"
    );
    let verbose = err(&["-v"]);
    assert!(
        verbose.contains("sub: skipped: directory")
            && verbose.contains("gone: skipped: deleted")
            && verbose.contains("b.bin: skipped: binary")
    );
    let quiet = err(&["--quiet"]);
    assert!(!quiet.contains("skipped"), "{quiet}");
    assert!(
        quiet.contains("line 4: not an FsEvent record"),
        "errors stay: {quiet}"
    );
}

/// A pii-scan reading events from stdin with `state` open (once its lock
/// is there).
fn holding(state: &Path) -> testkit::Spawned {
    let first = cmd(BIN).arg("--state").arg(state).spawn();
    let mut lock = state.as_os_str().to_owned();
    lock.push(".lock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !Path::new(&lock).exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    first
}

#[test]
fn a_state_in_use_is_refused_and_released_on_exit() {
    let t = TempDir::new("pii-state-lock");
    let state = t.join("s");
    let mut first = holding(&state);
    let lock = t.join("s.lock");
    let out = cmd(BIN)
        .arg("--state")
        .arg(&state)
        .stdin("")
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("in use by process"),
        "{}",
        out.stderr_str()
    );
    first.close_stdin();
    let st = first
        .wait_timeout(std::time::Duration::from_secs(20))
        .unwrap();
    assert!(st.success());
    assert!(!lock.exists(), "the lock is released on exit");
    cmd(BIN)
        .arg("--state")
        .arg(&state)
        .stdin("")
        .run()
        .expect_code(0);
}

/// Runs pii-scan --state with `args`; (status, archive_path, path) per record.
fn run_args(state: &Path, args: &[&Path], input: &str) -> Vec<(String, String, String)> {
    scan_with_state(state, args, input, "archive_path")
}

fn zip_of(members: &[(&str, String)]) -> Vec<u8> {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(data.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

#[test]
fn archive_members_are_tracked_by_their_chain() {
    let t = TempDir::new("pii-state-zip");
    let state = t.join("s");
    let z = t.join("docs.zip");
    std::fs::write(
        &z,
        zip_of(&[
            ("a.txt", format!("ssn {SSN}\n")),
            ("b.txt", format!("ssn {SSN2}\n")),
        ]),
    )
    .unwrap();
    let first = run_args(&state, &[], &ev("created", &z));
    let chains: Vec<(&str, &str)> = first.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(chains, [("new", "a.txt"), ("new", "b.txt")]);
    assert!(run_args(&state, &[], &ev("modified", &z)).is_empty());

    // a.txt removed from the archive, c.txt added: one new, one resolved.
    std::fs::write(
        &z,
        zip_of(&[
            ("b.txt", format!("ssn {SSN2}\n")),
            ("c.txt", format!("card {CARD}\n")),
        ]),
    )
    .unwrap();
    let recs = run_args(&state, &[], &ev("modified", &z));
    let chains: Vec<(&str, &str)> = recs.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(chains, [("new", "c.txt"), ("resolved", "a.txt")]);
}

#[test]
fn many_findings_stream_through_the_state_across_jobs() {
    let t = TempDir::new("pii-state-many");
    let state = t.join("s");
    let dir = t.join("d");
    std::fs::create_dir(&dir).unwrap();
    // Far more findings than one job's channel holds, beside small files
    // scanned by the other worker.
    let big = dir.join("b.txt");
    let lines = |n: usize| format!("ssn {SSN}\n").repeat(n);
    std::fs::write(&big, lines(3000)).unwrap();
    for name in ["a.txt", "c.txt", "d.txt"] {
        std::fs::write(dir.join(name), format!("ssn {SSN2}\n")).unwrap();
    }
    let j2: &[&Path] = &[Path::new("-j"), Path::new("2"), &dir];
    let first = run_args(&state, j2, "");
    assert_eq!(first.len(), 3003);
    assert!(first.iter().all(|r| r.0 == "new"));
    let order: Vec<&str> = first.iter().map(|r| r.2.as_str()).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "files in walk order, each one whole");
    assert!(run_args(&state, j2, "").is_empty());

    // Five copies edited out, another SSN added: one new, five resolved.
    std::fs::write(&big, lines(2995) + &format!("{SSN2}\n")).unwrap();
    let recs = run_args(&state, j2, "");
    let by: Vec<&str> = recs.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        by,
        ["new", "resolved", "resolved", "resolved", "resolved", "resolved"]
    );

    // A scan that fails leaves what is known: its findings come again.
    std::fs::write(&big, lines(10)).unwrap();
    let failed = cmd(BIN)
        .env("PII_SCAN_TEST_PANIC", "b.txt")
        .arg("--state")
        .arg(&state)
        .arg(&big)
        .run()
        .expect_code(1);
    assert!(failed.stderr_str().contains("failed: internal error"));
    let recs = run_args(&state, &[&big], "");
    let by: Vec<&str> = recs.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(by.iter().filter(|s| **s == "resolved").count(), 2986);
    assert!(by.iter().all(|s| *s == "resolved"), "the 10 left are known");
}

#[test]
fn reset_state_starts_over_and_reports_every_finding_again() {
    let t = TempDir::new("pii-state-reset");
    let state = t.join("pii.state");
    let key = t.join("pii.state.key");
    let a = t.join("a.txt");
    std::fs::write(&a, format!("card {CARD}\nssn {SSN}\n")).unwrap();
    let first = run(&state, &ev("created", &a));
    assert_eq!(statuses(&first), [("new", CARD), ("new", SSN)]);
    assert!(run(&state, &ev("modified", &a)).is_empty());
    let old_key = std::fs::read_to_string(&key).unwrap();

    let again = scan_with_state(
        &state,
        &[Path::new("--reset-state")],
        &ev("modified", &a),
        "finding",
    );
    assert_eq!(statuses(&again), [("new", CARD), ("new", SSN)]);
    assert_ne!(std::fs::read_to_string(&key).unwrap(), old_key, "a new key");
    // The new state is kept as usual.
    assert!(run(&state, &ev("modified", &a)).is_empty());

    // With no state yet, it is a plain first run.
    let fresh = t.join("fresh.state");
    let recs = scan_with_state(
        &fresh,
        &[Path::new("--reset-state")],
        &ev("created", &a),
        "finding",
    );
    assert_eq!(recs.len(), 2);
}

#[test]
fn reset_state_removes_nothing_that_is_not_a_finding_state() {
    let t = TempDir::new("pii-state-reset-bad");
    let a = t.join("a.txt");
    std::fs::write(&a, format!("card {CARD}\n")).unwrap();
    let reset = |state: &Path| {
        cmd(BIN)
            .arg("--state")
            .arg(state)
            .arg("--reset-state")
            .stdin(ev("created", &a))
            .run()
    };

    // Some other file given as the state by mistake: kept, with its key.
    let notes = t.join("notes.txt");
    std::fs::write(&notes, "my notes\n").unwrap();
    std::fs::write(t.join("notes.txt.key"), "k\n").unwrap();
    let out = reset(&notes).expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains("--reset-state") && err.contains("is not a finding state"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing scanned");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes\n");
    assert!(t.join("notes.txt.key").exists());

    // A directory where the key would be: refused, the state kept.
    let state = t.join("s");
    run(&state, &ev("created", &a));
    let key = t.join("s.key");
    std::fs::remove_file(&key).unwrap();
    std::fs::create_dir(&key).unwrap();
    let err = reset(&state).expect_code(2).stderr_str();
    assert!(err.contains("is a directory; nothing was removed"), "{err}");
    assert!(state.exists());

    // --reset-state needs --state.
    let err = cmd(BIN)
        .arg("--reset-state")
        .stdin("")
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("--state"), "{err}");
}

#[test]
fn reset_state_leaves_a_state_in_use_alone() {
    let t = TempDir::new("pii-state-reset-lock");
    let state = t.join("s");
    let a = t.join("a.txt");
    std::fs::write(&a, format!("card {CARD}\n")).unwrap();
    run(&state, &ev("created", &a));
    let saved = std::fs::read(&state).unwrap();
    let mut first = holding(&state);
    let err = cmd(BIN)
        .arg("--state")
        .arg(&state)
        .arg("--reset-state")
        .stdin("")
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("in use by process"), "{err}");
    assert_eq!(std::fs::read(&state).unwrap(), saved, "not removed");
    assert!(t.join("s.key").exists());
    first.close_stdin();
    assert!(first
        .wait_timeout(std::time::Duration::from_secs(20))
        .unwrap()
        .success());
}
