//! End-to-end tests of the pipelines/ scripts, run as an operator runs them:
//! real tools (the debug builds, through DLP_BIN_DIR, so no release build),
//! real directories, loopback sockets, signals.
//!
//! - local-dlp.sh --once on planted data and on examples/sample-data;
//!   local-dlp.sh watching, then SIGTERM;
//! - demo-nightfall.sh end to end;
//! - endpoint-dlp.sh refusing to start without each variable, running
//!   against nf-emulator, stopping on SIGTERM, failing when a half dies;
//! - fim-notify.sh against a receiver in this test: a touch is no alert,
//!   an edit and a read are, and a change made while stopped is reported.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use e2e::{Emulator, KEY, PLANTED, SECRET};
use serde_json::Value;
use testkit::{bin, cmd, Cmd, Spawned, TempDir};

// ---------------------------------------------------------------- helpers

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A script under pipelines/, with the debug tools and no real state dir.
fn script(name: &str, state: &TempDir) -> Cmd {
    let bins = bin("fswatch-json");
    cmd(root().join("pipelines").join(name))
        .env("DLP_BIN_DIR", bins.parent().expect("bin dir"))
        .env("XDG_STATE_HOME", state.join("state"))
        .env("HOME", state.join("home"))
        .env("XDG_CONFIG_HOME", state.join("home/.config"))
}

/// A running script: SIGTERM and a bounded wait when dropped, so a failing
/// test does not leave its pipelines behind.
struct Running(Spawned);

impl Running {
    fn wait_stderr(&mut self, needle: &str, secs: u64) {
        assert!(
            self.0.wait_stderr(needle, Duration::from_secs(secs)),
            "no {needle:?} on stderr; stderr so far:\n{}",
            self.0.stderr_text()
        );
    }

    /// SIGTERM, then the exit code (panics after 30 s).
    fn terminate(&mut self) -> i32 {
        self.0.signal(15);
        let st = self.0.wait_timeout(Duration::from_secs(30));
        let st = st.unwrap_or_else(|| panic!("did not stop:\n{}", self.0.stderr_text()));
        st.code().unwrap_or(-1)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.child.try_wait() {
            self.0.signal(15);
            let _ = self.0.wait_timeout(Duration::from_secs(25));
        }
    }
}

/// Polls `f` every 50 ms until it returns Some or `secs` pass.
fn wait_for<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One CSV row of findings-csv's default columns.
#[derive(Debug, Clone)]
struct Row {
    upload_id: String,
    path: String,
    finding: String,
    detector: String,
    /// `new` or `resolved` with finding state (local-dlp.sh), else empty.
    status: String,
}

/// "Credit Card Number" and CREDIT_CARD_NUMBER name the same detector.
fn norm(detector: &str) -> String {
    detector.trim().to_uppercase().replace(' ', "_")
}

/// Parses RFC 4180 CSV: quoted fields, doubled quotes, newlines in quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// The CSV file's header count and data rows.
fn csv(path: &Path) -> (usize, Vec<Row>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all = parse_csv(&text);
    let headers = all.iter().filter(|r| r[0] == "upload_id").count();
    let rows = all
        .iter()
        .filter(|r| r[0] != "upload_id")
        .map(|r| {
            assert!(
                r.len() == 11 || r.len() == 12,
                "row with 11 default columns (+ status): {r:?}"
            );
            Row {
                upload_id: r[0].clone(),
                path: r[3].clone(),
                finding: r[5].clone(),
                detector: norm(&r[7]),
                status: r.get(11).cloned().unwrap_or_default(),
            }
        })
        .collect();
    (headers, rows)
}

/// Waits until the CSV holds at least `n` rows; returns them.
fn wait_rows(path: &Path, n: usize, secs: u64) -> Vec<Row> {
    wait_for(secs, || Some(csv(path).1).filter(|r| r.len() >= n))
        .unwrap_or_else(|| panic!("fewer than {n} rows in {}: {:?}", path.display(), csv(path)))
}

/// Command lines of live processes that mention `needle`.
fn procs_mentioning(needle: &str) -> Vec<String> {
    let mut v = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return v;
    };
    for e in dir.flatten() {
        if let Ok(raw) = std::fs::read(e.path().join("cmdline")) {
            let line = String::from_utf8_lossy(&raw).replace('\0', " ");
            if line.contains(needle) {
                v.push(line);
            }
        }
    }
    v
}

/// Asserts that no process mentioning `needle` is left (after a short grace).
fn assert_all_gone(needle: &str) {
    let left = wait_for(5, || {
        Some(()).filter(|()| procs_mentioning(needle).is_empty())
    });
    assert!(
        left.is_some(),
        "left running: {:?}",
        procs_mentioning(needle)
    );
}

/// Writes `data` to `path` in one go (created + modified + closed).
fn write(path: &Path, data: &str) {
    std::fs::write(path, data).unwrap();
}

// ------------------------------------------------------------ local-dlp.sh

#[test]
fn once_scans_planted_files_and_appends_one_header() {
    let t = TempDir::new("pl-once");
    let data = t.join("data");
    std::fs::create_dir_all(data.join("a")).unwrap();
    std::fs::create_dir_all(data.join("b")).unwrap();
    write(&data.join("a/cards.txt"), PLANTED);
    write(&data.join("b/clean.txt"), "nothing to see: version 1.2.3\n");
    write(&data.join("b/.cards.txt.swp"), PLANTED); // editor swap file: ignore-temp
    let out = t.join("out/results.csv");

    let run = script("local-dlp.sh", &t)
        .arg("--once")
        .arg("--output")
        .arg(&out)
        .arg(&data)
        .run()
        .expect_code(0);
    let (headers, rows) = csv(&out);
    assert_eq!(headers, 1);
    let cards = data.join("a/cards.txt").display().to_string();
    assert!(rows.iter().all(|r| r.path == cards), "{rows:?}");
    let mut got: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.detector.clone(), r.finding.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("CREDIT_CARD_NUMBER", "3457-389808-83234"),
            ("CREDIT_CARD_NUMBER", "5433-9502-3725-7862"),
            ("US_SOCIAL_SECURITY_NUMBER", "536-22-8726"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let summary = run.stdout_str();
    assert!(summary.contains("3 finding(s) in 1 file(s)"), "{summary}");
    assert!(summary.contains(&out.display().to_string()), "{summary}");
    // The whole summary: findings-csv --summary's counts, worded as
    // local-dlp's, then where the rows went.
    let (cc, ssn) = (
        norm("CREDIT_CARD_NUMBER"),
        norm("US_SOCIAL_SECURITY_NUMBER"),
    );
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "local-dlp: 3 finding(s) in 1 file(s) under {}",
            data.display()
        ),
        "{summary}"
    );
    let mut by_detector: Vec<String> = lines[1..3]
        .iter()
        .map(|l| {
            let (n, name) = l.trim().split_once(' ').unwrap();
            format!("{n} {}", norm(name))
        })
        .collect();
    by_detector.sort();
    assert_eq!(
        by_detector,
        [format!("1 {ssn}"), format!("2 {cc}")],
        "{summary}"
    );
    assert_eq!(
        lines[3..],
        [format!("local-dlp: CSV rows appended to {}", out.display())],
        "{summary}"
    );

    assert!(rows.iter().all(|r| r.status == "new"), "{rows:?}");

    // Scanning again appends nothing: the findings were reported already.
    let again = script("local-dlp.sh", &t)
        .args(["--once", "-o"])
        .arg(&out)
        .arg(&data)
        .run()
        .expect_code(0);
    let (headers, rows) = csv(&out);
    assert_eq!((headers, rows.len()), (1, 3));
    assert!(
        again.stdout_str().contains("0 new finding(s) in 0 file(s)"),
        "{}",
        again.stdout_str()
    );
    assert!(
        again
            .stdout_str()
            .contains("local-dlp: findings reported before are not repeated (state: "),
        "{}",
        again.stdout_str()
    );
    let state_before = std::fs::read(t.join("out/.results.csv.state/findings.state")).unwrap();
    let csv_before = std::fs::read(&out).unwrap();

    // --no-state reports everything, but not under a header with other columns.
    let refused = script("local-dlp.sh", &t)
        .args(["--once", "--no-state", "-o"])
        .arg(&out)
        .arg(&data)
        .run()
        .expect_code(2);
    let err = refused.stderr_str();
    assert!(err.contains("has other columns"), "{err}");
    // Both headers are named, and nothing was scanned or written.
    assert!(
        err.contains("status; this run's: upload_id,") && err.contains("nothing was scanned"),
        "{err}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), csv_before);
    assert_eq!(
        std::fs::read(t.join("out/.results.csv.state/findings.state")).unwrap(),
        state_before
    );
    let plain = t.join("out/plain.csv");
    script("local-dlp.sh", &t)
        .args(["--once", "--no-state", "-o"])
        .arg(&plain)
        .arg(&data)
        .run()
        .expect_code(0);
    let text = std::fs::read_to_string(&plain).unwrap();
    assert!(text.starts_with("upload_id,index,timestamp,path,before_context,finding,after_context,detector,confidence,byte_range,detection_rules\n"));
    assert_eq!(csv(&plain).1.len(), 3);

    // Deleting the CSV starts over: everything is reported again.
    std::fs::remove_file(&out).unwrap();
    let fresh = script("local-dlp.sh", &t)
        .args(["--once", "-o"])
        .arg(&out)
        .arg(&data)
        .run()
        .expect_code(0);
    assert_eq!(csv(&out).1.len(), 3);
    assert!(
        fresh.stderr_str().contains("starting over"),
        "{}",
        fresh.stderr_str()
    );
}

#[test]
fn once_finds_every_planted_type_in_the_bundled_samples_and_no_decoy() {
    let t = TempDir::new("pl-samples");
    let cwd = t.join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let samples = root().join("examples/sample-data");
    // No --output: ./results.csv in the working directory.
    let run = script("local-dlp.sh", &t)
        .arg("--once")
        .arg(&samples)
        .current_dir(&cwd)
        .run()
        .expect_code(0);
    let (_, rows) = csv(&cwd.join("results.csv"));
    let of = |file: &str, det: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.path.ends_with(&format!("/{file}")) && r.detector == det)
            .map(|r| r.finding.clone())
            .collect()
    };
    let cards = of("customers.csv", "CREDIT_CARD_NUMBER");
    for c in [
        "4526 0181 5908 3012",
        "2367-6613-1860-9130", // Mastercard 2-series
        "5419-4821-9935-1812",
        "3790-937865-79753", // Amex
        "6011 4323 1948 7574",
    ] {
        assert!(cards.iter().any(|f| f == c), "{c} not found: {cards:?}");
    }
    assert_eq!(of("customers.csv", "US_SOCIAL_SECURITY_NUMBER").len(), 5);
    let keys = of("app.env", "API_KEY");
    assert!(keys.iter().any(|k| k == "AKIAQYLPMN5HHHFPZAM2"), "{keys:?}");
    assert!(
        keys.iter()
            .any(|k| k.contains("f8Kq2LmZ9xWv4RtY7pNc3Bd6Hj1S")),
        "{keys:?}"
    );
    for f in ["id_ed25519", "server.key"] {
        let k = of(f, "CRYPTOGRAPHIC_KEY");
        assert!(
            k.len() == 1 && k[0].contains("PRIVATE KEY"),
            "{f}: {k:?} in {rows:?}"
        );
    }
    let decoys: Vec<&Row> = rows
        .iter()
        .filter(|r| r.path.ends_with("/release-notes.txt") || r.path.ends_with("/README.txt"))
        .collect();
    assert!(decoys.is_empty(), "decoys reported: {decoys:?}");
    assert!(
        run.stdout_str().contains("Credit Card Number")
            || run.stdout_str().contains("CREDIT_CARD_NUMBER"),
        "summary by detector: {}",
        run.stdout_str()
    );
}

#[test]
fn watch_mode_reports_existing_and_new_files_and_stops_on_sigterm() {
    let t = TempDir::new("pl-watch");
    let data = t.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write(&data.join("old.txt"), PLANTED);
    let out = t.join("results.csv");
    let mut run = Running(
        script("local-dlp.sh", &t)
            .arg("--output")
            .arg(&out)
            .arg(&data)
            .env("DLP_DEBOUNCE_MS", "100")
            .spawn(),
    );
    run.wait_stderr("fswatch-json: watching", 20);
    // The initial scan's rows.
    let rows = wait_rows(&out, 3, 20);
    assert!(
        rows.iter().all(|r| r.path.ends_with("/old.txt")),
        "{rows:?}"
    );

    write(&data.join("new.txt"), "ssn: 536-22-8726\n");
    let rows = wait_rows(&out, 4, 20);
    let new: Vec<&Row> = rows
        .iter()
        .filter(|r| r.path.ends_with("/new.txt"))
        .collect();
    assert_eq!(new.len(), 1, "{rows:?}");
    assert_eq!(new[0].detector, "US_SOCIAL_SECURITY_NUMBER");
    assert_eq!(new[0].finding, "536-22-8726");

    assert_eq!(run.terminate(), 0, "{}", run.0.stderr_text());
    let (headers, rows) = csv(&out);
    assert_eq!((headers, rows.len()), (1, 4), "CSV intact after SIGTERM");
    assert_all_gone(&data.display().to_string());
}

/// Rows of the CSV about `file` (by file name).
fn rows_of(out: &Path, file: &str) -> Vec<Row> {
    csv(out)
        .1
        .into_iter()
        .filter(|r| r.path.ends_with(&format!("/{file}")))
        .collect()
}

/// Writes a sentinel file with one SSN and waits for its row: the pipeline
/// keeps the order of events, so whatever an earlier action produced is in
/// the CSV by then.
fn sentinel(out: &Path, dir: &Path, name: &str) {
    write(&dir.join(name), "ssn: 536-22-8726\n");
    wait_for(20, || Some(()).filter(|()| !rows_of(out, name).is_empty()))
        .unwrap_or_else(|| panic!("no row for sentinel {name}: {:?}", csv(out)));
}

fn start_watch(t: &TempDir, out: &Path, dir: &Path) -> Running {
    let mut run = Running(
        script("local-dlp.sh", t)
            .arg("--output")
            .arg(out)
            .arg(dir)
            .env("DLP_DEBOUNCE_MS", "100")
            .spawn(),
    );
    run.wait_stderr("fswatch-json: watching", 20);
    run
}

#[test]
fn watch_mode_reports_each_finding_once_across_saves_touches_and_restarts() {
    const CARD: &str = "4526 0181 5908 3012";
    const SSN: &str = "536-22-8726";
    const SSN2: &str = "078-05-1121";
    let t = TempDir::new("pl-once-only");
    let dir = t.join("docs");
    std::fs::create_dir_all(&dir).unwrap();
    let out = t.join("results.csv");
    let a = dir.join("a.txt");
    let mut run = start_watch(&t, &out, &dir);

    // Created with 2 findings: 2 rows.
    let two = format!("Card {CARD}\nSSN {SSN}\n");
    write(&a, &two);
    let rows = wait_for(20, || Some(rows_of(&out, "a.txt")).filter(|r| r.len() >= 2)).unwrap();
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.finding.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(got, [(CARD, "new"), (SSN, "new")]);

    // One more appended: 1 more row.
    let three = format!("{two}SSN {SSN2}\n");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&a)
        .unwrap()
        .write_all(format!("SSN {SSN2}\n").as_bytes())
        .unwrap();
    let rows = wait_for(20, || Some(rows_of(&out, "a.txt")).filter(|r| r.len() >= 3)).unwrap();
    assert_eq!(
        (rows[2].finding.as_str(), rows[2].status.as_str()),
        (SSN2, "new")
    );

    // A touch: no row.
    let st = std::process::Command::new("touch")
        .arg(&a)
        .status()
        .unwrap();
    assert!(st.success());
    sentinel(&out, &dir, "s1.txt");
    assert_eq!(rows_of(&out, "a.txt").len(), 3, "a touch adds no row");

    // A vim-style save without new content: backup by rename, write, remove backup.
    let backup = dir.join("a.txt~");
    std::fs::rename(&a, &backup).unwrap();
    write(&a, &three);
    std::fs::remove_file(&backup).unwrap();
    sentinel(&out, &dir, "s2.txt");
    assert_eq!(
        rows_of(&out, "a.txt").len(),
        3,
        "a save without new content adds no row"
    );

    // Stop and restart: nothing again.
    assert_eq!(run.terminate(), 0, "{}", run.0.stderr_text());
    let mut run = start_watch(&t, &out, &dir);
    sentinel(&out, &dir, "s3.txt");
    assert_eq!(rows_of(&out, "a.txt").len(), 3, "a restart adds no row");
    assert_eq!(rows_of(&out, "s1.txt").len(), 1, "nor for other files");

    // The card edited out: one resolved record.
    write(&a, &format!("SSN {SSN}\nSSN {SSN2}\n"));
    let rows = wait_for(20, || Some(rows_of(&out, "a.txt")).filter(|r| r.len() >= 4)).unwrap();
    assert_eq!(
        (
            rows[3].status.as_str(),
            rows[3].detector.as_str(),
            rows[3].finding.as_str()
        ),
        ("resolved", "CREDIT_CARD_NUMBER", "")
    );

    // The file deleted: resolved for what was left.
    std::fs::remove_file(&a).unwrap();
    let rows = wait_for(20, || Some(rows_of(&out, "a.txt")).filter(|r| r.len() >= 6)).unwrap();
    assert!(
        rows[4..]
            .iter()
            .all(|r| r.status == "resolved" && r.detector == "US_SOCIAL_SECURITY_NUMBER"),
        "{rows:?}"
    );
    sentinel(&out, &dir, "s4.txt");
    assert_eq!(rows_of(&out, "a.txt").len(), 6, "{:?}", csv(&out));
    assert_eq!(run.terminate(), 0, "{}", run.0.stderr_text());
    let (headers, _) = csv(&out);
    assert_eq!(headers, 1);
    // The state holds no finding in clear.
    let state = std::fs::read_to_string(t.join(".results.csv.state/findings.state")).unwrap();
    // Whole values: the state's hex digests can hold "4526" by chance.
    assert!(
        !state.contains(SSN) && !state.contains(CARD) && !state.contains("4526018159083012"),
        "{state}"
    );
}

#[test]
fn settings_file_is_read_only_when_private_and_the_environment_wins() {
    use std::os::unix::fs::PermissionsExt;
    let t = TempDir::new("pl-envfile");
    let cfg = t.join("home/.config/dlp-pipes");
    std::fs::create_dir_all(&cfg).unwrap();
    let env = cfg.join("env");
    let fim = || script("fim-notify.sh", &t).arg(t.path());

    // No file, no variable: both named in the message.
    let err = fim().run().expect_code(2).stderr_str();
    assert!(
        err.contains(&format!(
            "missing WATCH_WEBHOOK_URL: not set in the environment, and there is no {}",
            env.display()
        )),
        "{err}"
    );

    // Readable by others: refused, with the fix.
    write(
        &env,
        "# dlp-pipes settings\n\nexport WATCH_WEBHOOK_URL=\"http://127.0.0.1:9/\"\nFIM_FORMAT='xml'\nFIM_BATCH=abc\n",
    );
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = fim().run().expect_code(2).stderr_str();
    assert!(
        err.contains(&format!(
            "refusing settings file {}: group or others may access it (mode 644); run: chmod 600",
            env.display()
        )),
        "{err}"
    );

    // Private: read (quotes and `export` understood).
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = fim().run().expect_code(2).stderr_str();
    assert!(
        err.contains("FIM_FORMAT must be slack or raw, not 'xml'"),
        "{err}"
    );

    // The environment wins over the file.
    let err = fim()
        .env("FIM_FORMAT", "raw")
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(
        err.contains("FIM_BATCH and FIM_MAX_PER_MINUTE must be numbers"),
        "{err}"
    );

    // endpoint-dlp names exactly what is missing from both.
    write(&env, "NIGHTFALL_API_KEY=NF-from-file-must-not-leak\nNIGHTFALL_SIGNING_SECRET=s3cr3t-must-not-leak\n");
    let mut c = script("endpoint-dlp.sh", &t).arg(t.path());
    for v in VARS {
        c = c.env(v, "");
    }
    let err = c.run().expect_code(2).stderr_str();
    assert!(
        err.contains(&format!(
            "missing NIGHTFALL_SERVER_URL: not set in the environment nor in {}",
            env.display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("NIGHTFALL_API_KEY") && !err.contains("must-not-leak"),
        "{err}"
    );

    // A line that is not NAME=value is named.
    write(
        &env,
        "WATCH_WEBHOOK_URL=http://127.0.0.1:9/\nthis is not a setting\n",
    );
    let err = fim().run().expect_code(2).stderr_str();
    assert!(err.contains("line 2 is not NAME=value"), "{err}");

    // Owned by someone else: refused (only root can set this up).
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        let st = std::process::Command::new("chown")
            .arg("65534")
            .arg(&env)
            .status()
            .unwrap();
        assert!(st.success());
        let err = fim().run().expect_code(2).stderr_str();
        assert!(
            err.contains("owned by uid 65534, not by you (uid 0)"),
            "{err}"
        );
    }
}

#[test]
fn a_script_builds_the_tools_it_runs_once_with_visible_progress_and_not_again() {
    use std::os::unix::fs::PermissionsExt;
    let t = TempDir::new("pl-build");
    let debug = bin("pii-scan").parent().unwrap().to_path_buf();
    let fake = t.join("fakebin");
    std::fs::create_dir_all(&fake).unwrap();
    let log = t.join("cargo.log");
    let target = t.join("target");
    // A stand-in cargo: logs its arguments, says what it compiles, and
    // "builds" a release binary running the debug one for each `-p TOOL`.
    let script_text = format!(
        "#!/bin/sh\necho \"$*\" >> '{log}'\necho '   Compiling dlp-pipes (fake cargo)' >&2\nmkdir -p '{target}/release'\n\
         prev=\nfor a in \"$@\"; do\n\
         if [ \"$prev\" = -p ]; then\n\
         printf '#!/bin/sh\\nexec %s/%s \"$@\"\\n' '{debug}' \"$a\" > '{target}/release/'\"$a\"\n\
         chmod +x '{target}/release/'\"$a\"\nfi\nprev=$a\ndone\n",
        log = log.display(),
        target = target.display(),
        debug = debug.display(),
    );
    let cargo = fake.join("cargo");
    write(&cargo, &script_text);
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        fake.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let data = t.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write(&data.join("a.txt"), PLANTED);
    let local = || {
        script("local-dlp.sh", &t)
            .env("DLP_BIN_DIR", "")
            .env("CARGO_TARGET_DIR", &target)
            .env("PATH", &path)
            .args(["--once", "-o"])
            .arg(t.join("r.csv"))
            .arg(&data)
    };
    let calls = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    // The offline scan builds the three tools it runs, in one cargo run.
    let first = local().run().expect_code(0);
    let err = first.stderr_str();
    assert!(
        err.contains("building pii-scan path-filter findings-csv (cargo build --release"),
        "{err}"
    );
    assert!(
        err.contains("Compiling dlp-pipes (fake cargo)"),
        "cargo's output is shown: {err}"
    );
    let packages = |call: &str| {
        let mut p: Vec<String> = call
            .split(" -p ")
            .skip(1)
            .map(|s| s.split(' ').next().unwrap().to_owned())
            .collect();
        p.sort();
        p
    };
    let c = calls();
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].starts_with("build --release --locked --bins"), "{c:?}");
    assert!(!c[0].contains("-q"), "{c:?}");
    assert_eq!(
        packages(&c[0]),
        ["findings-csv", "path-filter", "pii-scan"],
        "{c:?}"
    );
    assert_eq!(csv(&t.join("r.csv")).1.len(), 3);

    // Current binaries: the script does not build again.
    local().run().expect_code(0);
    assert_eq!(calls().len(), 1, "{:?}", calls());

    // Another script builds the tools it runs (the current ones among them
    // are cargo's to skip), once.
    let fim = || {
        script("fim-notify.sh", &t)
            .env("DLP_BIN_DIR", "")
            .env("CARGO_TARGET_DIR", &target)
            .env("PATH", &path)
            .env("WATCH_WEBHOOK_URL", "http://127.0.0.1:9/")
            .env("FIM_EVENTS", "bogus")
            .arg(&data)
            .run()
            .expect_code(2)
            .stderr_str()
    };
    let err = fim();
    assert!(err.contains("bad FIM_EVENTS"), "{err}");
    let c = calls();
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!(
        packages(&c[1]),
        ["fswatch-json", "path-filter", "webhook-post"],
        "{c:?}"
    );
    assert!(fim().contains("bad FIM_EVENTS"));
    local().run().expect_code(0);
    assert_eq!(calls().len(), 2, "{:?}", calls());

    // A binary older than the sources: one rebuild.
    let st = std::process::Command::new("touch")
        .args(["-d", "2001-01-01"])
        .arg(target.join("release/pii-scan"))
        .status()
        .unwrap();
    assert!(st.success());
    let err = local().run().expect_code(0).stderr_str();
    assert!(
        err.contains("sources changed: rebuilding pii-scan path-filter findings-csv"),
        "{err}"
    );
    assert_eq!(calls().len(), 3);
}

#[test]
fn a_csv_with_other_columns_stops_a_script_before_it_starts() {
    // findings-csv --append, run on empty input first, refuses the file:
    // fleet-central reads nothing from the stream (the servers here do not
    // even exist) and the watching local-dlp starts no pipeline.
    let t = TempDir::new("pl-other-columns");
    let out = t.join("central.csv");
    std::fs::write(&out, "a,b\n1,2\n").unwrap();
    let port = testkit::closed_port();
    let err = script("fleet-central.sh", &t)
        .args(["--once", "--report", "-", "--servers"])
        .arg(format!("nats://127.0.0.1:{port}"))
        .arg("--output")
        .arg(&out)
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(
        err.contains("its header: a,b; this run's: host,timestamp,status,"),
        "{err}"
    );
    assert!(err.contains("nothing was read from the stream"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "a,b\n1,2\n");

    let data = t.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write(&data.join("cards.txt"), PLANTED);
    let err = script("local-dlp.sh", &t)
        .args(["--mounts", "-o"])
        .arg(&out)
        .arg(&data)
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(
        err.contains("this run's: upload_id,") && err.contains("status,removable,copied_from)"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "a,b\n1,2\n");

    // A new file gets the header of the options' preset.
    let fresh = t.join("fresh.csv");
    script("local-dlp.sh", &t)
        .args(["--once", "--no-state", "--mounts", "-o"])
        .arg(&fresh)
        .arg(&data)
        .run()
        .expect_code(0);
    let text = std::fs::read_to_string(&fresh).unwrap();
    assert!(
        text.starts_with("upload_id,index,timestamp,path,before_context,finding,after_context,detector,confidence,byte_range,detection_rules,removable,copied_from\n"),
        "{text}"
    );
}

#[test]
fn every_script_has_usage_and_rejects_bad_arguments() {
    let t = TempDir::new("pl-usage");
    for s in [
        "local-dlp.sh",
        "endpoint-dlp.sh",
        "demo-nightfall.sh",
        "fim-notify.sh",
    ] {
        let help = script(s, &t).arg("--help").run().expect_code(0);
        assert!(help.stdout_str().starts_with("Usage: "), "{s}");
        let bad = script(s, &t).arg("--no-such-flag").run().expect_code(2);
        assert!(bad.stderr_str().contains("unknown option"), "{s}");
        assert!(bad.stderr_str().contains("Usage: "), "{s}");
    }
    let missing = t.join("missing");
    let out = script("local-dlp.sh", &t)
        .arg("--once")
        .arg(&missing)
        .run()
        .expect_code(2);
    assert!(out.stderr_str().contains("missing"), "{}", out.stderr_str());
    script("local-dlp.sh", &t)
        .arg(&missing)
        .run()
        .expect_code(2);
    // fim-notify needs a directory and WATCH_WEBHOOK_URL.
    script("fim-notify.sh", &t).run().expect_code(2);
    let fim = script("fim-notify.sh", &t)
        .arg(t.path())
        .env("WATCH_WEBHOOK_URL", "")
        .run()
        .expect_code(2);
    assert!(
        fim.stderr_str().contains("WATCH_WEBHOOK_URL"),
        "{}",
        fim.stderr_str()
    );
    let fim = script("fim-notify.sh", &t)
        .arg(t.path())
        .env("WATCH_WEBHOOK_URL", "http://127.0.0.1:9/")
        .env("FIM_FORMAT", "xml")
        .run()
        .expect_code(2);
    assert!(
        fim.stderr_str().contains("FIM_FORMAT"),
        "{}",
        fim.stderr_str()
    );
}

// -------------------------------------------------------- demo-nightfall.sh

#[test]
fn demo_nightfall_shows_findings_coming_back_and_exits_0() {
    let t = TempDir::new("pl-demo");
    let watched = t.join("watched");
    std::fs::create_dir_all(&watched).unwrap();
    for dir in [None, Some(&watched)] {
        let mut c = script("demo-nightfall.sh", &t);
        if let Some(d) = dir {
            c = c.arg(d);
        }
        let mut run = c.spawn();
        let st = run
            .wait_timeout(Duration::from_secs(70))
            .unwrap_or_else(|| panic!("demo did not finish:\n{}", run.stderr_text()));
        let mut out = String::new();
        while let Some(l) = run.next_line(Duration::from_millis(200)) {
            out.push_str(&l);
            out.push('\n');
        }
        assert_eq!(st.code(), Some(0), "{out}\n{}", run.stderr_text());
        let csv_start = out.find("upload_id,").expect("CSV printed");
        let rows: Vec<Vec<String>> = parse_csv(&out[csv_start..])
            .into_iter()
            .filter(|r| r.len() == 11 && r[0] != "upload_id")
            .collect();
        let mut got: Vec<(String, String)> =
            rows.iter().map(|r| (norm(&r[7]), r[5].clone())).collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("API_KEY", "AKIAQYLPMN5HHHFPZAM2"),
                ("CREDIT_CARD_NUMBER", "3457-389808-83234"),
                ("CREDIT_CARD_NUMBER", "5433-9502-3725-7862"),
                ("US_SOCIAL_SECURITY_NUMBER", "536-22-8726"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned())),
            "{out}"
        );
        assert!(out.contains("\"status\":\"scan_initiated\""), "{out}");
        if dir.is_some() {
            let left: Vec<_> = std::fs::read_dir(&watched).unwrap().flatten().collect();
            assert!(left.is_empty(), "demo file not removed: {left:?}");
        }
    }
}

// ---------------------------------------------------------- endpoint-dlp.sh

const VARS: [&str; 3] = [
    "NIGHTFALL_API_KEY",
    "NIGHTFALL_SIGNING_SECRET",
    "NIGHTFALL_SERVER_URL",
];

#[test]
fn endpoint_refuses_to_start_naming_each_missing_variable() {
    let t = TempDir::new("pl-env");
    let values = [
        "NF-key-must-not-leak",
        "secret-must-not-leak",
        "http://127.0.0.1:9",
    ];
    for missing in VARS {
        let mut c = script("endpoint-dlp.sh", &t).arg(t.path());
        for (v, val) in VARS.iter().zip(values) {
            c = c.env(v, if *v == missing { "" } else { val });
        }
        let out = c.run().expect_code(2);
        let err = out.stderr_str();
        assert!(err.contains(missing), "{missing}: {err}");
        for other in VARS.iter().filter(|v| **v != missing) {
            assert!(!err.contains(other), "{other} named needlessly: {err}");
        }
        assert!(!err.contains("must-not-leak"), "{err}");
    }
    let mut c = script("endpoint-dlp.sh", &t);
    for v in VARS {
        c = c.env(v, "");
    }
    let err = c.run().expect_code(2).stderr_str();
    for v in VARS {
        assert!(err.contains(v), "{v}: {err}");
    }
}

/// endpoint-dlp.sh against `emu` on `port`, watching `dir`.
/// The port in the script's "nf-webhook on 127.0.0.1:PORT" ready line.
fn nf_webhook_port(stderr: &str) -> u16 {
    let at =
        stderr.find("nf-webhook on 127.0.0.1:").expect(stderr) + "nf-webhook on 127.0.0.1:".len();
    let digits: String = stderr[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let port: u16 = digits.parse().expect(stderr);
    assert_ne!(port, 0, "{stderr}");
    port
}

/// The endpoint script with nf-webhook on `listen` (port 0: one it picks).
fn endpoint(t: &TempDir, emu: &Emulator, listen: &str, dir: &Path) -> Cmd {
    script("endpoint-dlp.sh", t)
        .env("NIGHTFALL_API_KEY", KEY)
        .env("NIGHTFALL_SIGNING_SECRET", SECRET)
        .env("NIGHTFALL_API_URL", emu.url())
        .env("NIGHTFALL_SERVER_URL", format!("http://{listen}"))
        .env("LISTEN", listen)
        .env("DLP_DEBOUNCE_MS", "100")
        .arg("--output")
        .arg(t.join("results.csv"))
        .arg("--scans")
        .arg(t.join("scans.ndjson"))
        .arg("--log-dir")
        .arg(t.join("logs"))
        .arg("--spool")
        .arg(t.join("spool"))
        .arg(dir)
}

#[test]
fn endpoint_runs_against_the_emulator_and_stops_both_halves_on_sigterm() {
    let t = TempDir::new("pl-endpoint");
    let dir = t.join("watched");
    std::fs::create_dir_all(&dir).unwrap();
    let emu = Emulator::start(&[]);
    let mut run = Running(endpoint(&t, &emu, "127.0.0.1:0", &dir).spawn());
    run.wait_stderr("endpoint-dlp: ready", 30);
    let port = nf_webhook_port(&run.0.stderr_text());

    let file = dir.join("customers.txt");
    write(&file, PLANTED);
    let rows = wait_rows(&t.join("results.csv"), 3, 30);
    assert!(
        rows.iter().all(|r| Path::new(&r.path) == file),
        "rows name the file: {rows:?}"
    );
    let mut dets: Vec<String> = rows.iter().map(|r| r.detector.clone()).collect();
    dets.sort();
    assert_eq!(
        dets,
        [
            "CREDIT_CARD_NUMBER",
            "CREDIT_CARD_NUMBER",
            "US_SOCIAL_SECURITY_NUMBER"
        ]
    );
    let scans = std::fs::read_to_string(t.join("scans.ndjson")).unwrap();
    let scan: Value = scans
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["status"] == "scan_initiated")
        .expect("a scan_initiated record");
    assert_eq!(scan["upload_id"].as_str(), Some(rows[0].upload_id.as_str()));

    assert_eq!(run.terminate(), 0, "{}", run.0.stderr_text());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nf-webhook still listening"
    );
    assert_all_gone(&t.path().display().to_string());
    for log in ["webhook.log", "scanner.log"] {
        let text = std::fs::read_to_string(t.join("logs").join(log)).unwrap();
        assert!(
            !text.contains(SECRET) && !text.contains(KEY),
            "{log}: {text}"
        );
    }
    let webhook_log = std::fs::read_to_string(t.join("logs/webhook.log")).unwrap();
    assert!(
        webhook_log.contains("nf-webhook: listening"),
        "{webhook_log}"
    );
}

#[test]
fn endpoint_exits_nonzero_when_a_half_cannot_run() {
    let t = TempDir::new("pl-endpoint-fail");
    let dir = t.join("watched");
    std::fs::create_dir_all(&dir).unwrap();
    let emu = Emulator::start(&[]);
    // Something else holds the port: nf-webhook cannot listen.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    // The port answers (it is taken), so readiness passes: the script
    // must notice that the webhook half died and stop the other half.
    let mut run = Running(endpoint(&t, &emu, &listen, &dir).spawn());
    let st = run
        .0
        .wait_timeout(Duration::from_secs(40))
        .unwrap_or_else(|| panic!("still running:\n{}", run.0.stderr_text()));
    assert_eq!(st.code(), Some(1), "{}", run.0.stderr_text());
    let err = run.0.stderr_text();
    assert!(err.contains("nf-webhook"), "names the failed half: {err}");
    assert_all_gone(&t.path().display().to_string());
}

// ------------------------------------------------------------ fim-notify.sh

/// A webhook receiver: every POST body, answered 200.
fn receiver() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/fim", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || serve(conn, &tx));
        }
    });
    (url, rx)
}

fn serve(conn: TcpStream, tx: &mpsc::Sender<String>) {
    let mut w = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    loop {
        let mut len = 0usize;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if first {
                first = false;
                continue;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
        if w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// The FsEvent records of one raw-format POST (a record or an array).
fn events_of(body: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(body).expect("JSON body") {
        Value::Array(v) => v,
        v => vec![v],
    }
}

/// Records POSTed until one satisfies `done` (panics after `secs`).
fn posts_until(
    rx: &mpsc::Receiver<String>,
    secs: u64,
    done: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut all = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let body = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no matching POST in {secs} s; got {all:?}"));
        all.extend(events_of(&body));
        if all.iter().any(&done) {
            return all;
        }
    }
}

fn fim(t: &TempDir, url: &str, dir: &Path) -> Running {
    let mut run = Running(
        script("fim-notify.sh", t)
            .env("WATCH_WEBHOOK_URL", url)
            .env("FIM_FORMAT", "raw")
            .env("FIM_BATCH", "1")
            .arg(dir)
            .spawn(),
    );
    run.wait_stderr("fswatch-json: watching", 20);
    run
}

#[test]
fn fim_alerts_on_edits_and_reads_not_touches_and_keeps_a_baseline() {
    let t = TempDir::new("pl-fim");
    let dir = t.join("user_pii");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("customers.csv");
    write(&file, "name,ssn\nAna,536-22-8726\n");
    let (url, rx) = receiver();
    let mut run = fim(&t, &url, &dir);

    // A touch (opens for writing, changes nothing): no POST.
    let st = std::process::Command::new("touch")
        .arg(&file)
        .status()
        .unwrap();
    assert!(st.success());
    if let Ok(body) = rx.recv_timeout(Duration::from_millis(1500)) {
        panic!("a touch was posted: {body}");
    }

    // A real edit: a `modified` alert with both hashes.
    write(&file, "name,ssn\nAna,536-22-8726\nBo,412-67-3390\n");
    let got = posts_until(&rx, 10, |e| e["event_type"] == "modified");
    let m = got.iter().find(|e| e["event_type"] == "modified").unwrap();
    assert_eq!(m["src_path"].as_str(), Some(file.to_str().unwrap()));
    assert!(
        m["sha256"].is_string() && m["previous_sha256"].is_string(),
        "{m}"
    );
    assert_ne!(m["sha256"], m["previous_sha256"]);

    // A read: a closed_no_write alert.
    let _ = std::fs::read(&file).unwrap();
    let got = posts_until(&rx, 10, |e| e["event_type"] == "closed_no_write");
    assert!(
        got.iter().all(|e| e["src_path"] == m["src_path"]),
        "{got:?}"
    );

    assert_eq!(run.terminate(), 0, "{}", run.0.stderr_text());
    assert_all_gone(&dir.display().to_string());
    // Delivery records on stdout.
    let delivered: Vec<Value> =
        std::iter::from_fn(|| run.0.next_record(Duration::from_millis(200)))
            .filter(|r| r["status"] == "delivered")
            .collect();
    assert!(delivered.len() >= 2, "{delivered:?}");
    // The per-instance state dir was derived from the watched directory.
    let fim_state = t.join("state/dlp-pipes/fim");
    let inst: Vec<_> = std::fs::read_dir(&fim_state).unwrap().flatten().collect();
    assert_eq!(inst.len(), 1);
    let name = inst[0].file_name().to_string_lossy().into_owned();
    assert!(name.starts_with("user_pii-"), "{name}");
    assert!(inst[0].path().join("baseline.state").exists());

    // Changed while stopped: reported on the next start.
    write(&file, "name,ssn\n");
    let _run = fim(&t, &url, &dir);
    let got = posts_until(&rx, 10, |e| e["event_type"] == "modified");
    let m2 = got.iter().find(|e| e["event_type"] == "modified").unwrap();
    assert_eq!(m2["previous_sha256"], m["sha256"], "{m2}");
}

#[test]
fn fim_alerts_once_per_new_file_and_on_metadata_changes_naming_the_host() {
    let t = TempDir::new("pl-fim-attrib");
    let dir = t.join("user_pii");
    std::fs::create_dir_all(&dir).unwrap();
    let (url, rx) = receiver();
    let mut run = Running(
        script("fim-notify.sh", &t)
            .env("WATCH_WEBHOOK_URL", &url)
            .env("FIM_FORMAT", "slack")
            .env("FIM_BATCH", "1")
            .args(["--host", "pii-store-1"])
            .arg(&dir)
            .spawn(),
    );
    run.wait_stderr("fswatch-json: watching", 20);
    let texts = |secs: u64| -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut v = Vec::new();
        while let Ok(body) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            let j: Value = serde_json::from_str(&body).unwrap();
            v.extend(j["text"].as_str().unwrap().lines().map(str::to_owned));
        }
        v
    };
    // A new file, created empty then written (as editors and `cp` do): one alert.
    let file = dir.join("users.csv");
    let mut f = std::fs::File::create(&file).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    f.write_all(b"name,ssn\nAna,536-22-8726\n").unwrap();
    drop(f);
    let got = texts(3);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with(":new: [pii-store-1] created "),
        "{got:?}"
    );
    // chmod: one alert with the old and new mode; a touch: none.
    let p = file.to_str().unwrap();
    assert!(std::process::Command::new("chmod")
        .args(["666", p])
        .status()
        .unwrap()
        .success());
    assert!(std::process::Command::new("touch")
        .arg(p)
        .status()
        .unwrap()
        .success());
    let got = texts(3);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains("[pii-store-1] attributes of")
            && got[0].ends_with("changed: mode 0644 → 0666"),
        "{got:?}"
    );
    assert_eq!(run.terminate(), 0, "{}", run.0.stderr_text());
}

#[test]
fn endpoint_checks_the_api_before_ready_and_names_the_host() {
    let t = TempDir::new("pl-preflight");
    let dir = t.join("watched");
    std::fs::create_dir_all(&dir).unwrap();
    let emu = Emulator::start(&[]);
    // A key the API refuses: nothing starts, status 2, the host named.
    let out = endpoint(&t, &emu, "127.0.0.1:0", &dir)
        .env("NIGHTFALL_API_KEY", "wrong-key-must-not-leak")
        .run()
        .expect_code(2);
    let err = out.stderr_str();
    assert!(err.contains("refused the API key"), "{err}");
    assert!(err.contains(&emu.url()), "names the host: {err}");
    assert!(
        !err.contains("ready") && !err.contains("must-not-leak"),
        "{err}"
    );
    // An API that does not answer: the same, saying so.
    let dead = format!("http://127.0.0.1:{}", testkit::closed_port());
    let out = endpoint(&t, &emu, "127.0.0.1:0", &dir)
        .env("NIGHTFALL_API_URL", &dead)
        .run()
        .expect_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains(&format!("cannot reach the Nightfall API at {dead}")),
        "{err}"
    );
    // The right key: said before ready.
    let mut run = Running(endpoint(&t, &emu, "127.0.0.1:0", &dir).spawn());
    run.wait_stderr("endpoint-dlp: ready", 30);
    let err = run.0.stderr_text();
    assert!(
        err.contains(&format!(
            "the Nightfall API at {} answers and accepts the API key",
            emu.url()
        )),
        "{err}"
    );
    assert_eq!(run.terminate(), 0);
}

// ------------------------------------------------- endpoint-dlp.sh --stage

#[test]
fn endpoint_stages_each_run_one_pipeline_in_the_foreground() {
    let t = TempDir::new("pl-stages");
    let dir = t.join("watched");
    std::fs::create_dir_all(&dir).unwrap();
    let emu = Emulator::start(&[]);
    let port = testkit::closed_port();
    let listen = format!("127.0.0.1:{port}");

    // Bad stages are usage errors, before anything starts.
    let out = endpoint(&t, &emu, &listen, &dir)
        .args(["--stage", "both"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str()
            .contains("unknown stage 'both': the stages are webhook scanner"),
        "{}",
        out.stderr_str()
    );
    let out = endpoint(&t, &emu, &listen, &dir)
        .arg("--ready")
        .run()
        .expect_code(2);
    assert!(out.stderr_str().contains("--ready needs --stage"));
    let out = endpoint(&t, &emu, "127.0.0.1:0", &dir)
        .args(["--stage", "webhook"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("fixed port"),
        "{}",
        out.stderr_str()
    );
    assert!(!t.join("results.csv").exists(), "nothing was started");

    // The webhook stage: the script's process becomes nf-webhook, with
    // findings-csv below it, and no shell; --ready returns once it listens.
    let mut webhook = Running(
        endpoint(&t, &emu, &listen, &dir)
            .args(["--stage", "webhook"])
            .spawn(),
    );
    endpoint(&t, &emu, &listen, &dir)
        .args(["--stage", "webhook", "--ready"])
        .run()
        .expect_code(0);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    let webhook_pids = e2e::wait_process_tree(webhook.0.pid(), &["nf-webhook", "findings-csv"]);
    let (headers, rows) = csv(&t.join("results.csv"));
    assert_eq!(
        (headers, rows.len()),
        (1, 0),
        "the header, before any result"
    );

    // The scanner stage: fswatch-json | path-filter | nf-upload, nested.
    let mut scanner = Running(
        endpoint(&t, &emu, &listen, &dir)
            .args(["--stage", "scanner"])
            .spawn(),
    );
    scanner.wait_stderr("fswatch-json: watching", 30);
    let scanner_pids = e2e::wait_process_tree(
        scanner.0.pid(),
        &["fswatch-json", "path-filter", "nf-upload"],
    );

    // Together they do what the all-in-one mode does.
    let file = dir.join("customers.txt");
    write(&file, PLANTED);
    let rows = wait_rows(&t.join("results.csv"), 3, 30);
    assert!(rows.iter().all(|r| Path::new(&r.path) == file), "{rows:?}");
    let scans = std::fs::read_to_string(t.join("scans.ndjson")).unwrap();
    assert!(
        scans.contains(&format!("\"upload_id\":\"{}\"", rows[0].upload_id)),
        "{scans}"
    );
    // The diagnostics went to stderr (a unit's journal), not to --log-dir.
    assert!(!t.join("logs").exists());
    let err = webhook.0.stderr_text();
    assert!(err.contains("nf-webhook: listening"), "{err}");
    assert!(!err.contains(SECRET) && !err.contains(KEY), "{err}");

    // SIGTERM to the stage's process stops its first command, the rest of
    // the pipe drains and ends: the status is nf-webhook's / fswatch-json's.
    assert_eq!(scanner.terminate(), 143, "{}", scanner.0.stderr_text());
    assert_eq!(webhook.terminate(), 143, "{}", webhook.0.stderr_text());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nf-webhook still listening"
    );
    e2e::assert_processes_end(&[webhook_pids, scanner_pids].concat());
    assert_all_gone(&t.path().display().to_string());
    assert_eq!(csv(&t.join("results.csv")).1.len(), 3);
}
