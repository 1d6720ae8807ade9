//! dlp-remediate end to end: the real binary on real files, a real tmpfs in
//! a private mount namespace for the cross-file-system cases, kill -9 at
//! injected points, and a real session bus for notifications.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};
use testkit::{cmd, TempDir};

#[test]
fn quarantine_on_the_same_file_system_then_restore_byte_identical() {
    let dir = TempDir::new("rem-same");
    let file = dir.join("customers.csv");
    let bytes = plant(&file, "");
    let vault = dir.join("vault");
    // Many findings about one file: one action.
    let input = [
        finding(&file, "Credit Card Number", "VERY_LIKELY", 14),
        finding(&file, "US Social Security Number", "VERY_LIKELY", 40),
        finding(&file, "Credit Card Number", "VERY_LIKELY", 14),
    ]
    .join("\n");
    let out = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .arg("--leave-note")
        .stdin(input)
        .run()
        .expect_code(0);
    let recs = out.records();
    let r = one(&recs);
    assert_eq!(r["action"], "quarantined");
    assert_eq!(r["findings"], 2, "duplicates count once: {r}");
    assert_eq!(
        r["detectors"],
        json!(["Credit Card Number", "US Social Security Number"])
    );
    assert_eq!(r["sha256"], sha256(&bytes));
    let id = r["id"].as_str().unwrap().to_owned();
    assert!(!file.exists(), "moved out");
    let note = std::fs::read_to_string(dir.join("customers.csv.quarantined")).unwrap();
    assert!(
        note.contains(&id) && note.contains("Credit Card Number") && !note.contains(CARD),
        "{note}"
    );

    // The vault: private, with a manifest and never the finding text.
    assert_eq!(std::fs::metadata(&vault).unwrap().mode() & 0o777, 0o700);
    assert_eq!(std::fs::read(vault.join(&id).join("data")).unwrap(), bytes);
    let manifest = std::fs::read_to_string(vault.join(&id).join("manifest.json")).unwrap();
    assert!(!manifest.contains(CARD), "{manifest}");
    let listed = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .arg("list")
        .run()
        .expect_code(0)
        .records();
    let m = one(&listed);
    assert_eq!(m["id"], id.as_str());
    assert_eq!(m["original_path"], file.to_str().unwrap());
    assert_eq!(
        (m["uid"].as_u64(), m["mode"].as_str()),
        (Some(u64::from(owner())), Some("0640"))
    );
    assert_eq!(m["method"], "rename");
    assert_eq!(m["mtime"], "2021-03-04T05:06:07.123456Z");

    let out = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .args(["restore", &id])
        .run()
        .expect_code(0);
    let r = out.records();
    assert_eq!(one(&r)["action"], "restored");
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    assert_eq!(meta.uid(), owner());
    assert_eq!((meta.mtime(), meta.mtime_nsec()), (1614834367, 123456789));
    assert!(
        !dir.join("customers.csv.quarantined").exists(),
        "note removed"
    );
    let listed = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .arg("list")
        .run()
        .expect_code(0);
    assert!(listed.records().is_empty());
    // Restoring twice is an error, clearly said.
    let again = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .args(["restore", &id])
        .run()
        .expect_code(2);
    assert!(
        again
            .stderr_str()
            .starts_with("dlp-remediate: no vault entry"),
        "{}",
        again.stderr_str()
    );
}

#[test]
fn files_inside_the_vault_are_never_acted_on() {
    // A watcher that sees the vault (e.g. it lives under a watched home)
    // must not make the remediator quarantine its own vault.
    let dir = TempDir::new("rem-self");
    let file = dir.join("a.csv");
    plant(&file, "");
    let vault = dir.join("vault");
    let out = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .stdin(finding(&file, "Credit Card Number", "VERY_LIKELY", 14))
        .run()
        .expect_code(0);
    let id = one(&out.records())["id"].as_str().unwrap().to_owned();
    let data = vault.join(&id).join("data");
    let out = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .stdin(finding(&data, "Credit Card Number", "VERY_LIKELY", 14))
        .run()
        .expect_code(0);
    let recs = out.records();
    let r = one(&recs);
    assert_eq!(
        (r["action"].as_str(), r["reason"].as_str()),
        (Some("skipped"), Some("inside the quarantine vault"))
    );
    assert!(data.exists());
}

#[test]
fn a_foreign_file_where_the_note_goes_is_left_alone() {
    let dir = TempDir::new("rem-note");
    let file = dir.join("a.csv");
    let bytes = plant(&file, "");
    let theirs = dir.join("a.csv.quarantined");
    std::fs::write(&theirs, "the user's own file\n").unwrap();
    let vault = dir.join("vault");
    let out = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .arg("--leave-note")
        .stdin(finding(&file, "Credit Card Number", "VERY_LIKELY", 14))
        .run()
        .expect_code(0);
    let recs = out.records();
    let r = one(&recs);
    assert_eq!(
        (r["action"].as_str(), r.get("note")),
        (Some("quarantined"), None),
        "{r}"
    );
    assert!(
        out.stderr_str().contains("no note left"),
        "{}",
        out.stderr_str()
    );
    let id = r["id"].as_str().unwrap();
    cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .args(["restore", id])
        .run()
        .expect_code(0);
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
    assert_eq!(
        std::fs::read_to_string(&theirs).unwrap(),
        "the user's own file\n"
    );
}

#[test]
fn restore_refuses_to_overwrite_and_can_restore_elsewhere() {
    let dir = TempDir::new("rem-over");
    let file = dir.join("a.csv");
    let bytes = plant(&file, "");
    let vault = dir.join("vault");
    let out = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .stdin(finding(&file, "Credit Card Number", "VERY_LIKELY", 14))
        .run()
        .expect_code(0);
    let id = one(&out.records())["id"].as_str().unwrap().to_owned();
    std::fs::write(&file, "a new file in its place").unwrap();
    let err = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .args(["restore", &id])
        .run()
        .expect_code(2);
    assert!(err.stderr_str().contains("exists"), "{}", err.stderr_str());
    assert_eq!(std::fs::read(&file).unwrap(), b"a new file in its place");
    let other = dir.join("a.restored.csv");
    cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .args(["restore", &id, "--to"])
        .arg(&other)
        .run()
        .expect_code(0);
    assert_eq!(std::fs::read(&other).unwrap(), bytes);
}

#[test]
fn a_file_changed_after_scanning_is_skipped() {
    let dir = TempDir::new("rem-changed");
    let file = dir.join("a.csv");
    let scanned = plant(&file, "");
    std::fs::write(&file, "edited: nothing sensitive any more\n").unwrap();
    let mut f: Value =
        serde_json::from_str(&finding(&file, "Credit Card Number", "VERY_LIKELY", 14)).unwrap();
    f["sha256"] = json!(sha256(&scanned));
    let vault = dir.join("vault");
    let out = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .stdin(f.to_string())
        .run()
        .expect_code(0);
    let recs = out.records();
    let r = one(&recs);
    assert_eq!(r["action"], "skipped");
    assert_eq!(r["reason"], "changed since scanned");
    assert_eq!(r["scanned_sha256"], sha256(&scanned));
    assert!(file.exists());
    // With the matching hash it is acted on.
    f["sha256"] = json!(sha256(&std::fs::read(&file).unwrap()));
    let out = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .stdin(f.to_string())
        .run()
        .expect_code(0);
    assert_eq!(one(&out.records())["action"], "quarantined");
}

#[test]
fn thresholds_select_what_is_acted_on() {
    let dir = TempDir::new("rem-thr");
    let (a, b, c) = (dir.join("a.csv"), dir.join("b.csv"), dir.join("c.csv"));
    for p in [&a, &b, &c] {
        plant(p, "");
    }
    let input = [
        finding(&a, "Credit Card Number", "LIKELY", 14), // under VERY_LIKELY
        finding(&b, "EMAIL_ADDRESS", "VERY_LIKELY", 1),  // other detector
        finding(&c, "CREDIT_CARD_NUMBER", "VERY_LIKELY", 14), // wanted (name normalised)
        finding(&c, "CREDIT_CARD_NUMBER", "VERY_LIKELY", 60),
    ]
    .join("\n");
    let out = cmd(BIN)
        .args([
            "--notify",
            "--dry-run",
            "--detector",
            "Credit Card Number",
            "--min-findings",
            "2",
        ])
        .stdin(input.clone())
        .run()
        .expect_code(0);
    let recs = out.records();
    let r = one(&recs);
    assert_eq!(
        (r["action"].as_str(), r["path"].as_str()),
        (Some("notified"), c.to_str())
    );
    assert_eq!(r["dry_run"], true);
    // --min-findings 3: c stays under and is reported as skipped at the end.
    let out = cmd(BIN)
        .args([
            "--notify",
            "--dry-run",
            "--detector",
            "CREDIT_CARD_NUMBER",
            "--min-findings",
            "3",
        ])
        .stdin(input)
        .run()
        .expect_code(0);
    let recs = out.records();
    let r = one(&recs);
    assert_eq!(r["action"], "skipped");
    assert!(
        r["reason"].as_str().unwrap().contains("--min-findings 3"),
        "{r}"
    );
}

#[test]
fn delete_needs_its_guard_and_dry_run_changes_nothing() {
    let dir = TempDir::new("rem-del");
    let file = dir.join("a.csv");
    plant(&file, "");
    let line = finding(&file, "Credit Card Number", "VERY_LIKELY", 14);
    let out = cmd(BIN)
        .arg("--delete")
        .stdin(line.clone())
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("--i-understand-this-deletes"),
        "{}",
        out.stderr_str()
    );
    assert!(file.exists());
    let out = cmd(BIN)
        .args(["--delete", "--i-understand-this-deletes", "--dry-run"])
        .stdin(line.clone())
        .run()
        .expect_code(0);
    assert_eq!(one(&out.records())["dry_run"], true);
    assert!(file.exists());
    let out = cmd(BIN)
        .args(["--delete", "--i-understand-this-deletes"])
        .stdin(line)
        .run()
        .expect_code(0);
    assert_eq!(one(&out.records())["action"], "deleted");
    assert!(!file.exists());
    let none = cmd(BIN).stdin("").run().expect_code(2);
    assert!(
        none.stderr_str()
            .starts_with("dlp-remediate: nothing to do"),
        "{}",
        none.stderr_str()
    );
}

#[test]
fn bad_lines_are_reported_and_the_rest_is_processed() {
    let dir = TempDir::new("rem-bad");
    let file = dir.join("a.csv");
    plant(&file, "");
    let input = format!(
        "not json\n{}\n{{\"detector\":\"x\",\"confidence\":\"VERY_LIKELY\",\"finding\":\"y\"}}\n",
        finding(&file, "Credit Card Number", "VERY_LIKELY", 14)
    );
    let vault = dir.join("vault");
    let out = cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .stdin(input.clone())
        .run()
        .expect_code(1);
    let err = out.stderr_str();
    assert!(
        err.contains("dlp-remediate: line 1: not a Finding record"),
        "{err}"
    );
    assert!(
        err.contains("dlp-remediate: line 3: finding has no path"),
        "{err}"
    );
    assert_eq!(one(&out.records())["action"], "quarantined");
    let strict = cmd(BIN)
        .args(["--notify", "--dry-run", "--strict"])
        .stdin(input)
        .run()
        .expect_code(2);
    assert!(strict.records().is_empty());
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = TempDir::new("rem-pipe");
    let file = dir.join("a.csv");
    plant(&file, "");
    let line = finding(&file, "Credit Card Number", "VERY_LIKELY", 14);
    let (first, out) = testkit::first_line_then_close(BIN, &["--notify", "--dry-run"], &line, 1);
    assert!(first.contains("\"notified\""), "{first}");
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    assert!(out.stderr_str().is_empty(), "{}", out.stderr_str());
}

// --- another file system: a tmpfs in a private mount namespace ------------

/// Runs a shell script in a private mount namespace with `$BIN`, `$T`.
fn in_namespace(dir: &TempDir, script: &str) -> testkit::Output {
    cmd("unshare")
        .args(["-m", "--propagation", "private", "bash", "-euc", script])
        .env("BIN", BIN)
        .env("T", dir.path())
        .run()
}

#[test]
fn quarantine_onto_another_file_system_copies_verifies_and_restores() {
    if !mounts_available() {
        return;
    }
    let dir = TempDir::new("rem-xfs");
    std::fs::create_dir(dir.join("mnt")).unwrap();
    let src = dir.join("mnt/secret.csv");
    let bytes = format!("name,card\nAna,{CARD}\n").into_bytes();
    std::fs::write(dir.join("orig"), &bytes).unwrap();
    std::fs::write(
        dir.join("findings"),
        finding(&src, "Credit Card Number", "VERY_LIKELY", 14),
    )
    .unwrap();
    // The file lives on a tmpfs, the vault on the test's file system.
    let out = in_namespace(
        &dir,
        r#"mount -t tmpfs none "$T/mnt"
           cp "$T/orig" "$T/mnt/secret.csv"; chmod 604 "$T/mnt/secret.csv"
           touch -d '2022-02-02 02:02:02.5' "$T/mnt/secret.csv"
           "$BIN" --quarantine "$T/vault" < "$T/findings"
           test ! -e "$T/mnt/secret.csv" && echo '{"gone":true}'"#,
    );
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let recs = out.records();
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(recs[0]["action"], "quarantined");
    assert_eq!(recs[1]["gone"], true);
    let id = recs[0]["id"].as_str().unwrap().to_owned();
    let m: Value = serde_json::from_slice(
        &std::fs::read(dir.join("vault").join(&id).join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["method"], "copy");
    assert_eq!(
        std::fs::read(dir.join("vault").join(&id).join("data")).unwrap(),
        bytes
    );
    // Restore onto a (fresh) tmpfs: across file systems the other way.
    let out = in_namespace(
        &dir,
        &format!(
            r#"mount -t tmpfs none "$T/mnt"
               "$BIN" --quarantine "$T/vault" restore {id} >&2
               cmp "$T/orig" "$T/mnt/secret.csv" >&2
               stat -c '{{"mode":"%a","mtime":"%y"}}' "$T/mnt/secret.csv""#
        ),
    );
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let st = one(&out.records()).clone();
    assert_eq!(st["mode"], "604");
    assert_eq!(st["mtime"], "2022-02-02 02:02:02.500000000 +0000");
    assert!(!dir.join("vault").join(&id).exists());
}

/// kill -9 at `point` (fault-injection build), then a second run.
fn crash_and_rerun(point: &str, cross_fs: bool) {
    let dir = TempDir::new("rem-crash");
    std::fs::create_dir(dir.join("mnt")).unwrap();
    let src = dir.join("mnt/secret.csv");
    let bytes = format!("name,card\nAna,{CARD}\n").into_bytes();
    std::fs::write(dir.join("orig"), &bytes).unwrap();
    std::fs::write(
        dir.join("findings"),
        finding(&src, "Credit Card Number", "VERY_LIKELY", 14),
    )
    .unwrap();
    let mount = if cross_fs {
        r#"mount -t tmpfs none "$T/mnt""#
    } else {
        "true"
    };
    let out = in_namespace(
        &dir,
        &format!(
            r#"{mount}
               cp "$T/orig" "$T/mnt/secret.csv"
               DLP_REMEDIATE_PAUSE_AT={point} "$BIN" --quarantine "$T/vault" < "$T/findings" > "$T/first.out" 2> "$T/first.err" &
               pid=$!
               for i in $(seq 100); do grep -q 'paused at' "$T/first.err" && break; sleep 0.05; done
               grep -q 'paused at {point}' "$T/first.err"
               kill -9 $pid; wait $pid || true
               n=0
               if cmp -s "$T/orig" "$T/mnt/secret.csv"; then n=$((n+1)); fi
               for d in "$T"/vault/*/data; do if [ -e "$d" ] && cmp -s "$T/orig" "$d"; then n=$((n+1)); fi; done
               echo "{{\"copies_after_kill\":$n}}"
               "$BIN" --quarantine "$T/vault" < "$T/findings"
               test ! -e "$T/mnt/secret.csv" && echo '{{"gone":true}}'
               "$BIN" --quarantine "$T/vault" list
               echo "{{\"left_in_mnt\":$(ls -A "$T/mnt" | wc -l)}}""#
        ),
    );
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let recs = out.records();
    assert!(
        recs[0]["copies_after_kill"].as_u64().unwrap() >= 1,
        "{recs:?}"
    );
    assert_eq!(recs[1]["action"], "quarantined", "{recs:?}");
    assert_eq!(recs[2]["gone"], true, "{recs:?}");
    assert_eq!(recs.len(), 5, "one vault entry: {recs:?}");
    assert_eq!(recs[3]["id"], recs[1]["id"]);
    assert_eq!(
        recs[4]["left_in_mnt"], 0,
        "nothing left beside the file: {recs:?}"
    );
    assert_eq!(recs[3]["sha256"], sha256(&bytes));
    let data = dir
        .join("vault")
        .join(recs[3]["id"].as_str().unwrap())
        .join("data");
    assert_eq!(std::fs::read(data).unwrap(), bytes);
}

#[test]
fn kill_between_copy_and_commit_loses_nothing_and_a_rerun_completes() {
    if mounts_available() {
        crash_and_rerun("before_commit", true);
    }
}

#[test]
fn kill_between_commit_and_unlink_loses_nothing_and_a_rerun_completes() {
    if mounts_available() {
        crash_and_rerun("before_unlink", true);
    }
}

#[test]
fn kill_after_the_original_is_taken_aside_loses_nothing_and_a_rerun_completes() {
    // Across file systems the original is renamed into a private directory
    // beside it before it is unlinked: a kill there leaves it in that
    // directory, which the next run clears.
    if mounts_available() {
        crash_and_rerun("after_take", true);
    }
}

#[test]
fn kill_after_a_same_fs_rename_loses_nothing_and_a_rerun_completes() {
    if mounts_available() {
        crash_and_rerun("after_rename", false);
    }
}

// --- notifications over a real session bus --------------------------------

struct Bus {
    _daemon: testkit::Spawned,
    address: String,
}

fn session_bus(dir: &TempDir) -> Bus {
    session_bus_as(dir, None)
}

/// A session bus run by `uid` (through setpriv) when given, else by us.
fn session_bus_as(dir: &TempDir, uid: Option<u32>) -> Bus {
    assert!(
        testkit::ensure_commands(&[("dbus-daemon", "dbus-daemon"), ("dbus-monitor", "dbus-bin")]),
        "dbus-daemon and dbus-monitor are needed (Debian: dbus-daemon, dbus-bin)"
    );
    let conf = dir.join("session.conf");
    std::fs::write(
        &conf,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
            dir.join("bus").display()
        ),
    )
    .unwrap();
    let mut daemon = as_user(uid, "dbus-daemon")
        .arg(format!("--config-file={}", conf.display()))
        .args(["--nofork", "--print-address=1"])
        .spawn();
    let address = daemon
        .next_line(Duration::from_secs(10))
        .expect("dbus-daemon prints its address");
    Bus {
        _daemon: daemon,
        address,
    }
}

#[test]
fn notify_sends_a_freedesktop_notification_on_the_session_bus() {
    let dir = TempDir::new("rem-dbus");
    let bus = session_bus(&dir);
    // An independent record of the call: dbus-monitor.
    let mut monitor = cmd("dbus-monitor")
        .args([
            "--address",
            &bus.address,
            "interface='org.freedesktop.Notifications'",
        ])
        .spawn();
    assert!(
        monitor.next_line(Duration::from_secs(10)).is_some(),
        "dbus-monitor started"
    );
    // The notification server: claims the name, records Notify, answers.
    let addr = bus.address.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use dlp_remediate::dbus::{Body, Bus, Reader};
        let mut b = Bus::connect(&addr, Duration::from_secs(20)).unwrap();
        assert!(b.request_name("org.freedesktop.Notifications").unwrap());
        ready_tx.send(()).unwrap();
        loop {
            let m = b.recv().unwrap();
            if m.member == "Notify" {
                let mut r = Reader::new(&m.body);
                let app = r.str().unwrap();
                let _replaces = r.u32().unwrap();
                let _icon = r.str().unwrap();
                let summary = r.str().unwrap();
                let body = r.str().unwrap();
                let mut ret = Body::default();
                ret.u32(42);
                b.reply(&m, "u", &ret).unwrap();
                tx.send((m.signature.clone(), app, summary, body)).unwrap();
            }
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();

    let file = dir.join("payroll.csv");
    plant(&file, "");
    // Ours, as the bus is: a file of another user's is notified as that
    // user, on that user's bus (the next test).
    std::os::unix::fs::chown(&file, Some(euid()), Some(euid())).unwrap();
    let out = cmd(BIN)
        .arg("--notify")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .stdin(finding(&file, "Credit Card Number", "VERY_LIKELY", 14))
        .run()
        .expect_code(0);
    delivered(&out, "notified");
    let (sig, app, summary, body) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(sig, "susssasa{sv}i");
    assert_eq!(app, "dlp-remediate");
    assert!(summary.contains("payroll.csv"), "{summary}");
    assert!(
        body.contains("Credit Card Number") && !body.contains(CARD),
        "{body}"
    );
    let seen = monitor.drain_records_text(Duration::from_millis(500));
    assert!(
        seen.contains("member=Notify") && seen.contains(&summary),
        "{seen}"
    );
    assert!(file.exists(), "notify alone leaves the file");

    // No bus: a failed record and exit status 1.
    let out = cmd(BIN)
        .arg("--notify")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", dir.join("nobus").display()),
        )
        .stdin(finding(&file, "Credit Card Number", "VERY_LIKELY", 14))
        .run()
        .expect_code(1);
    let recs = out.records();
    assert_eq!(one(&recs)["action"], "failed");
}

trait DrainText {
    fn drain_records_text(&mut self, quiet: Duration) -> String;
}

impl DrainText for testkit::Spawned {
    fn drain_records_text(&mut self, quiet: Duration) -> String {
        let mut s = String::new();
        while let Some(l) = self.next_line(quiet) {
            s.push_str(&l);
            s.push('\n');
        }
        s
    }
}

/// `program`, run as `uid` through setpriv when given.
fn as_user(uid: Option<u32>, program: &str) -> testkit::Cmd {
    match uid {
        Some(u) => cmd("setpriv")
            .args([
                "--reuid",
                &u.to_string(),
                "--regid",
                &u.to_string(),
                "--clear-groups",
                "--",
            ])
            .arg(program),
        None => cmd(program),
    }
}

#[test]
fn as_root_the_notification_is_sent_as_the_files_owner() {
    // A session bus admits only its own user. Run one as uid 1000 (the
    // planted file's owner) and notify as root: the call must reach it.
    if !testkit::facility(
        owner() == 1000,
        "not root: cannot run a bus as another user; owner notification not tested",
    ) {
        return;
    }
    let dir = TempDir::new("rem-owner");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let bus = session_bus_as(&dir, Some(1000));
    let mut monitor = as_user(Some(1000), "dbus-monitor")
        .args([
            "--address",
            &bus.address,
            "interface='org.freedesktop.Notifications'",
        ])
        .spawn();
    assert!(
        monitor.next_line(Duration::from_secs(10)).is_some(),
        "dbus-monitor started"
    );
    // Root itself is refused by that bus.
    let refused = dlp_remediate::dbus::Bus::connect(&bus.address, Duration::from_secs(5));
    assert!(refused.is_err(), "root connected to uid 1000's session bus");

    let file = dir.join("payroll.csv");
    plant(&file, "");
    // Not in the directory anyone may write to: a vault is refused there.
    let vault = TempDir::new("rem-owner-vault");
    let out = cmd(BIN)
        .args(["--quarantine"])
        .arg(vault.join("vault"))
        .arg("--notify")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .stdin(finding(&file, "Credit Card Number", "VERY_LIKELY", 14))
        .run()
        .expect_code(0);
    let recs = out.records();
    let r = one(&recs);
    assert_eq!(r["action"], "quarantined");
    // Nobody serves notifications on this bare bus, so the bus itself
    // answers ServiceUnknown: proof that the call got past authentication.
    assert_eq!(r["notified"], false, "{r}");
    let err = r["notify_error"].as_str().unwrap();
    assert!(err.contains("ServiceUnknown"), "{err}");
    let seen = monitor.drain_records_text(Duration::from_millis(500));
    assert!(
        seen.contains("member=Notify") && seen.contains("Sensitive file quarantined: payroll.csv"),
        "{seen}"
    );
}

// --- what is open, and --pass-findings ------------------------------------

fn with_status(line: &str, status: &str) -> String {
    let mut v: Value = serde_json::from_str(line).unwrap();
    v["status"] = json!(status);
    v.to_string()
}

#[test]
fn only_open_findings_are_acted_on() {
    let dir = TempDir::new("rem-open");
    let file = dir.join("a.csv");
    plant(&file, "");
    let vault = dir.join("vault");
    let f = finding(&file, "Credit Card Number", "VERY_LIKELY", 14);
    // Gone from the file (edited out), in the vault already, and a status
    // of a later version: none is acted on, and each still parses.
    let input = [
        with_status(&f, "resolved"),
        with_status(&f, "quarantined"),
        with_status(&f, "archived"),
        with_status(&f, "archived"),
    ]
    .join("\n");
    for args in [
        &["--quarantine", vault.to_str().unwrap()][..],
        &["--delete", "--i-understand-this-deletes"],
    ] {
        let out = cmd(BIN)
            .args(args)
            .stdin(input.clone())
            .run()
            .expect_code(0);
        assert!(out.records().is_empty(), "{:?}", out.records());
        assert!(file.exists());
        let err = out.stderr_str();
        assert_eq!(err.matches("\"archived\"").count(), 1, "{err}");
    }
    // Open: no status, or new.
    for open in [f.clone(), with_status(&f, "new")] {
        let out = cmd(BIN)
            .args(["--notify", "--dry-run"])
            .stdin(open)
            .run()
            .expect_code(0);
        assert_eq!(one(&out.records())["action"], "notified");
    }
}

#[test]
fn pass_findings_passes_records_on_and_marks_those_of_quarantined_files() {
    let dir = TempDir::new("rem-pass");
    let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
    plant(&a, "");
    plant(&b, "");
    let vault = dir.join("vault");
    let actions = dir.join("actions.ndjson");
    let fa = finding(&a, "Credit Card Number", "VERY_LIKELY", 14);
    // An unknown field, and b's finding below the threshold: passed as is.
    let mut fb: Value =
        serde_json::from_str(&finding(&b, "Credit Card Number", "LIKELY", 14)).unwrap();
    fb["extra"] = json!({"kept": true});
    let fb = fb.to_string();
    // a is quarantined when the findings move on to b; its resolved
    // records (the watcher saw it go) come after; b's resolved record is
    // about a finding edited out of b, which is still there.
    let input = [
        fa.clone(),
        with_status(&fb, "new"),
        with_status(&fa, "resolved"),
        with_status(&fb, "resolved"),
        "not json".into(),
    ];
    let run = |input: &[String]| {
        cmd(BIN)
            .arg("--quarantine")
            .arg(&vault)
            .arg("--pass-findings")
            .arg("--actions")
            .arg(&actions)
            .stdin(input.join("\n"))
            .run()
    };
    let out = run(&input).expect_code(1);
    assert!(
        out.stderr_str().contains("line 5: not a Finding record"),
        "{}",
        out.stderr_str()
    );
    let lines: Vec<String> = out.stdout_str().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], input[0]);
    assert_eq!(lines[1], input[1]);
    assert_eq!(lines[3], input[3]);
    let acts = testkit::parse_records(&std::fs::read(&actions).unwrap());
    let act = one(&acts);
    assert_eq!(act["action"], "quarantined");
    let mut want: Value = serde_json::from_str(&input[2]).unwrap();
    want["status"] = json!("quarantined");
    want["quarantine_id"] = act["id"].clone();
    assert_eq!(serde_json::from_str::<Value>(&lines[2]).unwrap(), want);
    assert!(!a.exists());

    // The next run (pii-scan reports a's findings resolved on start): the
    // vault knows, and nothing is at a's path.
    let again = [with_status(&fa, "resolved")];
    let out = run(&again).expect_code(0);
    let r: Value = serde_json::from_str(out.stdout_str().trim()).unwrap();
    assert_eq!(
        (r["status"].as_str(), &r["quarantine_id"]),
        (Some("quarantined"), &act["id"])
    );
    // Restored: a resolved record is resolved again.
    cmd(BIN)
        .arg("--quarantine")
        .arg(&vault)
        .args(["restore", act["id"].as_str().unwrap()])
        .run()
        .expect_code(0);
    let out = run(&again).expect_code(0);
    assert_eq!(out.stdout_str().trim(), again[0]);
    // --pass-findings needs --actions.
    cmd(BIN)
        .args(["--notify", "--pass-findings"])
        .stdin("")
        .run()
        .expect_code(2);
}
