//! `fswatch-json --mounts` with real mounts: the watcher runs in a private
//! mount namespace (`unshare -m`), and the test mounts a tmpfs and a
//! loop-mounted ext4 image in that namespace (`nsenter`) under a temporary
//! `--mount-root`. Where mounts cannot be made the test says so, and fails
//! under CI (CI=true) instead of passing silently.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use testkit::{cmd, Spawned, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_fswatch-json");
const WAIT: Duration = Duration::from_secs(15);

fn mounts_available() -> bool {
    testkit::facility(
        testkit::can_mount() && testkit::ensure_commands(&[("mkfs.ext4", "e2fsprogs")]),
        "cannot create a private mount namespace, mount a tmpfs or run mkfs.ext4 (needs root and e2fsprogs): --mounts tests not run",
    )
}

/// Runs a command in the watcher's mount namespace.
fn within(w: &Spawned, args: &[&str]) {
    let pid = w.child.id().to_string();
    let out = cmd("nsenter")
        .args(["-t", &pid, "-m", "--"])
        .args(args)
        .run();
    assert_eq!(out.code(), 0, "{args:?}: {}", out.stderr_str());
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn until(w: &mut Spawned, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let mut seen = Vec::new();
    loop {
        match w.next_record(WAIT) {
            Some(r) if f(&r) => return r,
            // Unmounting moves no file: it must never read as deletions.
            Some(r) if r["event_type"] == "deleted" => panic!("unexpected {r}"),
            Some(r) => seen.push(r),
            None => panic!(
                "no {what} within {WAIT:?}; saw {seen:#?}\nstderr: {}",
                w.stderr_text()
            ),
        }
    }
}

#[test]
fn removable_mounts_are_reported_watched_and_copies_of_protected_files_flagged() {
    if !mounts_available() {
        return;
    }
    let t = TempDir::new("fsw-mounts");
    let (protected, media, elsewhere) = (t.join("protected"), t.join("media"), t.join("elsewhere"));
    for d in [
        &protected,
        &media.join("stick"),
        &media.join("disk"),
        &elsewhere,
        &t.join("imgsrc"),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    let secret = protected.join("customers.csv");
    std::fs::write(&secret, "name,card\nAna,4916-6734-7572-5015\n").unwrap();
    // An ext4 image that already holds a file: --initial-scan reports it on mount.
    std::fs::write(t.join("imgsrc/already-there.txt"), "hello\n").unwrap();
    let img = t.join("disk.img");
    cmd("truncate")
        .args(["-s", "8M", s(&img)])
        .run()
        .expect_code(0);
    cmd("mkfs.ext4")
        .args(["-q", "-F", "-d", s(&t.join("imgsrc")), s(&img)])
        .run()
        .expect_code(0);

    let mut w = cmd("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            BIN,
            "--mounts",
            "--hash",
            "--initial-scan",
        ])
        .args(["--mount-root", s(&media), s(&protected)])
        .spawn();
    assert!(
        w.wait_stderr("fswatch-json: watching", WAIT),
        "{}",
        w.stderr_text()
    );
    let first = until(&mut w, "initial scan of the protected file", |r| {
        r["src_path"] == s(&secret)
    });
    assert_eq!(
        first.get("removable"),
        None,
        "not on removable media: {first}"
    );

    // A tmpfs under the mount root: removable.
    let stick = media.join("stick");
    within(&w, &["mount", "-t", "tmpfs", "usbstick", s(&stick)]);
    let m = until(&mut w, "mounted", |r| r["event_type"] == "mounted");
    assert_eq!(m["src_path"], s(&stick));
    assert_eq!(
        (m["fstype"].as_str(), m["device"].as_str()),
        (Some("tmpfs"), Some("usbstick"))
    );
    assert_eq!(m["removable"], true);
    // Copying the protected file onto it is the exfiltration signal.
    let copy = stick.join("q3-export.csv");
    within(&w, &["cp", s(&secret), s(&copy)]);
    let ev = until(&mut w, "event with copied_from", |r| {
        r["src_path"] == s(&copy) && r.get("copied_from").is_some()
    });
    assert_eq!(ev["removable"], true);
    assert_eq!(ev["copied_from"], s(&secret));
    within(
        &w,
        &[
            "sh",
            "-c",
            &format!("echo notes > {}", s(&stick.join("notes.txt"))),
        ],
    );
    let ev = until(&mut w, "an unrelated file", |r| {
        r["src_path"] == s(&stick.join("notes.txt"))
    });
    assert_eq!(
        (ev["removable"].as_bool(), ev.get("copied_from")),
        (Some(true), None)
    );

    // A loop-mounted ext4 image: its files are reported on mount (--initial-scan).
    let disk = media.join("disk");
    within(&w, &["mount", "-o", "loop", s(&img), s(&disk)]);
    let m = until(&mut w, "mounted ext4", |r| r["event_type"] == "mounted");
    assert_eq!(
        (m["src_path"].as_str(), m["fstype"].as_str()),
        (Some(s(&disk)), Some("ext4"))
    );
    assert!(
        m["device"].as_str().unwrap().starts_with("/dev/loop"),
        "{m}"
    );
    assert_eq!(m["removable"], true);
    let ev = until(&mut w, "initial scan of the new mount", |r| {
        r["src_path"] == s(&disk.join("already-there.txt"))
    });
    assert_eq!(
        (ev["reason"].as_str(), ev["removable"].as_bool()),
        (Some("initial_scan"), Some(true))
    );

    // A mount outside the mount roots: reported, not removable, not watched.
    within(&w, &["mount", "-t", "tmpfs", "scratch", s(&elsewhere)]);
    let m = until(&mut w, "mounted elsewhere", |r| {
        r["event_type"] == "mounted"
    });
    assert_eq!(
        (m["src_path"].as_str(), m["removable"].as_bool()),
        (Some(s(&elsewhere)), Some(false))
    );
    within(
        &w,
        &["sh", "-c", &format!("echo x > {}", s(&elsewhere.join("x")))],
    );

    within(&w, &["umount", s(&stick)]);
    let u = until(&mut w, "unmounted", |r| r["event_type"] == "unmounted");
    assert_eq!(
        (u["src_path"].as_str(), u["removable"].as_bool()),
        (Some(s(&stick)), Some(true))
    );
    within(&w, &["umount", s(&disk)]);
    let u = until(&mut w, "unmounted ext4", |r| r["event_type"] == "unmounted");
    assert_eq!(u["src_path"], s(&disk));
    // The protected tree is still watched; nothing was reported under `elsewhere`.
    std::fs::write(protected.join("later.txt"), "x").unwrap();
    let rest = until(&mut w, "an event in the protected tree", |r| {
        r["src_path"] == s(&protected.join("later.txt"))
    });
    assert_eq!(rest.get("removable"), None);
    within(&w, &["umount", s(&elsewhere)]);
    let u = until(&mut w, "unmounted elsewhere", |r| {
        r["event_type"] == "unmounted"
    });
    assert_eq!(
        (u["src_path"].as_str(), u["removable"].as_bool()),
        (Some(s(&elsewhere)), Some(false))
    );
    let tail = w.drain_records(Duration::from_millis(300));
    assert!(
        tail.iter().all(
            |r| !r["src_path"].as_str().unwrap().starts_with(s(&elsewhere))
                || r["event_type"] == "unmounted"
        ),
        "{tail:?}"
    );
}

#[test]
fn mount_root_needs_mounts() {
    let t = TempDir::new("fsw-mroot");
    let out = cmd(BIN)
        .args(["--mount-root", "/media", s(t.path())])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("--mounts"),
        "{}",
        out.stderr_str()
    );
}
