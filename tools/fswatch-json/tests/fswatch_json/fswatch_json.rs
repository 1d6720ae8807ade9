//! Integration tests: the real binary on a real file system in temp dirs.
//! Each test waits for the "watching N directories" line before touching
//! files, and asserts parsed records.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use testkit::{cmd, sha256_hex as sha, Spawned, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_fswatch-json");
const T: Duration = Duration::from_secs(20);

fn start(args: &[&OsStr]) -> Spawned {
    start_env(args, &[])
}

fn start_env(args: &[&OsStr], env: &[(&str, &str)]) -> Spawned {
    let mut c = cmd(BIN).args(args);
    for (k, v) in env {
        c = c.env(k, v);
    }
    let mut s = c.spawn();
    assert!(
        s.wait_stderr("watching ", T),
        "no start line; stderr:\n{}",
        s.stderr_text()
    );
    s
}

fn os(p: &Path) -> &OsStr {
    p.as_os_str()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

fn is(v: &Value, t: &str, p: &Path) -> bool {
    s(v, "event_type") == t && s(v, "src_path") == p.to_str().unwrap()
}

/// Records until one matches `pred`; panics (with what was seen) on time-out.
fn until(w: &mut Spawned, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let v = w.records_until(T, |v| v.last().is_some_and(&pred));
    assert!(
        v.last().is_some_and(&pred),
        "expected record not seen; got {v:#?}\nstderr: {}",
        w.stderr_text()
    );
    v
}

#[test]
fn create_modify_delete() {
    let d = TempDir::new("fsj-cmd");
    let mut w = start(&[os(d.path())]);
    let f = d.join("a.txt");
    std::fs::write(&f, "one").unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&f)
        .and_then(|mut h| std::io::Write::write_all(&mut h, b"two"))
        .unwrap();
    std::fs::remove_file(&f).unwrap();
    let recs = until(&mut w, |v| is(v, "deleted", &f));
    let types: Vec<String> = recs
        .iter()
        .filter(|v| s(v, "src_path") == f.to_str().unwrap())
        .map(|v| s(v, "event_type"))
        .collect();
    assert_eq!(types.first().map(String::as_str), Some("created"));
    assert!(types.iter().any(|t| t == "modified"), "{types:?}");
    assert_eq!(types.last().map(String::as_str), Some("deleted"));
    let c = &recs[0];
    assert_eq!(c["is_directory"], false);
    assert_eq!(c["is_synthetic"], false);
    assert_eq!(c["dest_path"], "");
    assert!(s(c, "timestamp").ends_with('Z'));
}

#[test]
fn rename_within_is_one_moved_event() {
    let d = TempDir::new("fsj-mv");
    std::fs::write(d.join("a"), "x").unwrap();
    let mut w = start(&[os(d.path())]);
    std::fs::rename(d.join("a"), d.join("b")).unwrap();
    std::fs::write(d.join("sentinel"), "").unwrap();
    let recs = until(&mut w, |v| is(v, "created", &d.join("sentinel")));
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert!(is(&recs[0], "moved", &d.join("a")));
    assert_eq!(s(&recs[0], "dest_path"), d.join("b").to_str().unwrap());
}

#[test]
fn move_in_is_created_and_move_out_is_deleted() {
    let d = TempDir::new("fsj-in");
    let outside = TempDir::new("fsj-out");
    std::fs::write(outside.join("in.txt"), "x").unwrap();
    std::fs::write(d.join("out.txt"), "y").unwrap();
    std::fs::create_dir_all(outside.join("dir/sub")).unwrap();
    std::fs::write(outside.join("dir/sub/deep.txt"), "z").unwrap();
    let mut w = start(&[os(d.path())]);
    std::fs::rename(outside.join("in.txt"), d.join("in.txt")).unwrap();
    let recs = until(&mut w, |v| is(v, "created", &d.join("in.txt")));
    assert_eq!(recs.len(), 1, "{recs:#?}");
    std::fs::rename(d.join("out.txt"), outside.join("out.txt")).unwrap();
    until(&mut w, |v| is(v, "deleted", &d.join("out.txt")));
    // A directory moved in is watched and its contents reported.
    std::fs::rename(outside.join("dir"), d.join("dir")).unwrap();
    until(&mut w, |v| is(v, "created", &d.join("dir/sub/deep.txt")));
    std::fs::write(d.join("dir/sub/new.txt"), "n").unwrap();
    until(&mut w, |v| is(v, "created", &d.join("dir/sub/new.txt")));
}

#[test]
fn nested_directories_created_and_filled_at_once_lose_nothing() {
    let d = TempDir::new("fsj-nest");
    let mut w = start(&[os(d.path())]);
    let deep = d.join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    let mut want = BTreeSet::new();
    for dir in [d.join("a"), d.join("a/b"), deep.clone()] {
        want.insert(dir.clone());
        for i in 0..20 {
            let f = dir.join(format!("f{i}"));
            std::fs::write(&f, "x").unwrap();
            want.insert(f);
        }
    }
    let mut got = BTreeSet::new();
    w.records_until(T, |v| {
        if let Some(r) = v.last().filter(|r| s(r, "event_type") == "created") {
            got.insert(PathBuf::from(s(r, "src_path")));
        }
        got.len() >= want.len()
    });
    assert_eq!(got, want);
}

#[test]
fn access_reports_open_and_close_nowrite_on_a_read() {
    let d = TempDir::new("fsj-acc");
    let f = d.join("secret.txt");
    std::fs::write(&f, "pii").unwrap();
    let mut w = start(&[OsStr::new("--access"), os(d.path())]);
    assert_eq!(std::fs::read(&f).unwrap(), b"pii");
    let recs = until(&mut w, |v| is(v, "closed_no_write", &f));
    assert!(recs.iter().any(|v| is(v, "opened", &f)), "{recs:#?}");
    // A write is reported as opened, modified, closed.
    std::fs::write(&f, "more").unwrap();
    until(&mut w, |v| is(v, "closed", &f));
}

#[test]
fn access_events_are_off_by_default() {
    let d = TempDir::new("fsj-noacc");
    let f = d.join("f");
    std::fs::write(&f, "x").unwrap();
    let mut w = start(&[os(d.path())]);
    std::fs::read(&f).unwrap();
    std::fs::write(d.join("sentinel"), "").unwrap();
    let recs = until(&mut w, |v| is(v, "created", &d.join("sentinel")));
    assert_eq!(recs.len(), 1, "{recs:#?}");
}

#[test]
fn initial_scan_reports_existing_files_as_synthetic() {
    let d = TempDir::new("fsj-init");
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/a"), "a").unwrap();
    std::fs::write(d.join("b"), "b").unwrap();
    let mut w = start(&[
        OsStr::new("--initial-scan"),
        OsStr::new("--hash"),
        os(d.path()),
    ]);
    let recs = w.records_until(T, |v| v.len() >= 3);
    let got: BTreeSet<String> = recs.iter().map(|v| s(v, "src_path")).collect();
    let want: BTreeSet<String> = ["sub", "sub/a", "b"]
        .iter()
        .map(|p| d.join(p).to_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, want);
    for v in &recs {
        assert_eq!(s(v, "event_type"), "created");
        assert_eq!(v["is_synthetic"], true);
        assert_eq!(s(v, "reason"), "initial_scan");
    }
    let b = recs
        .iter()
        .find(|v| s(v, "src_path").ends_with("/b"))
        .unwrap();
    assert_eq!(s(b, "sha256"), sha(b"b"));
    assert!(
        recs.iter()
            .find(|v| s(v, "src_path").ends_with("/sub"))
            .unwrap()["is_directory"]
            == true
    );
}

#[test]
fn state_reports_changes_made_while_down_and_sigterm_saves_it() {
    let d = TempDir::new("fsj-state");
    let st = TempDir::new("fsj-statefile");
    let state = st.join("base.state");
    std::fs::write(d.join("keep"), "same").unwrap();
    std::fs::write(d.join("mod"), "old").unwrap();
    std::fs::write(d.join("del"), "bye").unwrap();
    let args = [OsStr::new("--state"), os(&state), os(d.path())];
    let mut w = start(&args);
    // First run: no baseline yet, nothing to report; a change while running is tracked.
    std::fs::write(d.join("live"), "l").unwrap();
    until(&mut w, |v| is(v, "created", &d.join("live")));
    w.signal(15);
    let st1 = w.wait_timeout(T).expect("exits on SIGTERM");
    assert_eq!(st1.code(), Some(143), "stderr: {}", w.stderr_text());
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains(d.join("live").to_str().unwrap()), "{saved}");

    std::fs::write(d.join("mod"), "new content").unwrap();
    std::fs::remove_file(d.join("del")).unwrap();
    std::fs::write(d.join("new"), "n").unwrap();
    let mut w = start(&args);
    let recs = w.records_until(T, |v| v.len() >= 3);
    let mut by: Vec<(String, String)> = recs
        .iter()
        .map(|v| (s(v, "event_type"), s(v, "src_path")))
        .collect();
    by.sort();
    let p = |n: &str| d.join(n).to_str().unwrap().to_owned();
    assert_eq!(
        by,
        vec![
            ("created".into(), p("new")),
            ("deleted".into(), p("del")),
            ("modified".into(), p("mod"))
        ]
    );
    for v in &recs {
        assert_eq!(v["is_synthetic"], true);
        assert_eq!(s(v, "reason"), "baseline");
    }
    let m = recs
        .iter()
        .find(|v| s(v, "event_type") == "modified")
        .unwrap();
    assert_eq!(s(m, "previous_sha256"), sha(b"old"));
    assert_eq!(s(m, "sha256"), sha(b"new content"));
    let del = recs
        .iter()
        .find(|v| s(v, "event_type") == "deleted")
        .unwrap();
    assert_eq!(s(del, "previous_sha256"), sha(b"bye"));
    // Nothing else (keep is unchanged).
    std::fs::write(d.join("sentinel"), "").unwrap();
    let more = until(&mut w, |v| is(v, "created", &d.join("sentinel")));
    assert_eq!(more.len(), 1, "{more:#?}");
}

#[test]
fn only_content_changes_ignores_touch_but_reports_edit() {
    let d = TempDir::new("fsj-occ");
    let f = d.join("conf");
    std::fs::write(&f, "v1").unwrap();
    let mut w = start(&[OsStr::new("--only-content-changes"), os(d.path())]);
    // touch: new mtime, same content
    let h = std::fs::File::options().write(true).open(&f).unwrap();
    h.set_modified(std::time::SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    drop(h);
    // Sync point: a record for another file made after the touch. Records
    // come out in event order, so once the sentinel's is seen the touch has
    // been processed, and a report of it would be among these records.
    let sentinel = d.join("sentinel");
    std::fs::write(&sentinel, "").unwrap();
    let seen = until(&mut w, |v| is(v, "created", &sentinel));
    assert!(
        seen.iter().all(|v| s(v, "src_path") != f.to_str().unwrap()),
        "the touch must not be reported: {seen:#?}"
    );
    std::fs::write(&f, "v2").unwrap();
    let recs = until(&mut w, |v| s(v, "sha256") == sha(b"v2"));
    // The touch (same content) is not reported; the write may show as two
    // real changes (truncation to empty, then the new bytes).
    assert!(
        recs.iter().all(|v| s(v, "sha256") != sha(b"v1")),
        "the touch must not be reported: {recs:#?}"
    );
    assert!(recs.iter().all(|v| is(v, "modified", &f)), "{recs:#?}");
    assert_eq!(s(&recs[0], "previous_sha256"), sha(b"v1"));
    assert!(recs.len() <= 2, "{recs:#?}");
}

#[test]
fn hash_never_opens_a_fifo() {
    let d = TempDir::new("fsj-fifo");
    let mut w = start(&[OsStr::new("--hash"), OsStr::new("--stat"), os(d.path())]);
    let fifo = d.join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let recs = until(&mut w, |v| is(v, "created", &fifo));
    assert!(recs.last().unwrap().get("sha256").is_none());
    let f = d.join("after");
    std::fs::write(&f, "abc").unwrap();
    let recs = until(&mut w, |v| is(v, "created", &f) || is(v, "modified", &f));
    assert!(recs.last().unwrap().get("sha256").is_some());
    // The file's own permission bits, whatever the umask made them.
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777
    };
    assert_eq!(recs.last().unwrap()["mode"], format!("{mode:04o}"));
}

#[test]
fn exclude_applies_before_watches_are_placed() {
    let d = TempDir::new("fsj-excl");
    for p in ["node_modules/a/b", "node_modules/c", "src"] {
        std::fs::create_dir_all(d.join(p)).unwrap();
    }
    let mut all = start(&[os(d.path())]);
    assert!(
        all.wait_stderr("watching 6 directories", T),
        "{}",
        all.stderr_text()
    );
    drop(all);
    let mut w = start(&[
        OsStr::new("--exclude"),
        OsStr::new("/node_modules(/|$)"),
        os(d.path()),
    ]);
    assert!(
        w.wait_stderr("watching 2 directories", T),
        "{}",
        w.stderr_text()
    );
    std::fs::write(d.join("node_modules/a/b/x.js"), "x").unwrap();
    std::fs::write(d.join("node_modules/y.js"), "y").unwrap();
    std::fs::write(d.join("src/main.rs"), "m").unwrap();
    let recs = until(&mut w, |v| is(v, "created", &d.join("src/main.rs")));
    assert_eq!(recs.len(), 1, "{recs:#?}");
}

#[test]
fn non_utf8_names_are_reported_with_raw_bytes() {
    let d = TempDir::new("fsj-utf");
    let mut w = start(&[os(d.path())]);
    let mut raw = d.path().as_os_str().as_bytes().to_vec();
    raw.extend_from_slice(b"/caf\xe9.txt");
    let p = PathBuf::from(OsStr::from_bytes(&raw));
    std::fs::write(&p, "x").unwrap();
    let recs = until(&mut w, |v| s(v, "event_type") == "created");
    let v = recs.last().unwrap();
    assert!(s(v, "src_path").ends_with("caf\u{fffd}.txt"));
    let b64 = s(v, "src_path_b64");
    let decoded = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            std::io::Write::write_all(c.stdin.as_mut().unwrap(), b64.as_bytes())?;
            drop(c.stdin.take());
            c.wait_with_output()
        });
    assert_eq!(decoded.unwrap().stdout, raw);
}

#[test]
fn injected_overflow_is_reported_and_rescan_recovers_what_was_dropped() {
    let d = TempDir::new("fsj-ovf");
    std::fs::write(d.join("keep"), "k").unwrap();
    std::fs::write(d.join("del"), "d").unwrap();
    std::fs::write(d.join("mod"), "m").unwrap();
    std::fs::create_dir(d.join("olddir")).unwrap();
    std::fs::write(d.join("olddir/inner"), "i").unwrap();
    let mut w = start_env(
        &[OsStr::new("--hash"), os(d.path())],
        &[("FSWATCH_JSON_DEBUG_OVERFLOW", "1")],
    );
    w.signal(10);
    assert!(w.wait_stderr("discarding events", T));
    std::fs::write(d.join("new"), "n").unwrap();
    std::fs::remove_file(d.join("del")).unwrap();
    std::fs::write(d.join("mod"), "changed").unwrap();
    std::fs::create_dir_all(d.join("newdir/sub")).unwrap();
    std::fs::write(d.join("newdir/sub/f"), "f").unwrap();
    std::fs::remove_dir_all(d.join("olddir")).unwrap();
    w.signal(10);
    let recs = w.records_until(T, |v| v.len() >= 9);
    assert!(is(&recs[0], "overflow", d.path()), "{recs:#?}");
    assert_eq!(recs[0]["is_synthetic"], false);
    let mut got: Vec<(String, String)> = recs[1..]
        .iter()
        .map(|v| {
            (
                s(v, "event_type"),
                s(v, "src_path").replace(d.path().to_str().unwrap(), ""),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = [
        ("created", "/new"),
        ("created", "/newdir"),
        ("created", "/newdir/sub"),
        ("created", "/newdir/sub/f"),
        ("deleted", "/del"),
        ("deleted", "/olddir"),
        ("deleted", "/olddir/inner"),
        ("modified", "/mod"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want, "{recs:#?}");
    for v in &recs[1..] {
        assert_eq!(v["is_synthetic"], true);
        assert_eq!(s(v, "reason"), "rescan");
    }
    let m = recs
        .iter()
        .find(|v| s(v, "event_type") == "modified")
        .unwrap();
    assert_eq!(s(m, "previous_sha256"), sha(b"m"));
    // Watching goes on, including the directory found by the rescan.
    std::fs::write(d.join("newdir/sub/g"), "g").unwrap();
    until(&mut w, |v| is(v, "created", &d.join("newdir/sub/g")));
}

#[test]
fn burst_of_20000_files_is_reported_completely() {
    let d = TempDir::new("fsj-burst");
    let mut w = start(&[os(d.path())]);
    const N: usize = 20_000;
    for i in 0..N {
        std::fs::write(d.join(format!("f{i:05}")), b"x").unwrap();
    }
    let mut got = BTreeSet::new();
    w.records_until(Duration::from_secs(60), |v| {
        if let Some(r) = v.last().filter(|r| s(r, "event_type") == "created") {
            got.insert(s(r, "src_path"));
        }
        got.len() >= N
    });
    let want: BTreeSet<String> = (0..N)
        .map(|i| d.join(format!("f{i:05}")).to_str().unwrap().to_owned())
        .collect();
    assert_eq!(got.len(), N);
    assert_eq!(got, want);
}

#[test]
fn missing_path_is_a_fatal_error() {
    let d = TempDir::new("fsj-missing");
    let out = cmd(BIN).arg(d.join("nope")).run().expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains("fswatch-json: ") && err.contains("nope") && err.contains("No such file"),
        "{err}"
    );
}

#[test]
fn with_several_paths_a_missing_one_is_skipped() {
    let d = TempDir::new("fsj-several");
    let mut w = start(&[os(&d.join("nope")), os(d.path())]);
    assert!(w.stderr_text().contains("skipped"));
    std::fs::write(d.join("ok"), "").unwrap();
    until(&mut w, |v| is(v, "created", &d.join("ok")));
}

#[test]
fn closed_stdout_ends_quietly_with_status_0() {
    let d = TempDir::new("fsj-pipe");
    let mut child = Command::new(BIN)
        .arg(d.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert!(line.contains("watching"), "{line}");
    drop(child.stdout.take());
    std::fs::write(d.join("x"), "").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(0), "stderr: {rest}");
    assert!(rest.is_empty(), "{rest}");
}

#[test]
fn debounce_turns_an_atomic_save_into_one_modified() {
    let d = TempDir::new("fsj-deb");
    let f = d.join("doc.txt");
    std::fs::write(&f, "v1").unwrap();
    let mut w = start(&[OsStr::new("--debounce"), OsStr::new("100"), os(d.path())]);
    let tmp = d.join(".doc.txt.swp");
    std::fs::write(&tmp, "v").unwrap();
    std::fs::write(&tmp, "v2").unwrap();
    std::fs::rename(&tmp, &f).unwrap();
    std::fs::write(d.join("sentinel"), "").unwrap();
    let recs = until(&mut w, |v| {
        is(v, "created", &d.join("sentinel")) || is(v, "modified", &d.join("sentinel"))
    });
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert!(is(&recs[0], "modified", &f), "{recs:#?}");
}

#[test]
fn poll_mode_reports_changes() {
    let d = TempDir::new("fsj-poll");
    std::fs::write(d.join("old"), "o").unwrap();
    let mut w = start(&[OsStr::new("--poll"), OsStr::new("50"), os(d.path())]);
    assert!(w.stderr_text().contains("polling every 50 ms"));
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/new"), "n").unwrap();
    until(&mut w, |v| is(v, "created", &d.join("sub/new")));
    std::fs::remove_file(d.join("old")).unwrap();
    until(&mut w, |v| is(v, "deleted", &d.join("old")));
}

#[test]
fn no_recursive_ignores_subdirectories() {
    let d = TempDir::new("fsj-norec");
    std::fs::create_dir(d.join("sub")).unwrap();
    let mut w = start(&[OsStr::new("--no-recursive"), os(d.path())]);
    assert!(w.stderr_text().contains("watching 1 directories"));
    std::fs::write(d.join("sub/x"), "").unwrap();
    std::fs::write(d.join("top"), "").unwrap();
    let recs = until(&mut w, |v| is(v, "created", &d.join("top")));
    assert_eq!(recs.len(), 1, "{recs:#?}");
}

#[test]
fn removing_the_watched_directory_reports_it_and_ends() {
    let parent = TempDir::new("fsj-rootgone");
    let root = parent.join("watched");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("f"), "x").unwrap();
    let mut w = start(&[os(&root)]);
    std::fs::remove_dir_all(&root).unwrap();
    let recs = until(&mut w, |v| is(v, "deleted", &root));
    assert!(
        recs.iter().any(|v| is(v, "deleted", &root.join("f"))),
        "{recs:#?}"
    );
    let st = w
        .wait_timeout(T)
        .expect("exits when nothing is left to watch");
    assert_eq!(st.code(), Some(0));
    assert!(w.stderr_text().contains("no watched directories left"));
}

#[test]
fn events_name_this_host() {
    let d = TempDir::new("fsj-host");
    std::fs::write(d.join("a"), "a").unwrap();
    let mut w = start(&[OsStr::new("--initial-scan"), os(d.path())]);
    let recs = w.records_until(T, |v| !v.is_empty());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(recs[0]["host"], host.trim(), "{}", recs[0]);
}

/// Runs a command that must succeed (chmod, chown, setfacl, setfattr).
fn sh(args: &[&str]) {
    let st = Command::new(args[0]).args(&args[1..]).status();
    assert!(
        st.is_ok_and(|s| s.success()),
        "{args:?} failed (Debian: acl and attr packages for setfacl and setfattr)"
    );
}

#[test]
fn metadata_changes_are_one_attrib_event_each_and_touch_is_silent() {
    let tools = testkit::ensure_commands(&[("setfacl", "acl"), ("setfattr", "attr")]);
    if !testkit::facility(
        testkit::is_root() && tools,
        "root (chown, security.* attributes) and setfacl/setfattr (Debian: acl, attr)",
    ) {
        return;
    }
    let d = TempDir::new("fsj-attrib");
    let f = d.join("users.csv");
    std::fs::write(&f, "name,ssn\n").unwrap();
    sh(&["chmod", "644", f.to_str().unwrap()]);
    let mut w = start(&[OsStr::new("--only-content-changes"), os(d.path())]);
    let p = f.to_str().unwrap();
    let attrib = |w: &mut Spawned, field: &str| {
        let v = until(w, |v| is(v, "attrib", &f));
        assert_eq!(v.len(), 1, "one event, nothing before it: {v:#?}");
        let ev = v[0].clone();
        assert_eq!(
            ev["changed"].as_array().unwrap().last().unwrap(),
            field,
            "{ev}"
        );
        ev
    };
    sh(&["chmod", "666", p]);
    let ev = attrib(&mut w, "mode");
    assert_eq!(
        (s(&ev, "mode"), ev["previous"]["mode"].as_str()),
        ("0666".into(), Some("0644"))
    );
    sh(&["chown", "65534:65534", p]);
    let ev = attrib(&mut w, "gid");
    assert_eq!(ev["changed"], serde_json::json!(["uid", "gid"]));
    assert_eq!(
        (ev["uid"].as_u64(), ev["previous"]["uid"].as_u64()),
        (Some(65534), Some(0))
    );
    sh(&["setfacl", "-m", "u:1000:r", p]);
    let ev = attrib(&mut w, "acl");
    assert_eq!(
        s(&ev, "acl"),
        "user::rw-,user:1000:r--,group::rw-,mask::rw-,other::rw-"
    );
    assert_eq!(ev["previous"]["acl"], "");
    sh(&["setfattr", "-n", "security.dlp-test", "-v", "label", p]);
    let ev = attrib(&mut w, "xattrs");
    assert_eq!(ev["xattrs"]["security.dlp-test"], "label");
    assert_eq!(ev["previous"]["xattrs"], serde_json::json!({}));
    // Times alone, and a save of the same content: nothing.
    sh(&["touch", p]);
    std::fs::write(&f, "name,ssn\n").unwrap();
    // A new file: one event.
    let g = d.join("new.csv");
    std::fs::write(&g, "x").unwrap();
    let v = until(&mut w, |v| s(v, "src_path") == g.to_str().unwrap());
    assert_eq!(v.len(), 1, "touch and an unchanged save are silent: {v:#?}");
    assert!(w.drain_records(Duration::from_millis(500)).is_empty());
}

/// `fswatch-json --state STATE --check DIR` and its exit status.
fn check(state: &Path, dir: &Path, extra: &[&str]) -> testkit::Output {
    cmd(BIN)
        .arg("--state")
        .arg(state)
        .arg("--check")
        .args(extra)
        .arg(dir)
        .run()
}

#[test]
fn check_compares_the_tree_with_the_baseline_like_aide() {
    let d = TempDir::new("fsj-check");
    let tree = d.join("etc");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("passwd"), "root:x:0:0\n").unwrap();
    std::fs::write(tree.join("hosts"), "127.0.0.1 localhost\n").unwrap();
    let state = d.join("etc.state");
    // No baseline yet: recorded, status 0, nothing on stdout.
    let out = check(&state, &tree, &[]).expect_code(0);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr_str().contains("recorded 2 entries"),
        "{}",
        out.stderr_str()
    );
    assert!(
        check(&state, &tree, &[]).expect_code(0).stdout.is_empty(),
        "unchanged"
    );
    // A content change and a mode change.
    std::fs::write(tree.join("passwd"), "root:x:0:0\nevil:x:0:0\n").unwrap();
    sh(&["chmod", "600", tree.join("hosts").to_str().unwrap()]);
    let out = check(&state, &tree, &[]).expect_code(1);
    let ev = out.records();
    assert_eq!(ev.len(), 2, "{ev:#?}");
    assert_eq!(
        (s(&ev[0], "event_type"), s(&ev[0], "changed")),
        ("attrib".into(), String::new())
    );
    assert_eq!(ev[0]["changed"], serde_json::json!(["mode"]));
    assert!(is(&ev[1], "modified", &tree.join("passwd")));
    assert_eq!(s(&ev[1], "previous_sha256"), sha(b"root:x:0:0\n"));
    // The same differences until accepted; then quiet again.
    check(&state, &tree, &[]).expect_code(1);
    check(&state, &tree, &["--update"]).expect_code(0);
    assert!(check(&state, &tree, &[]).expect_code(0).stdout.is_empty());
    // A rename is one moved (same inode and content); a new file, a deletion.
    std::fs::rename(tree.join("hosts"), tree.join("hosts.bak")).unwrap();
    std::fs::write(tree.join("shadow"), "root:*:1\n").unwrap();
    std::fs::remove_file(tree.join("passwd")).unwrap();
    let ev = check(&state, &tree, &[]).expect_code(1).records();
    let kinds: Vec<(String, String)> = ev
        .iter()
        .map(|e| {
            (
                s(e, "event_type"),
                s(e, "src_path").rsplit('/').next().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("moved".into(), "hosts".into()),
            ("created".into(), "shadow".into()),
            ("deleted".into(), "passwd".into())
        ]
    );
    assert!(s(&ev[0], "dest_path").ends_with("hosts.bak"));
    // The baseline can be listed.
    let list = cmd(BIN)
        .arg("--state")
        .arg(&state)
        .arg("--list")
        .run()
        .expect_code(0);
    let paths: Vec<String> = list.records().iter().map(|r| s(r, "path")).collect();
    assert_eq!(paths.len(), 2);
    assert!(
        paths[0].ends_with("/hosts") && paths[1].ends_with("/passwd"),
        "{paths:?}"
    );
    // Errors: a missing tree is status 2.
    check(&state, &d.join("nope"), &[]).expect_code(2);
}

#[test]
fn who_names_the_process_and_user_behind_a_read_and_a_write() {
    if !testkit::facility(
        testkit::is_root() && testkit::has_command("setpriv"),
        "root (fanotify) and setpriv (util-linux)",
    ) {
        return;
    }
    let d = TempDir::new("fsj-who");
    let f = d.join("payroll.csv");
    std::fs::write(&f, "name,ssn\n").unwrap();
    sh(&["chmod", "666", f.to_str().unwrap()]);
    sh(&["chmod", "755", d.path().to_str().unwrap()]);
    let mut w = start(&[
        OsStr::new("--access"),
        OsStr::new("--hash"),
        OsStr::new("--who"),
        os(d.path()),
    ]);
    // Another user's process reads, then writes, the file; it lives on a
    // moment so /proc still has it when the event is read.
    let as_nobody = |code: &str| {
        let mut c = Command::new("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .args(["/usr/bin/python3", "-c", code])
            .arg(&f)
            .spawn()
            .unwrap();
        let pid = c.id();
        std::thread::spawn(move || c.wait());
        pid
    };
    let reader = as_nobody("import sys,time; open(sys.argv[1]).read(); time.sleep(1)");
    let v = until(&mut w, |v| is(v, "closed_no_write", &f));
    let read = v.last().unwrap();
    assert_eq!(read["pid"].as_u64(), Some(reader as u64), "{read}");
    assert_eq!(read["comm"], "python3");
    assert_eq!(read["process_uid"], 65534);
    assert_eq!(read["user"], "nobody");
    let writer = as_nobody("import sys,time; open(sys.argv[1],'a').write('x'); time.sleep(1)");
    let v = until(&mut w, |v| is(v, "modified", &f));
    let wrote = v.last().unwrap();
    assert_eq!(wrote["pid"].as_u64(), Some(writer as u64), "{wrote}");
    assert_eq!(wrote["user"], "nobody");
    // Without --who nothing is attributed (and no privilege is needed).
    assert!(!s(read, "timestamp").is_empty());
}

#[test]
fn who_without_fanotify_privilege_is_a_clear_error() {
    if !testkit::facility(
        testkit::is_root() && testkit::has_command("setpriv"),
        "root to drop to another user (setpriv)",
    ) {
        return;
    }
    let d = TempDir::new("fsj-who-nopriv");
    sh(&["chmod", "755", d.path().to_str().unwrap()]);
    // A copy the other user can run wherever the checkout is.
    let bin = d.join("fswatch-json");
    std::fs::copy(BIN, &bin).unwrap();
    sh(&["chmod", "755", bin.to_str().unwrap()]);
    let out = cmd("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(&bin)
        .arg("--who")
        .arg(d.path())
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str()
            .contains("--who needs fanotify, which needs root"),
        "{}",
        out.stderr_str()
    );
}
