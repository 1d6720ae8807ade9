//! fswatch-json left unattended: a directory made unreadable on purpose,
//! and an event storm while nobody reads stdout. Real binary, real files.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{cmd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_fswatch-json");
const T: Duration = Duration::from_secs(20);

/// Tests run as root, for whom mode 000 blocks nothing: then both the
/// watcher and the "insider" run as `nobody` (setpriv), as they would as
/// one ordinary user.
fn as_user(prog: &str) -> testkit::Cmd {
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next().map(|u| u == "0"))
        .unwrap();
    if root {
        cmd("setpriv").args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            prog,
        ])
    } else {
        cmd(prog)
    }
}

#[test]
fn a_directory_unreadable_when_first_seen_is_listed_once_chmod_makes_it_readable() {
    let t = TempDir::new("fsw-perm");
    let w = t.join("w");
    std::fs::create_dir(&w).unwrap();
    std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut watcher = as_user(BIN).arg(&w).spawn();
    assert!(
        watcher.wait_stderr("watching ", T),
        "{}",
        watcher.stderr_text()
    );
    // The insider's sequence, as the same user as the watcher.
    let out = as_user("sh")
        .args([
            "-c",
            "cd \"$1\" && mkdir -m 000 d && sleep 0.3 && chmod 700 d && echo secret > d/loot.txt \
             && mkdir -m 000 d/e && sleep 0.3 && chmod 700 d/e && echo more > d/e/deep.txt",
            "sh",
        ])
        .arg(&w)
        .run();
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let loot = w.join("d/loot.txt");
    let deep = w.join("d/e/deep.txt");
    let recs = watcher.records_until(T, |v| {
        let seen = |p: &Path| v.iter().any(|r| r["src_path"] == p.to_str().unwrap());
        seen(&loot) && seen(&deep)
    });
    let paths: HashSet<&str> = recs.iter().filter_map(|r| r["src_path"].as_str()).collect();
    assert!(
        paths.contains(loot.to_str().unwrap()) && paths.contains(deep.to_str().unwrap()),
        "{recs:#?}\nstderr: {}",
        watcher.stderr_text()
    );
    // The unreadable phase was noticed (not silently skipped).
    assert!(watcher.stderr_text().contains("cannot"));
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn a_blocked_stdout_under_an_event_storm_keeps_memory_bounded_and_loses_nothing() {
    let t = TempDir::new("fsw-storm");
    let w = t.join("w");
    std::fs::create_dir(&w).unwrap();
    let err_path = t.join("stderr");
    let mut child = Command::new(BIN)
        .arg(&w)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !std::fs::read_to_string(&err_path)
        .unwrap()
        .contains("watching ")
    {
        assert!(started.elapsed() < T, "no start line");
        std::thread::sleep(Duration::from_millis(20));
    }
    // 25,000 files, four passes (create, then three appends): 100,000
    // events, interleaved so the kernel cannot merge them, while nobody
    // reads stdout.
    const FILES: usize = 25_000;
    let path = |i: usize| w.join(format!("f{i:05}.txt"));
    for pass in 0..4 {
        for i in 0..FILES {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path(i))
                .unwrap();
            writeln!(f, "pass {pass}").unwrap();
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss = rss_kib(child.id());
    assert!(rss <= 64 * 1024, "RSS {rss} KiB with stdout blocked");
    // Now drain stdout: every file is reported, after an overflow notice.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = HashSet::new();
    let mut overflow = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < FILES && Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) else {
            break;
        };
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["event_type"] == "overflow" {
            overflow = true;
        }
        if let Some(p) = v["src_path"].as_str() {
            if p.starts_with(w.to_str().unwrap()) && p != w.to_str().unwrap() {
                seen.insert(p.to_owned());
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        seen.len(),
        FILES,
        "files reported; stderr: {}",
        std::fs::read_to_string(&err_path).unwrap()
    );
    assert!(
        overflow,
        "the kernel queue should have overflowed (back-pressure)"
    );
    eprintln!("watcher RSS with stdout blocked: {rss} KiB");
}
