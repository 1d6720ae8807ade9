//! The post-overflow rescan at scale: new files are reported from their
//! directory entries (no lstat each), and what such a file later becomes
//! is still reported. Real binary, real files, the injected-overflow hook.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use testkit::{cmd, Spawned, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_fswatch-json");
const T: Duration = Duration::from_secs(30);
const HOOK: (&str, &str) = ("FSWATCH_JSON_DEBUG_OVERFLOW", "1");

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

fn started(mut w: Spawned) -> Spawned {
    assert!(
        w.wait_stderr("watching ", T),
        "no start line; stderr:\n{}",
        w.stderr_text()
    );
    w
}

/// Sends SIGUSR1 to `pid` (the injected-overflow hook's toggle).
fn usr1(pid: u32) {
    let st = std::process::Command::new("kill")
        .args(["-USR1", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// strace can trace a child here (installed, and ptrace allowed).
fn strace_works() -> bool {
    testkit::ensure_commands(&[("strace", "strace")])
        && std::process::Command::new("strace")
            .args(["-qq", "-o", "/dev/null", "true"])
            .status()
            .is_ok_and(|s| s.success())
}

/// The pid of the only child of `pid`.
fn child_of(pid: u32) -> u32 {
    for _ in 0..500 {
        let kids =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        if let Some(k) = kids.split_whitespace().next() {
            return k.parse().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no child of {pid}");
}

/// Records until every path in `want` was named by a `created` record.
fn created_until(w: &mut Spawned, want: &BTreeSet<String>) -> Vec<Value> {
    let mut got = BTreeSet::new();
    let recs = w.records_until(Duration::from_secs(60), |v| {
        if let Some(r) = v.last().filter(|r| s(r, "event_type") == "created") {
            got.insert(s(r, "src_path"));
        }
        want.is_subset(&got)
    });
    assert!(
        want.is_subset(&got),
        "{} of {} reported; stderr: {}",
        want.intersection(&got).count(),
        want.len(),
        w.stderr_text()
    );
    recs
}

#[test]
fn a_rescan_reports_thousands_of_new_files_without_an_lstat_each() {
    if !testkit::facility(strace_works(), "strace missing or ptrace not permitted") {
        return;
    }
    let t = TempDir::new("fsj-rescan-lstat");
    let w = t.join("w");
    std::fs::create_dir(&w).unwrap();
    let trace = t.join("trace");
    let mut tracer = started(
        cmd("strace")
            .args([OsStr::new("-f"), OsStr::new("-qq"), OsStr::new("-e")])
            .args([
                OsStr::new("trace=%%stat"),
                OsStr::new("-o"),
                trace.as_os_str(),
            ])
            .args([OsStr::new("--"), OsStr::new(BIN), w.as_os_str()])
            .env(HOOK.0, HOOK.1)
            .spawn(),
    );
    let watcher = child_of(tracer.pid());
    usr1(watcher);
    assert!(tracer.wait_stderr("discarding events", T));
    const N: usize = 4000;
    let mut want = BTreeSet::new();
    for d in 0..4 {
        let sub = w.join(format!("d{d}"));
        std::fs::create_dir(&sub).unwrap();
        for i in 0..N / 4 {
            let p = sub.join(format!("f{i:04}"));
            std::fs::write(&p, b"x").unwrap();
            want.insert(p.to_str().unwrap().to_owned());
        }
    }
    let before = std::fs::read_to_string(&trace).unwrap().lines().count();
    usr1(watcher);
    let recs = created_until(&mut tracer, &want);
    assert_eq!(s(&recs[0], "event_type"), "overflow", "{:?}", recs[0]);
    let st = std::process::Command::new("kill")
        .arg(watcher.to_string())
        .status()
        .unwrap();
    assert!(st.success());
    assert!(tracer.wait_timeout(T).is_some(), "watcher did not stop");
    let stats = std::fs::read_to_string(&trace).unwrap().lines().count() - before;
    // The four new directories are lstat-ed (and watched), their files not.
    assert!(
        stats < N / 10,
        "{stats} stat calls during a rescan that found {N} new files"
    );
}

#[test]
fn a_file_a_rescan_only_listed_is_reported_when_it_changes_during_a_later_overflow() {
    let t = TempDir::new("fsj-rescan-later");
    let w = t.join("w");
    std::fs::create_dir(&w).unwrap();
    let mut watcher = started(cmd(BIN).arg(&w).env(HOOK.0, HOOK.1).spawn());
    let overflow = |watcher: &mut Spawned, during: &dyn Fn()| {
        watcher.signal(10);
        assert!(watcher.wait_stderr("discarding events", T));
        during();
        watcher.signal(10);
    };
    let (edited, chmodded, kept) = (w.join("edited"), w.join("chmodded"), w.join("kept"));
    overflow(&mut watcher, &|| {
        for p in [&edited, &chmodded, &kept] {
            std::fs::write(p, b"first").unwrap();
        }
        // Older than the listing by more than the ctime slack (2 s), so
        // the later rescan can tell that `kept` did not change.
        std::thread::sleep(Duration::from_millis(2500));
    });
    let all = |ps: &[&Path]| -> BTreeSet<String> {
        ps.iter().map(|p| p.to_str().unwrap().to_owned()).collect()
    };
    created_until(&mut watcher, &all(&[&edited, &chmodded, &kept]));
    let sentinel = w.join("sentinel");
    overflow(&mut watcher, &|| {
        std::fs::write(&edited, b"second").unwrap();
        let st = std::process::Command::new("chmod")
            .arg("600")
            .arg(&chmodded)
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::write(&sentinel, b"s").unwrap();
    });
    let recs = created_until(&mut watcher, &all(&[&sentinel]));
    // The rescan's records come in one go; a record after them proves none is pending.
    let after = w.join("after");
    std::fs::write(&after, b"a").unwrap();
    let recs: Vec<Value> = recs
        .into_iter()
        .chain(created_until(&mut watcher, &all(&[&after])))
        .collect();
    // (The hook may let a real event through as discarding stops.)
    let about = |p: &Path| -> Vec<String> {
        recs.iter()
            .filter(|r| s(r, "src_path") == p.to_str().unwrap())
            .map(|r| s(r, "event_type"))
            .collect()
    };
    assert!(about(&edited).contains(&"modified".to_owned()), "{recs:#?}");
    let chmod = about(&chmodded);
    assert!(
        !chmod.is_empty() && chmod.iter().all(|t| t == "modified" || t == "attrib"),
        "{recs:#?}"
    );
    assert!(about(&kept).is_empty(), "{recs:#?}");
}
