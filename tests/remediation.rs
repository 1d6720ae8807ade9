//! Remediation wired into the offline pipeline: `local-dlp.sh --quarantine
//! DIR [--notify]` with the real tools (debug builds through DLP_BIN_DIR),
//! once and watching; files with findings end up in the vault, a note in
//! their place, action records beside the CSV, and restore gives them back.
//! And the cloud path: nf-webhook's Findings carry the sha256 nf-upload sent,
//! so a file edited after it was uploaded is not acted on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use e2e::{event, nf_upload, Emulator, Webhook, PLANTED};
use serde_json::Value;
use testkit::{bin, cmd, Cmd, TempDir};

fn script(t: &TempDir) -> Cmd {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    cmd(root.join("pipelines/local-dlp.sh"))
        .env("DLP_BIN_DIR", bin("dlp-remediate").parent().unwrap())
        .env("XDG_STATE_HOME", t.join("state"))
        .env("HOME", t.join("home"))
}

fn actions(p: &Path) -> Vec<Value> {
    std::fs::read(p)
        .map(|b| testkit::parse_records(&b))
        .unwrap_or_default()
}

fn setup(tag: &str) -> (TempDir, PathBuf, PathBuf) {
    let t = TempDir::new(tag);
    let data = t.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("cards.txt"), PLANTED).unwrap();
    std::fs::write(data.join("clean.txt"), "nothing to see: version 1.2.3\n").unwrap();
    let vault = t.join("vault");
    (t, data, vault)
}

#[test]
fn once_with_quarantine_moves_files_with_findings_into_the_vault() {
    let (t, data, vault) = setup("rem-once");
    let out = t.join("out/results.csv");
    let run = script(&t)
        .args(["--once", "--output"])
        .arg(&out)
        .arg("--quarantine")
        .arg(&vault)
        .arg(&data)
        .run()
        .expect_code(0);
    let summary = run.stdout_str();
    assert!(summary.contains("3 finding(s) in 1 file(s)"), "{summary}");
    // dlp-remediate --summary says what it did, on stderr.
    let said = run.stderr_str();
    assert!(
        said.contains("dlp-remediate: 1 file(s) quarantined (records in "),
        "{said}"
    );
    // The CSV is written as before.
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("5433-9502-3725-7862"));
    // The file is in the vault, a note in its place, the clean file untouched.
    assert!(!data.join("cards.txt").exists());
    assert!(data.join("cards.txt.quarantined").exists());
    assert!(data.join("clean.txt").exists());
    let recs = actions(&t.join("out/actions.ndjson"));
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["action"], "quarantined");
    let id = recs[0]["id"].as_str().unwrap();
    cmd(bin("dlp-remediate"))
        .arg("--quarantine")
        .arg(&vault)
        .args(["restore", id])
        .run()
        .expect_code(0);
    assert_eq!(
        std::fs::read_to_string(data.join("cards.txt")).unwrap(),
        PLANTED
    );
    assert!(!data.join("cards.txt.quarantined").exists());
}

/// The CSV's rows with this status.
fn rows(csv: &Path, status: &str) -> usize {
    std::fs::read_to_string(csv)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.ends_with(&format!(",{status}")))
        .count()
}

#[test]
fn a_quarantined_files_findings_are_quarantined_not_resolved() {
    let (t, data, vault) = setup("rem-q-rows");
    let out = t.join("out/results.csv");
    let once = || {
        script(&t)
            .args(["--once", "--output"])
            .arg(&out)
            .arg("--quarantine")
            .arg(&vault)
            .arg(&data)
            .run()
            .expect_code(0)
    };
    once();
    assert_eq!((rows(&out, "new"), rows(&out, "quarantined")), (3, 0));
    // The next scan finds the file gone: pii-scan resolves its findings,
    // dlp-remediate (inline) knows from the vault that they are quarantined.
    let summary = once().stdout_str();
    assert_eq!(
        rows(&out, "quarantined"),
        3,
        "{}",
        std::fs::read_to_string(&out).unwrap()
    );
    assert_eq!(rows(&out, "resolved"), 0);
    assert!(summary.contains("3 finding(s) quarantined"), "{summary}");
    assert!(!summary.contains("resolved"), "{summary}");
}

#[test]
fn watching_with_quarantine_and_notify_acts_on_new_files_and_stops_cleanly() {
    let (t, data, vault) = setup("rem-watch");
    std::fs::remove_file(data.join("cards.txt")).unwrap();
    let acts = t.join("actions.ndjson");
    let mut run = script(&t)
        .arg("--output")
        .arg(t.join("results.csv"))
        .arg("--quarantine")
        .arg(&vault)
        .arg("--notify")
        .arg(&data)
        .env("DLP_DEBOUNCE_MS", "100")
        // No desktop session here: the record says the notification failed.
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", t.join("no-bus").display()),
        )
        .spawn();
    assert!(
        run.wait_stderr("fswatch-json: watching", Duration::from_secs(20)),
        "{}",
        run.stderr_text()
    );
    std::fs::write(data.join("new.csv"), PLANTED).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let recs = loop {
        let r = actions(&acts);
        if !r.is_empty() || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(recs.len(), 1, "{recs:?}\n{}", run.stderr_text());
    assert_eq!(recs[0]["action"], "quarantined");
    assert_eq!(recs[0]["notified"], false);
    assert!(recs[0]["notify_error"]
        .as_str()
        .unwrap()
        .contains("session bus"));
    assert!(!data.join("new.csv").exists());
    assert!(data.join("clean.txt").exists());
    // The watcher sees the file go; its findings are quarantined, not
    // resolved, in the CSV.
    let csv = t.join("results.csv");
    let deadline = Instant::now() + Duration::from_secs(20);
    while rows(&csv, "quarantined") < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        (
            rows(&csv, "new"),
            rows(&csv, "quarantined"),
            rows(&csv, "resolved")
        ),
        (3, 3, 0),
        "{text}"
    );
    assert!(
        text.lines()
            .filter(|l| l.ends_with(",quarantined"))
            .all(|l| l.contains("new.csv")),
        "{text}"
    );
    // The notice that could not be delivered is said.
    assert!(
        run.stderr_text().contains("notification not delivered"),
        "{}",
        run.stderr_text()
    );
    run.signal(15);
    let st = run
        .wait_timeout(Duration::from_secs(30))
        .expect("stops on SIGTERM");
    assert_eq!(st.code(), Some(0), "{}", run.stderr_text());
}

#[test]
fn once_with_notify_reports_a_notice_not_delivered() {
    // Beside a quarantine, a notice not delivered is "notified": false;
    // alone, it is a failed action. Either way the script says so.
    for (extra, said) in [
        (&["--quarantine"][..], "1 notification(s) not delivered: "),
        (&[][..], "1 action(s) failed: "),
    ] {
        let (t, data, vault) = setup("rem-notice");
        let mut cmd = script(&t)
            .args(["--once", "--output"])
            .arg(t.join("results.csv"))
            .arg("--notify");
        if !extra.is_empty() {
            cmd = cmd.args(extra).arg(&vault);
        }
        let err = cmd
            .arg(&data)
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", t.join("no-bus").display()),
            )
            .run()
            .expect_code(0)
            .stderr_str();
        assert!(
            err.contains(&format!("dlp-remediate: warning: {said}")) && err.contains("session bus"),
            "{err}"
        );
    }
}

#[test]
fn cloud_findings_carry_the_uploaded_hash_so_an_edited_file_is_skipped() {
    let emu = Emulator::start(&["--rate", "0"]);
    let mut hook = Webhook::start();
    let t = TempDir::new("rem-cloud");
    let (kept, edited) = (t.join("kept.txt"), t.join("edited.txt"));
    std::fs::write(&kept, PLANTED).unwrap();
    std::fs::write(&edited, PLANTED).unwrap();
    let input = event("modified", &kept) + &event("modified", &edited);
    nf_upload(&emu, &hook.ingest(), &["--concurrency", "1"], input).expect_code(0);
    let findings = hook
        .proc
        .records_until(Duration::from_secs(60), |v| v.len() >= 6);
    assert_eq!(findings.len(), 6, "{findings:?}");
    assert!(
        findings.iter().all(|f| f["sha256"].is_string()),
        "{findings:?}"
    );
    // Edited after the upload: what was scanned is no longer what is there.
    std::fs::write(&edited, "all cleaned up\n").unwrap();
    let lines: String = findings.iter().map(|f| f.to_string() + "\n").collect();
    let out = cmd(bin("dlp-remediate"))
        .arg("--quarantine")
        .arg(t.join("vault"))
        .args(["--min-confidence", "LIKELY"])
        .stdin(lines)
        .run()
        .expect_code(0);
    let recs = out.records();
    let of = |p: &Path| {
        recs.iter()
            .find(|r| r["path"] == p.to_str().unwrap())
            .unwrap_or_else(|| panic!("{p:?} in {recs:?}"))
    };
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(of(&kept)["action"], "quarantined");
    assert_eq!(of(&kept)["findings"], 3);
    assert_eq!(of(&edited)["action"], "skipped");
    assert_eq!(of(&edited)["reason"], "changed since scanned");
    assert!(!kept.exists() && edited.exists());
}
