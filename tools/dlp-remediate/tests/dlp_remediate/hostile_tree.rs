//! dlp-remediate run as root over a tree that a hostile user owns.
//!
//! A real unprivileged user (uid 65534, through `setpriv`) owns the scanned
//! directory and swaps it for a symlink to a root-only directory in a tight
//! loop (`renameat2(RENAME_EXCHANGE)`, from Python's ctypes) while the real
//! binary quarantines, deletes, restores (to the original path and with
//! `--to`), leaves notes, and does the same across file systems (a tmpfs in
//! a private mount namespace). Each operation is tried a few hundred times;
//! after every try, everything outside the scanned tree and the vault must
//! be exactly as before: no entry moved, vanished or appeared, none changed
//! owner, mode or content. The root-only directory holds a file with the
//! same name and the same bytes as the user's, so a tool that follows the
//! swapped path passes its own hash check.
//!
//! And vaults planted or rewritten by another user: refused, never trusted.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};
use testkit::{cmd, Spawned, TempDir};

const NOBODY: u32 = 65534;

/// Tries per operation (`DLP_RACE_TRIES` overrides it).
fn tries() -> usize {
    std::env::var("DLP_RACE_TRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// These tests run the tool as root and the attacker as uid 65534.
fn as_root() -> bool {
    testkit::facility(
        euid() == 0,
        "not root: the hostile-user tests run the tool as root against uid 65534",
    )
}

fn user_bytes() -> Vec<u8> {
    format!("name,card\nAna,{CARD}\n").into_bytes()
}

fn chown(p: &Path, uid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(uid)).unwrap();
}

fn mkdir(p: &Path, uid: u32, mode: u32) {
    std::fs::create_dir(p).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    chown(p, uid);
}

fn write(p: &Path, bytes: &[u8], uid: u32, mode: u32) {
    std::fs::write(p, bytes).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    chown(p, uid);
}

/// Every entry under `root` except the `skip` subtrees: type, owner, mode,
/// inode, and the bytes of files or the target of links.
fn snapshot(root: &Path, skip: &[PathBuf]) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if skip.iter().any(|s| p.starts_with(s)) {
                continue;
            }
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let what = if m.is_dir() {
                todo.push(p.clone());
                "dir".to_owned()
            } else if m.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&p).unwrap().display())
            } else {
                format!(
                    "file {:?}",
                    String::from_utf8_lossy(&std::fs::read(&p).unwrap())
                )
            };
            out.insert(
                p.strip_prefix(root).unwrap().to_path_buf(),
                format!(
                    "{what} uid={} gid={} mode={:o} ino={}",
                    m.uid(),
                    m.gid(),
                    m.mode(),
                    m.ino()
                ),
            );
        }
    }
    out
}

/// A Python the unprivileged user can run (not a shim under root's home).
fn python() -> &'static str {
    ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("python3")
}

/// Exchanges its two arguments forever, holding each state for a random
/// time: none at all (a tight loop, which wins races of microseconds) or up
/// to a millisecond (so that a tool which resolves the path several times
/// sees the same swapped state each time, and passes its own checks).
const SWAP_PY: &str = r#"
import ctypes, os, random, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
holds = [0] * 8 + [1e-5, 1e-4, 3e-4, 1e-3]
print("ready", flush=True)
while True:
    libc.renameat2(-100, a, -100, b, 2)  # AT_FDCWD, RENAME_EXCHANGE
    h = random.choice(holds)
    if h:
        time.sleep(h)
"#;

/// The scene of a race: `base/home` (uid 65534) holds `docs`, the scanned
/// directory, and `link`, a symlink to `base/secret` (root, 0700), which
/// holds `evil` with the very bytes of the user's `docs/evil`. The attacker
/// exchanges `docs` and `link` without pause while it runs.
struct Arena {
    docs: PathBuf,
    link: PathBuf,
    vault: PathBuf,
    attacker: Spawned,
    /// What is checked: everything under this root but `skip`.
    root: PathBuf,
    skip: Vec<PathBuf>,
    before: BTreeMap<PathBuf, String>,
}

impl Arena {
    /// `base` and `vault` are under `root` (possibly on other file systems).
    fn new(root: &Path, base: &Path, vault: &Path) -> Arena {
        let home = base.join("home");
        mkdir(&home, NOBODY, 0o755);
        let docs = home.join("docs");
        mkdir(&docs, NOBODY, 0o755);
        let secret = base.join("secret");
        mkdir(&secret, 0, 0o700);
        write(&secret.join("evil"), &user_bytes(), 0, 0o600);
        write(&secret.join("keep"), b"root's own\n", 0, 0o644);
        let link = home.join("link");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        chown(&link, NOBODY);
        let script = root.join("swap.py");
        write(&script, SWAP_PY.as_bytes(), 0, 0o644);
        let mut attacker = cmd("setpriv")
            .args([
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                "--",
            ])
            .arg(python())
            .arg(&script)
            .arg(&docs)
            .arg(&link)
            .spawn();
        assert_eq!(
            attacker.next_line(Duration::from_secs(20)).as_deref(),
            Some("ready"),
            "{}",
            attacker.stderr_text()
        );
        let skip = vec![home, vault.to_path_buf()];
        let mut a = Arena {
            docs,
            link,
            vault: vault.to_path_buf(),
            attacker,
            root: root.to_path_buf(),
            before: BTreeMap::new(),
            skip,
        };
        a.pause();
        a.before = snapshot(&a.root, &a.skip);
        assert!(a.before.keys().any(|k| k.ends_with("secret/evil")));
        a
    }

    fn pid(&self) -> rustix::process::Pid {
        rustix::process::Pid::from_raw(self.attacker.pid() as i32).unwrap()
    }

    /// Stops the attacker and puts `docs` back in place.
    fn pause(&mut self) {
        rustix::process::kill_process(self.pid(), rustix::process::Signal::STOP).unwrap();
        let stat = format!("/proc/{}/stat", self.attacker.pid());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = std::fs::read_to_string(&stat).unwrap();
            let state = s.rsplit(')').next().unwrap().trim_start().chars().next();
            if state == Some('T') {
                break;
            }
            assert!(Instant::now() < deadline, "attacker did not stop: {s}");
            std::thread::yield_now();
        }
        if std::fs::symlink_metadata(&self.docs)
            .unwrap()
            .file_type()
            .is_symlink()
        {
            rustix::fs::renameat_with(
                rustix::fs::CWD,
                &self.docs,
                rustix::fs::CWD,
                &self.link,
                rustix::fs::RenameFlags::EXCHANGE,
            )
            .unwrap();
        }
    }

    fn resume(&mut self) {
        rustix::process::kill_process(self.pid(), rustix::process::Signal::CONT).unwrap();
    }

    /// A fresh file of the user's in `docs`.
    fn plant(&self, name: &str) -> PathBuf {
        let p = self.docs.join(name);
        write(&p, &user_bytes(), NOBODY, 0o640);
        p
    }

    /// Copies of the user's file in `docs` and in the vault.
    fn copies(&self) -> usize {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.docs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        if let Ok(entries) = std::fs::read_dir(&self.vault) {
            files.extend(entries.map(|e| e.unwrap().path().join("data")));
        }
        files
            .iter()
            .filter(|p| std::fs::read(p).is_ok_and(|b| b == user_bytes()))
            .count()
    }

    /// Paused: nothing outside the scanned tree and the vault changed, and
    /// the user's file is in one place (none once deleted); then `docs` and
    /// the vault are emptied for the next try.
    fn check(&mut self, what: &str, n: usize, out: &testkit::Output) {
        let want = usize::from(action(out) != "deleted");
        assert_eq!(
            self.copies(),
            want,
            "{what}, try {n}: the user's file is in {} places: {}{}",
            self.copies(),
            out.stdout_str(),
            out.stderr_str()
        );
        let now = snapshot(&self.root, &self.skip);
        if now != self.before {
            let mut diff = String::new();
            for (k, v) in &self.before {
                if now.get(k) != Some(v) {
                    diff += &format!("  before {}: {v}\n  now: {:?}\n", k.display(), now.get(k));
                }
            }
            for (k, v) in &now {
                if !self.before.contains_key(k) {
                    diff += &format!("  appeared {}: {v}\n", k.display());
                }
            }
            panic!(
                "{what}, try {n}: something outside the scanned tree changed:\n{diff}\
                 tool status {}: {}{}",
                out.code(),
                out.stdout_str(),
                out.stderr_str()
            );
        }
        // A record loop reports a failed action with 1; restore, one
        // operation, fails with 2.
        assert!(
            matches!(out.code(), 0 | 1) || (what.contains("restore") && out.code() == 2),
            "{what}, try {n}: status {}: {}",
            out.code(),
            out.stderr_str()
        );
        for e in std::fs::read_dir(&self.docs).unwrap() {
            let p = e.unwrap().path();
            if std::fs::symlink_metadata(&p).unwrap().is_dir() {
                std::fs::remove_dir_all(&p).unwrap();
            } else {
                std::fs::remove_file(&p).unwrap();
            }
        }
        let _ = std::fs::remove_dir_all(&self.vault);
    }

    /// Runs the tool with `args` on `input` while the attacker runs.
    fn under_attack(&mut self, args: &[&str], input: String) -> testkit::Output {
        self.resume();
        let out = cmd(BIN)
            .arg("--quarantine")
            .arg(&self.vault)
            .args(args)
            .stdin(input)
            .run();
        self.pause();
        out
    }

    /// Quarantines `docs/NAME` with the attacker stopped; the entry id.
    fn quarantined(&self, name: &str) -> String {
        let p = self.plant(name);
        let out = cmd(BIN)
            .arg("--quarantine")
            .arg(&self.vault)
            .stdin(finding(&p, "Credit Card Number", "VERY_LIKELY", 14))
            .run()
            .expect_code(0);
        let r = one(&out.records()).clone();
        assert_eq!(r["action"], "quarantined", "{r}");
        r["id"].as_str().unwrap().to_owned()
    }
}

/// The first record's action, for the tally.
fn action(out: &testkit::Output) -> String {
    out.records()
        .first()
        .and_then(|r| r["action"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("status {}", out.code()))
}

/// Runs `op` on a fresh arena `tries()` times; returns the tally of
/// outcomes, which must show that the attacker got in the way at times.
fn race(
    root: &Path,
    base: &Path,
    vault: &Path,
    what: &str,
    clean: &str,
    mut op: impl FnMut(&mut Arena) -> testkit::Output,
) -> BTreeMap<String, usize> {
    let mut a = Arena::new(root, base, vault);
    let mut tally = BTreeMap::new();
    for n in 0..tries() {
        let out = op(&mut a);
        *tally.entry(action(&out)).or_insert(0) += 1;
        a.check(what, n, &out);
    }
    eprintln!("{what}: {tally:?}");
    let clean_runs = tally.get(clean).copied().unwrap_or(0);
    assert!(
        clean_runs < tries(),
        "{what}: the attacker never got in the way ({tally:?}); the race was not run"
    );
    assert!(clean_runs > 0, "{what}: never succeeded ({tally:?})");
    tally
}

fn quarantine_race(root: &Path, base: &Path, vault: &Path, what: &str, extra: &[&str]) {
    race(root, base, vault, what, "quarantined", |a| {
        let p = a.plant("evil");
        a.under_attack(extra, finding(&p, "Credit Card Number", "VERY_LIKELY", 14))
    });
}

fn restore_race(root: &Path, base: &Path, vault: &Path, what: &str, to: bool) {
    race(root, base, vault, what, "restored", |a| {
        // A name the root-only directory does not have: a restore through
        // the swapped path would make it appear there.
        let id = a.quarantined("doc2");
        let mut args = vec!["restore".to_owned(), id];
        if to {
            args.push("--to".into());
            args.push(a.docs.join("restored").display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        a.under_attack(&args, String::new())
    });
}

#[test]
fn quarantine_never_follows_a_swapped_parent() {
    if !as_root() {
        return;
    }
    let t = TempDir::new("hostile-q");
    quarantine_race(t.path(), t.path(), &t.join("vault"), "quarantine", &[]);
}

#[test]
fn quarantine_with_a_note_never_writes_through_a_swapped_parent() {
    if !as_root() {
        return;
    }
    let t = TempDir::new("hostile-note");
    quarantine_race(
        t.path(),
        t.path(),
        &t.join("vault"),
        "quarantine --leave-note",
        &["--leave-note"],
    );
}

#[test]
fn delete_never_follows_a_swapped_parent() {
    if !as_root() {
        return;
    }
    let t = TempDir::new("hostile-del");
    let vault = t.join("vault");
    race(t.path(), t.path(), &vault, "delete", "deleted", |a| {
        let p = a.plant("evil");
        a.resume();
        let out = cmd(BIN)
            .args(["--delete", "--i-understand-this-deletes"])
            .stdin(finding(&p, "Credit Card Number", "VERY_LIKELY", 14))
            .run();
        a.pause();
        out
    });
}

#[test]
fn restore_never_follows_a_swapped_parent() {
    if !as_root() {
        return;
    }
    let t = TempDir::new("hostile-res");
    restore_race(t.path(), t.path(), &t.join("vault"), "restore", false);
}

#[test]
fn restore_to_never_follows_a_swapped_parent() {
    if !as_root() {
        return;
    }
    let t = TempDir::new("hostile-to");
    restore_race(t.path(), t.path(), &t.join("vault"), "restore --to", true);
}

/// The same races across file systems: the scanned tree on a tmpfs, the
/// vault on the test's file system, in a private mount namespace (this
/// test binary runs `in_namespace_cross_fs` there).
#[test]
fn cross_file_system_moves_never_follow_a_swapped_parent() {
    if !as_root() || !mounts_available() {
        return;
    }
    let t = TempDir::new("hostile-xfs");
    let me = std::env::current_exe().unwrap();
    let out = cmd("unshare")
        .args(["-m", "--propagation", "private"])
        .arg(me)
        .args([
            "--ignored",
            "--exact",
            "hostile_tree::in_namespace_cross_fs",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DLP_HOSTILE_XFS_DIR", t.path())
        .run();
    let text = format!("{}{}", out.stdout_str(), out.stderr_str());
    assert_eq!(out.code(), 0, "{text}");
    for tally in text.lines().filter(|l| l.starts_with("cross-fs")) {
        eprintln!("{tally}");
    }
    assert!(text.contains("cross-fs races done"), "{text}");
}

#[test]
#[ignore = "run inside a mount namespace by cross_file_system_moves_never_follow_a_swapped_parent"]
fn in_namespace_cross_fs() {
    let t = PathBuf::from(std::env::var_os("DLP_HOSTILE_XFS_DIR").expect("run by the outer test"));
    let mnt = t.join("mnt");
    let vault = t.join("vault");
    let fresh = || {
        let _ = cmd("umount").arg(&mnt).run();
        let _ = std::fs::remove_dir_all(&mnt);
        std::fs::create_dir(&mnt).unwrap();
        cmd("mount")
            .args(["-t", "tmpfs", "-o", "mode=0755", "none"])
            .arg(&mnt)
            .run()
            .expect_code(0);
    };
    fresh();
    quarantine_race(&t, &mnt, &vault, "cross-fs quarantine", &["--leave-note"]);
    fresh();
    restore_race(&t, &mnt, &vault, "cross-fs restore", false);
    fresh();
    restore_race(&t, &mnt, &vault, "cross-fs restore --to", true);
    println!("cross-fs races done");
}

// --- vaults planted or rewritten by another user ------------------------------

const ID: &str = "20260101T000000Z-deadbeef";

/// A manifest as the tool writes it, for `original` holding `data`.
fn manifest(original: &Path, data: &[u8], mode: &str, uid: u32) -> Value {
    json!({"id": ID, "original_path": original, "sha256": sha256(data), "size": data.len(),
           "uid": uid, "gid": uid, "mode": mode,
           "atime": "2026-01-01T00:00:00Z", "mtime": "2026-01-01T00:00:00Z", "ctime": "2026-01-01T00:00:00Z",
           "atime_ns": 1767225600000000000i64, "mtime_ns": 1767225600000000000i64,
           "detectors": [{"detector": "Credit Card Number", "confidence": "VERY_LIKELY", "findings": 1}],
           "confidence": "VERY_LIKELY", "findings": 1, "quarantined_at": "2026-01-01T00:00:00Z",
           "method": "rename"})
}

/// A vault with one entry, every piece owned by `uid`.
fn plant_vault(vault: &Path, uid: u32, vault_mode: u32, m: &Value, data: &[u8]) {
    mkdir(vault, uid, vault_mode);
    let e = vault.join(ID);
    mkdir(&e, uid, 0o700);
    write(
        &e.join("manifest.json"),
        m.to_string().as_bytes(),
        uid,
        0o600,
    );
    write(&e.join("data"), data, uid, 0o600);
}

const PROGRAM: &[u8] = b"#!/bin/sh\nid\n";

fn restore(vault: &Path, args: &[&str]) -> testkit::Output {
    cmd(BIN)
        .arg("--quarantine")
        .arg(vault)
        .arg("restore")
        .args(args)
        .run()
}

/// `restore ID` fails (status 2) saying `why`, and `target` is not made.
fn restore_refused(vault: &Path, why: &str, target: &Path) {
    let out = restore(vault, &[ID]).expect_code(2);
    assert!(out.stderr_str().contains(why), "{}", out.stderr_str());
    assert!(
        !target.exists(),
        "restored from a vault that is not trusted"
    );
}

fn list(vault: &Path) -> testkit::Output {
    cmd(BIN).arg("--quarantine").arg(vault).arg("list").run()
}

/// As root: a vault (owned by `uid`, mode `vault_mode`) holding one entry
/// whose manifest restores `home/tool` (home is uid 65534's) with `mode`,
/// owned by root. The directory, `home/tool` and the vault.
fn planted(
    tag: &str,
    uid: u32,
    vault_mode: u32,
    mode: &str,
) -> Option<(TempDir, PathBuf, PathBuf)> {
    if !as_root() {
        return None;
    }
    let t = TempDir::new(tag);
    let home = t.join("home");
    mkdir(&home, NOBODY, 0o755);
    let target = home.join("tool");
    let vault = t.join("vault");
    let m = manifest(&target, PROGRAM, mode, 0);
    plant_vault(&vault, uid, vault_mode, &m, PROGRAM);
    Some((t, target, vault))
}

#[test]
fn a_vault_owned_by_another_user_is_refused() {
    // The rewritten manifest of the issue: a setuid-root program.
    let Some((t, target, vault)) = planted("hostile-vault", NOBODY, 0o700, "4755") else {
        return;
    };
    restore_refused(&vault, "owned by uid 65534", &target);
    list(&vault).expect_code(2);
    // Nor is it used to quarantine into.
    let f = t.join("home/a.csv");
    write(&f, &user_bytes(), NOBODY, 0o644);
    cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .stdin(finding(&f, "Credit Card Number", "VERY_LIKELY", 14))
        .run()
        .expect_code(2);
    assert!(f.exists());
}

#[test]
fn a_vault_writable_by_others_is_refused() {
    let Some((_t, target, vault)) = planted("hostile-vault-w", 0, 0o777, "0755") else {
        return;
    };
    restore_refused(&vault, "writable by", &target);
    assert_eq!(
        std::fs::metadata(&vault).unwrap().mode() & 0o777,
        0o777,
        "left as it was for the administrator to look at"
    );
}

#[test]
fn an_entry_another_user_planted_in_the_vault_is_not_trusted() {
    let Some((_t, target, vault)) = planted("hostile-entry", 0, 0o700, "4755") else {
        return;
    };
    for p in [vault.join(ID), vault.join(ID).join("manifest.json")] {
        chown(&p, NOBODY);
        restore_refused(&vault, "owned by uid 65534", &target);
        let out = list(&vault).expect_code(0);
        assert!(out.records().is_empty(), "{:?}", out.records());
        assert!(
            out.stderr_str().contains("owned by uid 65534"),
            "{}",
            out.stderr_str()
        );
        chown(&p, 0);
    }
    // A planted entry that is half-written (".tmp") is not committed either.
    let tmp = vault.join(format!("{ID}.tmp"));
    std::fs::rename(vault.join(ID), &tmp).unwrap();
    chown(&tmp, NOBODY);
    list(&vault).expect_code(0);
    assert!(!vault.join(ID).exists(), "committed a planted entry");
    assert!(
        tmp.exists(),
        "a foreign entry is left for the administrator"
    );
}

#[test]
fn a_rewritten_manifest_never_restores_special_bits_or_leaves_its_directory() {
    // Owned by us and private, but its manifest says setuid root.
    let Some((t, target, vault)) = planted("hostile-manifest", 0, 0o700, "6755") else {
        return;
    };
    let out = restore(&vault, &[ID]).expect_code(0);
    let m = std::fs::metadata(&target).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o755, "setuid/setgid bits restored");
    assert!(
        out.stderr_str().contains("not restored"),
        "{}",
        out.stderr_str()
    );
    std::fs::remove_file(&target).unwrap();

    // Paths that do not parse as a normal absolute path are refused.
    for bad in [
        format!("{}/../secret", t.join("home").display()),
        "relative/path".to_owned(),
        format!("{}/./x", t.join("home").display()),
        String::new(),
    ] {
        let _ = std::fs::remove_dir_all(&vault);
        let mut m = manifest(&target, PROGRAM, "0644", 0);
        m["original_path"] = json!(bad);
        plant_vault(&vault, 0, 0o700, &m, PROGRAM);
        let out = restore(&vault, &[ID]).expect_code(2);
        assert!(
            out.stderr_str().contains("manifest"),
            "{bad}: {}",
            out.stderr_str()
        );
    }
    // An id that is not the entry's, ids that do not parse.
    let _ = std::fs::remove_dir_all(&vault);
    let mut m = manifest(&target, PROGRAM, "0644", 0);
    m["id"] = json!("20260101T000000Z-00000000");
    plant_vault(&vault, 0, 0o700, &m, PROGRAM);
    restore(&vault, &[ID]).expect_code(2);
    for id in ["../x", "x", "20260101T000000Z-DEADBEEF", ".lock"] {
        let out = restore(&vault, &[id]).expect_code(2);
        assert!(
            out.stderr_str().contains("no vault entry"),
            "{id}: {}",
            out.stderr_str()
        );
    }
    // Data that does not match its manifest is not restored.
    let _ = std::fs::remove_dir_all(&vault);
    plant_vault(
        &vault,
        0,
        0o700,
        &manifest(&target, b"other", "0644", 0),
        PROGRAM,
    );
    restore(&vault, &[ID]).expect_code(2);
    assert!(!target.exists());
}
