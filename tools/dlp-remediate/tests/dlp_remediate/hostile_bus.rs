//! Notifications against a bus that does not play fair: one that never
//! answers, one whose authentication reply never ends, one that floods
//! signals instead of answering, and (as root, for a file of uid 65534's)
//! one that looks at the helper process that connects to it: its uid, its
//! environment and its open descriptors, which must hold nothing of the
//! tool's (no secret from its environment, no vault or scanned file). The real binary, a fake bus on a Unix socket in this test.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::*;
use dlp_remediate::dbus::{Body, Bus, Message};
use testkit::{cmd, TempDir};

/// Serves each connection to `dir/bus` with `serve` on its own thread;
/// the bus address.
fn fake_bus(dir: &Path, serve: fn(UnixStream)) -> String {
    let path = dir.join("bus");
    let l = UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { return };
            std::thread::spawn(move || serve(s));
        }
    });
    format!("unix:path={}", path.display())
}

/// One line of the authentication exchange, read a byte at a time (so
/// that nothing after it is consumed).
fn line(s: &mut UnixStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8];
    while s.read(&mut b).unwrap_or(0) == 1 {
        out.push(b[0]);
        if b[0] == b'\n' {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Accepts the client's authentication and Hello; the next message
/// (Notify) and the connection, for the test to answer (or not).
fn handshake(mut s: UnixStream) -> Option<(Bus, Message)> {
    let auth = line(&mut s);
    if !auth.contains("AUTH EXTERNAL") {
        return None;
    }
    s.write_all(b"OK 0123456789abcdef0123456789abcdef\r\n")
        .ok()?;
    if line(&mut s) != "BEGIN\r\n" {
        return None;
    }
    let mut bus = Bus::peer(s, Duration::from_secs(30));
    let hello = bus.recv().ok()?;
    let mut name = Body::default();
    name.str(":1.7");
    bus.reply(&hello, "s", &name).ok()?;
    let notify = bus.recv().ok()?;
    Some((bus, notify))
}

/// Runs `dlp-remediate --notify` (with `extra` flags) for a file of ours on
/// the bus at `address`; its record and how long it took.
fn notify(dir: &TempDir, address: &str, extra: &[&str]) -> (serde_json::Value, Duration) {
    let file = dir.join("payroll.csv");
    plant(&file, "");
    std::os::unix::fs::chown(&file, Some(euid()), Some(euid())).unwrap();
    let t0 = Instant::now();
    let out = cmd(BIN)
        .arg("--notify")
        .args(extra)
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .stdin(finding(&file, "Credit Card Number", "VERY_LIKELY", 14))
        .run();
    let took = t0.elapsed();
    assert_eq!(
        out.code(),
        1,
        "a notice not delivered fails notify-only: {}",
        out.stderr_str()
    );
    (one(&out.records()).clone(), took)
}

#[test]
fn a_bus_that_never_answers_is_given_up_at_the_deadline() {
    let t = TempDir::new("bus-silent");
    let address = fake_bus(t.path(), |mut s| {
        // Reads what comes, says nothing, keeps the connection open.
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    });
    let (r, took) = notify(&t, &address, &["--notify-timeout", "1s"]);
    assert_eq!(r["action"], "failed", "{r}");
    let err = r["error"].as_str().unwrap();
    assert!(
        err.contains("within 1s") || err.contains("gave up after 1s"),
        "{err}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn an_endless_authentication_reply_is_cut_short() {
    let t = TempDir::new("bus-endless");
    let address = fake_bus(t.path(), |mut s| {
        line(&mut s);
        let chunk = vec![b'a'; 64 * 1024];
        let _ = s.write_all(b"OK ");
        while s.write_all(&chunk).is_ok() {}
    });
    let (r, took) = notify(&t, &address, &[]);
    let err = r["error"].as_str().unwrap();
    assert!(err.contains("longer than 512 bytes"), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn a_bus_that_floods_signals_instead_of_answering_is_given_up() {
    let t = TempDir::new("bus-chatty");
    let address = fake_bus(t.path(), |s| {
        let Some((mut bus, _notify)) = handshake(s) else {
            return;
        };
        // Answers to a call never made: the client passes over them.
        let other = Message {
            serial: 999_999,
            sender: ":1.1".into(),
            ..Message::default()
        };
        while bus.reply(&other, "", &Body::default()).is_ok() {}
    });
    let (r, took) = notify(&t, &address, &["--notify-timeout", "5s"]);
    let err = r["error"].as_str().unwrap();
    assert!(
        err.contains("messages without answering Notify") || err.contains("within 5s"),
        "{err}"
    );
    assert!(took < Duration::from_secs(9), "took {took:?}");
}

/// What the fake bus saw of the process that connected.
#[derive(Debug)]
struct Seen {
    uids: String,
    environ: Vec<String>,
    fds: Vec<String>,
    root_connected: bool,
}

/// The `__notify` helper's pid, found by its command line (which holds
/// this test's bus address).
fn helper_pid(address: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline);
        (cmdline.contains("__notify") && cmdline.contains(address)).then_some(pid)
    })
}

#[test]
fn as_root_the_helper_runs_as_the_owner_with_nothing_of_the_tools() {
    if !testkit::facility(
        euid() == 0,
        "not root: the helper's change of user is not tested",
    ) {
        return;
    }
    static SEEN: std::sync::Mutex<Option<mpsc::Sender<Seen>>> = std::sync::Mutex::new(None);
    let (tx, rx) = mpsc::channel();
    *SEEN.lock().unwrap() = Some(tx);
    let t = TempDir::new("bus-inspect");
    let address = fake_bus(t.path(), |mut s| {
        let auth = line(&mut s);
        // "AUTH EXTERNAL 30" is uid 0: root itself must never talk to a
        // user's bus. Refused, as a session bus would.
        if auth.trim_end().ends_with(" 30") {
            let _ = s.write_all(b"REJECTED EXTERNAL\r\n");
            let tx = SEEN.lock().unwrap().clone().unwrap();
            let _ = tx.send(Seen {
                uids: String::new(),
                environ: Vec::new(),
                fds: Vec::new(),
                root_connected: true,
            });
            return;
        }
        let addr = format!(
            "unix:path={}",
            s.local_addr().unwrap().as_pathname().unwrap().display()
        );
        let pid = helper_pid(&addr).expect("the helper process");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .map(|p| p.display().to_string())
            .collect();
        let seen = Seen {
            uids: status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .unwrap_or_default()
                .to_owned(),
            environ: environ
                .split(|&b| b == 0)
                .filter(|v| !v.is_empty())
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect(),
            fds,
            root_connected: false,
        };
        SEEN.lock().unwrap().clone().unwrap().send(seen).unwrap();
        // Now the rest of the conversation, as a bus would.
        let _ = s.write_all(b"OK 0123456789abcdef0123456789abcdef\r\n");
        line(&mut s);
        let mut bus = Bus::peer(s, Duration::from_secs(30));
        let Ok(hello) = bus.recv() else { return };
        let mut name = Body::default();
        name.str(":1.7");
        let _ = bus.reply(&hello, "s", &name);
        let Ok(n) = bus.recv() else { return };
        let mut id = Body::default();
        id.u32(1);
        let _ = bus.reply(&n, "u", &id);
    });
    let home = t.join("home");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
    let file = home.join("payroll.csv");
    plant(&file, "");
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    let vault = TempDir::new("bus-inspect-vault");
    let out = cmd(BIN)
        .arg("--quarantine")
        .arg(vault.join("v"))
        .arg("--notify")
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .env("NIGHTFALL_API_KEY", "NF-secret-key-of-root")
        .env("WATCH_WEBHOOK_URL", "https://hooks.example/secret-path")
        .stdin(finding(&file, "Credit Card Number", "VERY_LIKELY", 14))
        .run()
        .expect_code(0);
    delivered(&out, "quarantined");
    let seen: Vec<Seen> = rx.try_iter().collect();
    assert!(
        seen.iter().all(|s| !s.root_connected),
        "root connected to the user's bus: {seen:?}"
    );
    let s = seen.first().expect("the helper connected");
    assert_eq!(
        s.uids.split_whitespace().skip(1).collect::<Vec<_>>(),
        ["65534"; 4],
        "{s:?}"
    );
    assert!(
        s.environ.iter().all(|v| v.starts_with("PATH=")),
        "the helper's environment: {:?}",
        s.environ
    );
    // None of the tool's descriptors (all close-on-exec); descriptors
    // this test's own parents left open pass through any exec.
    let vault_path = vault.path().display().to_string();
    assert!(
        s.fds
            .iter()
            .all(|f| !f.contains(&vault_path) && !f.contains("payroll")),
        "the helper inherited: {:?}",
        s.fds
    );
}
