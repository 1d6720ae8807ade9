//! The Nightfall pipeline end to end on loopback, as a user runs it:
//!
//!   fswatch-json DIR | path-filter --preset ignore-temp | nf-upload
//!   nf-webhook | findings-csv >> results.csv
//!
//! with nf-emulator standing in for api.nightfall.ai. A file with planted
//! card numbers and an SSN is written into DIR; the CSV rows, naming the
//! file, must appear.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use e2e::{Emulator, KEY, PLANTED, SECRET};
use testkit::{bin, TempDir};

/// Kills every process of a pipeline when the test ends, pass or fail.
struct Pipeline(Vec<Child>);

impl Drop for Pipeline {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn lines_of(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

fn csv_rows(path: &std::path::Path) -> Vec<Vec<String>> {
    let Ok(data) = std::fs::read(path) else {
        return Vec::new();
    };
    let mut rdr = csv_lite(&data);
    rdr.retain(|r| r.first().is_some_and(|c| c != "upload_id"));
    rdr
}

/// Parses CSV (RFC 4180) without a dependency: quoted fields, doubled quotes.
fn csv_lite(data: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(data);
    let (mut rows, mut row, mut field, mut quoted, mut chars) = (
        Vec::new(),
        Vec::new(),
        String::new(),
        false,
        text.chars().peekable(),
    );
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    rows
}

#[test]
fn a_file_with_planted_pii_ends_up_as_csv_rows_naming_it() {
    let emu = Emulator::start(&["--rate", "0"]);
    let dir = TempDir::new("cloud-e2e");
    let watched = dir.join("Documents");
    std::fs::create_dir(&watched).unwrap();
    let spool = dir.join("spool");
    let results = dir.join("results.csv");
    // Webhook half: nf-webhook | findings-csv >> results.csv, on a port the
    // kernel picks; the port is read from its "listening on" line.
    let mut hook = Command::new(bin("nf-webhook"))
        .args(["--listen", "127.0.0.1:0"])
        .arg("--spool")
        .arg(&spool)
        .env("NIGHTFALL_SIGNING_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let hook_err = lines_of(hook.stderr.take().unwrap());
    let listening = hook_err
        .recv_timeout(Duration::from_secs(20))
        .expect("nf-webhook reports its address");
    let port: u16 = listening
        .split("listening on http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {listening:?}"));
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&results)
        .unwrap();
    let csv = Command::new(bin("findings-csv"))
        .stdin(hook.stdout.take().unwrap())
        .stdout(out)
        .spawn()
        .unwrap();
    let mut procs = Pipeline(vec![hook, csv]);

    // Scanner half: fswatch-json DIR | path-filter --preset ignore-temp | nf-upload
    let mut watch = Command::new(bin("fswatch-json"))
        .arg(&watched)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let watch_err = lines_of(watch.stderr.take().unwrap());
    let filter = Command::new(bin("path-filter"))
        .args(["--preset", "ignore-temp"])
        .stdin(watch.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut filter = filter;
    let mut upload = Command::new(bin("nf-upload"))
        .args(["--webhook-url", &format!("http://127.0.0.1:{port}/ingest")])
        .env("NIGHTFALL_API_KEY", KEY)
        .env("NIGHTFALL_API_URL", emu.url())
        .stdin(filter.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let scans = lines_of(upload.stdout.take().unwrap());
    procs.0.extend([watch, filter, upload]);
    let ready = watch_err
        .recv_timeout(Duration::from_secs(20))
        .expect("fswatch-json reports its watches");
    assert!(ready.contains("watching"), "{ready}");

    std::fs::write(watched.join(".q3.csv.swp"), PLANTED).unwrap();
    std::fs::write(watched.join("q3.csv"), PLANTED).unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut rows = Vec::new();
    while Instant::now() < deadline {
        rows = csv_rows(&results);
        if rows.len() >= 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let file = watched.join("q3.csv").to_string_lossy().into_owned();
    assert_eq!(rows.len(), 3, "rows: {rows:?}");
    // upload_id,index,timestamp,path,before_context,finding,after_context,detector,confidence,byte_range,detection_rules
    for r in &rows {
        assert_eq!(r[3], file, "the CSV names the file on disk");
        assert_eq!(r[0].len(), 36);
    }
    let mut got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r[5].clone(), r[7].clone(), r[9].clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "3457-389808-83234".into(),
                "Credit Card Number".into(),
                "72-89".into()
            ),
            (
                "536-22-8726".into(),
                "US Social Security Number".into(),
                "105-116".into()
            ),
            (
                "5433-9502-3725-7862".into(),
                "Credit Card Number".into(),
                "36-55".into()
            ),
        ]
    );
    // The swap file was filtered out before upload; q3.csv uploaded once.
    let mut initiated = Vec::new();
    while let Ok(l) = scans.recv_timeout(Duration::from_millis(500)) {
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert!(!v["path"].as_str().unwrap().ends_with(".swp"), "{l}");
        if v["status"] == "scan_initiated" {
            initiated.push(v);
        }
    }
    assert_eq!(
        initiated.len(),
        1,
        "one upload for one content: {initiated:?}"
    );
}
