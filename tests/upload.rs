//! nf-upload against nf-emulator (and nf-webhook receiving the results):
//! sizes around the chunk size, every skip reason, injected 429/5xx, a
//! hanging server, a file that changes during upload, bad input.

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use e2e::{event, nf_upload, Emulator, Webhook, KEY, PLANTED};
use serde_json::Value;
use testkit::{bin, cmd, TempDir};

fn statuses(out: &testkit::Output) -> Vec<(String, String)> {
    out.records()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Waits for `n` findings from the receiver.
fn findings(hook: &mut Webhook, n: usize) -> Vec<Value> {
    hook.proc
        .records_until(Duration::from_secs(60), |v| v.len() >= n)
}

#[test]
fn files_around_the_chunk_size_upload_and_scan_correctly() {
    let emu = Emulator::start(&["--chunk-size", "1024", "--rate", "0"]);
    let mut hook = Webhook::start();
    let dir = TempDir::new("upl-sizes");
    // A card number that straddles the first chunk boundary (bytes 1020..1039).
    let mut straddle = vec![b'.'; 1020];
    straddle.extend_from_slice(b" 5433-9502-3725-7862 ");
    straddle.resize(3 * 1024 + 17, b'.');
    let files = [
        ("small.txt", PLANTED.as_bytes().to_vec()),
        ("exact.txt", {
            let mut v = PLANTED.as_bytes().to_vec();
            v.resize(1024, b' ');
            v
        }),
        ("multi.txt", straddle),
    ];
    let mut input = String::new();
    for (name, data) in &files {
        std::fs::write(dir.join(name), data).unwrap();
        input.push_str(&event("modified", &dir.join(name)));
    }
    let out = nf_upload(&emu, &hook.ingest(), &["--concurrency", "1"], input).expect_code(0);
    let recs = out.records();
    assert_eq!(recs.len(), 3, "{}", out.stderr_str());
    for (r, (name, data)) in recs.iter().zip(&files) {
        assert_eq!(r["status"], "scan_initiated", "{r}");
        assert_eq!(r["path"], dir.join(name).to_str().unwrap());
        assert_eq!(r["size"], data.len());
        assert_eq!(r["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(r["event_type"], "modified");
        assert!(r["upload_id"].as_str().unwrap().len() == 36);
    }
    // small and exact: 2 cards + 1 SSN each; multi: the straddling card.
    let found = findings(&mut hook, 7);
    assert_eq!(found.len(), 7, "{}", hook.proc.stderr_text());
    let multi: Vec<&Value> = found
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with("multi.txt"))
        .collect();
    assert_eq!(multi.len(), 1);
    assert_eq!(multi[0]["finding"], "5433-9502-3725-7862");
    assert_eq!(
        multi[0]["byte_range"],
        serde_json::json!({"start": 1021, "end": 1040})
    );
    let small: Vec<&Value> = found
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with("small.txt"))
        .collect();
    let card = small
        .iter()
        .find(|f| f["finding"] == "5433-9502-3725-7862")
        .unwrap();
    assert_eq!(
        card["byte_range"],
        serde_json::json!({"start": 36, "end": 55})
    );
    assert_eq!(card["line_range"]["start"], 2);
    assert_eq!(card["detector"], "Credit Card Number");
    assert!(small
        .iter()
        .any(|f| f["detector"] == "US Social Security Number"));
}

#[test]
fn a_100_mb_file_uploads_in_chunks() {
    let emu = Emulator::start(&["--rate", "0"]);
    let mut hook = Webhook::start();
    let dir = TempDir::new("upl-big");
    let path = dir.join("big.log");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let line = b"2026-11-22 10:15:03 INFO request served in 12 ms for user 1234\n";
        let mut written = 0;
        while written < 100 * 1024 * 1024 {
            f.write_all(line).unwrap();
            written += line.len();
        }
        f.write_all(b"leaked card 4916-6734-7572-5015 at the end\n")
            .unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();
    let out = nf_upload(&emu, &hook.ingest(), &[], event("created", &path)).expect_code(0);
    let r = &out.records()[0];
    assert_eq!(r["status"], "scan_initiated", "{}", out.stderr_str());
    assert_eq!(r["size"], size);
    let found = findings(&mut hook, 1);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["finding"], "4916-6734-7572-5015");
    assert_eq!(
        found[0]["byte_range"]["end"].as_u64().unwrap(),
        size - " at the end\n".len() as u64
    );
}

#[test]
fn every_skip_reason_is_a_record() {
    let emu = Emulator::start(&["--rate", "0"]);
    let hook = Webhook::start();
    let dir = TempDir::new("upl-skip");
    std::fs::write(dir.join("empty.txt"), b"").unwrap();
    std::fs::write(dir.join("big.txt"), vec![b'x'; 2048]).unwrap();
    std::fs::write(dir.join("dup.txt"), PLANTED).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let fifo = dir.join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut input = String::new();
    input.push_str(&event("deleted", &dir.join("gone.txt")));
    input.push_str(&event("opened", &dir.join("dup.txt")));
    input.push_str(&event("closed_no_write", &dir.join("dup.txt")));
    input.push_str(
        &serde_json::json!({"event_type":"created","src_path":dir.join("sub"),"is_directory":true})
            .to_string(),
    );
    input.push('\n');
    input.push_str(&event("created", &dir.join("sub")));
    input.push_str(&event("modified", &fifo));
    input.push_str(&event("modified", std::path::Path::new("/dev/null")));
    input.push_str(&event("modified", &dir.join("empty.txt")));
    input.push_str(&event("modified", &dir.join("vanished.txt")));
    input.push_str(&event("modified", &dir.join("big.txt")));
    input.push_str(&event("modified", &dir.join("dup.txt")));
    input.push_str(&event("closed", &dir.join("dup.txt")));
    let out = nf_upload(
        &emu,
        &hook.ingest(),
        &["--max-size", "1024", "--concurrency", "1"],
        input,
    )
    .expect_code(0);
    let recs = out.records();
    let reasons: Vec<String> = recs
        .iter()
        .map(|r| {
            r["reason"]
                .as_str()
                .unwrap_or(r["status"].as_str().unwrap())
                .to_owned()
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "event_type deleted",
            "event_type opened",
            "event_type closed_no_write",
            "directory",
            "directory",
            "FIFO",
            "device",
            "empty",
            "vanished",
            "larger than --max-size (2048 > 1024 bytes)",
            "scan_initiated",
            "duplicate: same content uploaded within --dedupe-window",
        ],
        "{}",
        out.stderr_str()
    );
    assert!(recs.iter().all(|r| r["timestamp"].as_str().is_some()));
}

#[test]
fn injected_429s_and_500s_are_retried() {
    let emu = Emulator::start(&[
        "--chunk-size",
        "64",
        "--rate",
        "0",
        "--inject-429-every",
        "3",
        "--inject-500-every",
        "5",
        "--retry-after",
        "1",
    ]);
    let hook = Webhook::start();
    let dir = TempDir::new("upl-faults");
    let mut input = String::new();
    for i in 0..3 {
        let p = dir.join(format!("f{i}.txt"));
        std::fs::write(&p, format!("{i} {PLANTED}")).unwrap();
        input.push_str(&event("created", &p));
    }
    let out = nf_upload(&emu, &hook.ingest(), &["--concurrency", "2"], input).expect_code(0);
    assert!(
        statuses(&out).iter().all(|(s, _)| s == "scan_initiated"),
        "{:?}\n{}",
        out.records(),
        out.stderr_str()
    );
    let err = out.stderr_str();
    assert!(err.contains("HTTP 429"), "{err}");
    assert!(err.contains("HTTP 500"), "{err}");
    assert!(
        err.contains("retrying in 1.0s"),
        "Retry-After is honoured: {err}"
    );
}

#[test]
fn permanent_failures_and_a_hanging_server_give_failed_records() {
    let dir = TempDir::new("upl-fail");
    let p = dir.join("a.txt");
    std::fs::write(&p, PLANTED).unwrap();
    // A server that accepts connections and never answers.
    let hang = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hang.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in hang.incoming() {
            held.push(s);
        }
    });
    let out = cmd(bin("nf-upload"))
        .args([
            "--webhook-url",
            "http://127.0.0.1:9/ingest",
            "--timeout",
            "1",
            "--attempts",
            "2",
        ])
        .env("NIGHTFALL_API_KEY", KEY)
        .env("NIGHTFALL_API_URL", format!("http://127.0.0.1:{port}"))
        .stdin(event("created", &p))
        .run()
        .expect_code(1);
    let r = &out.records()[0];
    assert_eq!(r["status"], "failed");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("gave up after 2 attempts"),
        "{r}"
    );

    // A wrong key is permanent (401): no retries, Nightfall's message kept.
    let emu = Emulator::start(&["--rate", "0"]);
    let out = cmd(bin("nf-upload"))
        .args(["--webhook-url", "http://127.0.0.1:9/ingest"])
        .env("NIGHTFALL_API_KEY", "NF-wrong")
        .env("NIGHTFALL_API_URL", emu.url())
        .stdin(event("created", &p))
        .run()
        .expect_code(1);
    let r = &out.records()[0];
    assert_eq!(r["status"], "failed");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 401 Authentication failure"),
        "{r}"
    );
    assert!(
        !out.stderr_str().contains("NF-wrong"),
        "the key is never printed"
    );

    // A webhook that cannot be reached fails the challenge: 400 / 40012.
    let out =
        nf_upload(&emu, "http://127.0.0.1:9/ingest", &[], event("created", &p)).expect_code(1);
    let r = &out.records()[0];
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("Webhook URL validation failed"),
        "{r}"
    );
}

#[test]
fn a_file_changing_during_upload_is_uploaded_again() {
    let emu = Emulator::start(&["--chunk-size", "1024", "--rate", "0"]);
    let hook = Webhook::start();
    let dir = TempDir::new("upl-change");
    let p = dir.join("growing.txt");
    std::fs::write(&p, vec![b'a'; 16 * 1024]).unwrap();
    let p2 = p.clone();
    // 16 chunks at 8 requests/s take ~2 s; rewrite the file midway.
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        std::fs::write(&p2, vec![b'b'; 16 * 1024]).unwrap();
    });
    let out = nf_upload(
        &emu,
        &hook.ingest(),
        &["--rate", "8", "--burst", "1"],
        event("modified", &p),
    )
    .expect_code(0);
    writer.join().unwrap();
    let r = &out.records()[0];
    assert_eq!(r["status"], "scan_initiated", "{}", out.stderr_str());
    let want = testkit::sha256_hex(&std::fs::read(&p).unwrap());
    assert_eq!(r["sha256"], want, "the record describes what was scanned");
    assert!(
        out.stderr_str().contains("changed during upload"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn paths_mode_and_bad_lines() {
    let emu = Emulator::start(&["--rate", "0"]);
    let hook = Webhook::start();
    let dir = TempDir::new("upl-misc");
    let p = dir.join("a.txt");
    std::fs::write(&p, PLANTED).unwrap();
    let out = nf_upload(
        &emu,
        &hook.ingest(),
        &["--paths"],
        format!("{}\n", p.display()),
    )
    .expect_code(0);
    assert_eq!(out.records()[0]["status"], "scan_initiated");

    let out = nf_upload(
        &emu,
        &hook.ingest(),
        &[],
        format!("not json\n{}", event("created", &p)),
    )
    .expect_code(1);
    assert!(
        out.stderr_str()
            .contains("nf-upload: line 1: not an FsEvent record"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(out.records().len(), 1);
    // Configuration errors are tested in tools/nf-upload/tests (no server needed).
}
