//! Integration tests: the real `pii-scan` binary on real files in temp dirs.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use testkit::{cmd, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_pii-scan");

fn event(kind: &str, path: &Path) -> String {
    json!({"event_type": kind, "src_path": path.to_str().unwrap(), "dest_path": "", "is_directory": false}).to_string()
}

/// (detector, finding, byte start, byte end, line) of each record.
fn summary(recs: &[Value]) -> Vec<(String, String, u64, u64, u64)> {
    recs.iter()
        .map(|r| {
            (
                r["detector"].as_str().unwrap().to_owned(),
                r["finding"].as_str().unwrap().to_owned(),
                r["byte_range"]["start"].as_u64().unwrap(),
                r["byte_range"]["end"].as_u64().unwrap(),
                r["line_range"]["start"].as_u64().unwrap(),
            )
        })
        .collect()
}

const PLANTED: &str = "\
id,name,card,ssn
1,Ana Pop,5433-9502-3725-7862,536-22-8726
export AWS_ACCESS_KEY_ID=AKIAQYLPMN5HHHFPZAM2
";

const DECOYS: &str = "\
luhn fails 5433-9502-3725-7863
invalid ssn 666-12-3456 912-34-5678 536-00-8726
sha1 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b
uuid 123e4567-e89b-12d3-a456-426614174000
date 2024-01-15 version 1.2.3.4 build 10.0.19041.1
aws docs AKIAIOSFODNN7EXAMPLE
order 4916673475725015
";

#[test]
fn planted_findings_have_exact_ranges_and_decoys_are_not_found() {
    let dir = TempDir::new("pii-planted");
    let f = dir.join("people.csv");
    std::fs::write(&f, format!("{PLANTED}{DECOYS}")).unwrap();
    let out = cmd(BIN).arg(&f).run().expect_code(0);
    let recs = out.records();
    let at = |s: &str| PLANTED.find(s).unwrap() as u64;
    assert_eq!(
        summary(&recs),
        vec![
            (
                "Credit Card Number".into(),
                "5433-9502-3725-7862".into(),
                27,
                46,
                2
            ),
            (
                "US Social Security Number".into(),
                "536-22-8726".into(),
                47,
                58,
                2
            ),
            ("API Key".into(), "AKIAQYLPMN5HHHFPZAM2".into(), 84, 104, 3),
        ]
    );
    assert_eq!((at("5433"), at("536-"), at("AKIA")), (27, 47, 84));
    let r = &recs[0];
    assert_eq!(r["index"], 1);
    assert_eq!(recs[2]["index"], 3);
    assert_eq!(r["path"], f.to_str().unwrap());
    assert_eq!(r["detector_uuid"], "74c1815e-c0c3-4df5-8b1e-6cf98864a454");
    assert_eq!(r["before_context"], "id,name,card,ssn\n1,Ana Pop,");
    assert_eq!(
        r["after_context"],
        ",536-22-8726\nexport AWS_ACCESS_KEY_ID=AK"
    );
    assert_eq!(r["codepoint_range"], json!({"start": 27, "end": 46}));
    assert_eq!(r["archive_path"], "");
    assert_eq!(r["detection_rules"], json!(["Inline Detection Rule #1"]));
    assert!(r["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn detector_flags_rules_files_and_context_bytes() {
    let dir = TempDir::new("pii-flags");
    let f = dir.join("c.txt");
    std::fs::write(&f, "mail ana@corp.io from 10.20.30.40 EMP-1234\n").unwrap();
    let out = cmd(BIN)
        .args([
            "--detector",
            "EMAIL_ADDRESS,IP_ADDRESS",
            "--context-bytes",
            "5",
        ])
        .arg(&f)
        .run()
        .expect_code(0);
    let recs = out.records();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["detector"], "EMAIL_ADDRESS");
    assert_eq!(recs[0]["before_context"], "mail ");
    assert_eq!(recs[1]["finding"], "10.20.30.40");
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        r#"{"policy":{"detectionRules":[{"name":"emp","detectors":[{"displayName":"Employee","regex":{"pattern":"EMP-[0-9]{4}","isCaseSensitive":true},"minConfidence":"LIKELY"}]}]}}"#,
    )
    .unwrap();
    let out = cmd(BIN)
        .arg("--rules")
        .arg(&rules)
        .arg(&f)
        .run()
        .expect_code(0);
    let recs = out.records();
    assert_eq!(
        summary(&recs),
        vec![("Employee".into(), "EMP-1234".into(), 34, 42, 1)]
    );
    assert_eq!(recs[0]["detection_rules"], json!(["emp"]));
    std::fs::write(&rules, r#"[{"detectors":[{"regex":{"pattern":"(open"}}]}]"#).unwrap();
    let out = cmd(BIN)
        .arg("--rules")
        .arg(&rules)
        .arg(&f)
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("rules.json"),
        "{}",
        out.stderr_str()
    );
    let out = cmd(BIN)
        .args(["--detector", "NOPE"])
        .arg(&f)
        .run()
        .expect_code(2);
    assert!(out.stderr_str().contains("NOPE"));
}

#[test]
fn events_are_scanned_in_input_order_and_bad_inputs_skipped() {
    let dir = TempDir::new("pii-events");
    let a = dir.join("a.txt");
    let b = dir.join("b.txt");
    std::fs::write(&a, "ssn 536-22-8726\n").unwrap();
    std::fs::write(&b, "card 4916-6734-7572-5015\n").unwrap();
    let fifo = dir.join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let input = [
        event("modified", &b),
        event("created", &fifo),
        "{not json".to_owned(),
        event("deleted", &dir.join("gone.txt")),
        event("created", &dir.join("vanished.txt")),
        event("closed", &sub),
        json!({"event_type":"moved","src_path":"/nowhere/x","dest_path": a.to_str().unwrap()})
            .to_string(),
        event("opened", &a),
        String::new(),
    ]
    .join("\n");
    // -v: routine skips (deleted, directory) are shown too.
    let out = cmd(BIN).arg("-v").stdin(input).run();
    let err = out.stderr_str();
    assert_eq!(out.code(), 1, "{err}");
    let recs = out.records();
    let found: Vec<(&str, &str)> = recs
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), r["finding"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            (b.to_str().unwrap(), "4916-6734-7572-5015"),
            (a.to_str().unwrap(), "536-22-8726")
        ]
    );
    assert!(err.contains("line 3: not an FsEvent record"), "{err}");
    assert!(err.contains("pipe: skipped: FIFO"), "{err}");
    assert!(err.contains("gone.txt: skipped: deleted"), "{err}");
    assert!(err.contains("vanished.txt: skipped: vanished"), "{err}");
    assert!(err.contains("sub: skipped: directory"), "{err}");
    // --strict makes the malformed line fatal.
    cmd(BIN)
        .arg("--strict")
        .stdin("{bad\n")
        .run()
        .expect_code(2);
}

#[test]
fn unreadable_file_is_reported() {
    let dir = TempDir::new("pii-unreadable");
    let f = dir.join("secret.txt");
    std::fs::write(&f, "ssn 536-22-8726\n").unwrap();
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false);
    if is_root {
        // root reads anything; check instead that a directory named by an
        // event (without is_directory) is skipped, not read.
        let out = cmd(BIN)
            .stdin(event("modified", dir.path()))
            .run()
            .expect_code(0);
        assert!(
            out.stderr_str().contains("skipped 1 file(s): 1 directory"),
            "{}",
            out.stderr_str()
        );
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = cmd(BIN).stdin(event("modified", &f)).run().expect_code(1);
    assert!(
        out.stderr_str().contains("unreadable: permission denied"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn closed_stdout_ends_quietly() {
    let dir = TempDir::new("pii-pipe");
    let f = dir.join("many.txt");
    std::fs::write(&f, "ssn 536-22-8726\n".repeat(20_000)).unwrap();
    let mut child = Command::new(BIN)
        .arg(&f)
        .arg(&f)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn gzip_zip_and_docx_are_scanned_inside() {
    let dir = TempDir::new("pii-containers");
    let gz = dir.join("notes.txt.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(b"line one\nssn 536-22-8726\n").unwrap();
    enc.finish().unwrap();

    let zp = dir.join("bundle.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zp).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    z.start_file("dir/keys.env", opts).unwrap();
    z.write_all(b"AWS_ACCESS_KEY_ID=AKIAQYLPMN5HHHFPZAM2\n")
        .unwrap();
    z.start_file("img.bin", opts).unwrap();
    z.write_all(b"\0\0\x005433-9502-3725-7862").unwrap();
    z.finish().unwrap();

    let docx = dir.join("memo.docx");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&docx).unwrap());
    z.start_file("[Content_Types].xml", opts).unwrap();
    z.write_all(b"<Types/>").unwrap();
    z.start_file("word/document.xml", opts).unwrap();
    z.write_all(b"<w:document><w:body><w:p><w:r><w:t>Card: 5433-9502-3725-7862</w:t></w:r></w:p></w:body></w:document>")
        .unwrap();
    z.start_file("word/styles.xml", opts).unwrap();
    z.write_all(b"<w:styles>4916-6734-7572-5015</w:styles>")
        .unwrap();
    z.finish().unwrap();

    let out = cmd(BIN).arg(dir.path()).run().expect_code(0);
    let recs = out.records();
    let got: Vec<(String, String, String, u64)> = recs
        .iter()
        .map(|r| {
            let p = r["path"].as_str().unwrap();
            let name = Path::new(p)
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            (
                name,
                r["archive_path"].as_str().unwrap().to_owned(),
                r["finding"].as_str().unwrap().to_owned(),
                r["byte_range"]["start"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "bundle.zip".into(),
                "dir/keys.env".into(),
                "AKIAQYLPMN5HHHFPZAM2".into(),
                18
            ),
            (
                "memo.docx".into(),
                "word/document.xml".into(),
                "5433-9502-3725-7862".into(),
                6
            ),
            (
                "notes.txt.gz".into(),
                "notes.txt".into(),
                "536-22-8726".into(),
                13
            ),
        ]
    );
}

#[test]
fn zip_bomb_is_bounded() {
    let dir = TempDir::new("pii-bomb");
    let zp = dir.join("bomb.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zp).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    z.start_file("zeros.txt", opts).unwrap();
    let block = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        z.write_all(&block).unwrap();
    }
    z.finish().unwrap();
    let out = cmd(BIN)
        .args(["--max-decompressed", "4M"])
        .arg(&zp)
        .run()
        .expect_code(0);
    assert!(
        out.stderr_str().contains("decompression limit reached"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn large_file_is_streamed_and_edge_finding_reported_once() {
    let dir = TempDir::new("pii-large");
    let f = dir.join("big.log");
    // The default stream window is 8 MiB with a 64 KiB overlap: the first
    // window owns bytes [0, 8 MiB - 64 KiB). Plant a card across that edge.
    let edge = 8 * 1024 * 1024 - 64 * 1024;
    let card = "5433-9502-3725-7862";
    let line = "2026-11-22 10:15:03 INFO request served in 12 ms status=200\n";
    let mut text = String::with_capacity(50 << 20);
    while text.len() < edge - 10 {
        text.push_str(line);
    }
    text.truncate(edge - 11);
    text.push('\n');
    let planted_at = text.len();
    let planted_line = text.matches('\n').count() + 1;
    text.push_str(card);
    text.push('\n');
    while text.len() < 50 << 20 {
        text.push_str(line);
    }
    let tail_at = text.len() + 5;
    text.push_str("card 4916-6734-7572-5015\n");
    std::fs::write(&f, &text).unwrap();
    let out = cmd(BIN).arg(&f).run().expect_code(0);
    let s = summary(&out.records());
    assert_eq!(
        s,
        vec![
            (
                "Credit Card Number".into(),
                card.into(),
                planted_at as u64,
                (planted_at + 19) as u64,
                planted_line as u64
            ),
            (
                "Credit Card Number".into(),
                "4916-6734-7572-5015".into(),
                tail_at as u64,
                tail_at as u64 + 19,
                text.matches('\n').count() as u64
            ),
        ]
    );
}

#[test]
fn live_events_are_answered_at_once_and_sigterm_ends_cleanly() {
    let dir = TempDir::new("pii-live");
    let f = dir.join("a.txt");
    std::fs::write(&f, "ssn 536-22-8726\n").unwrap();
    let mut child = cmd(BIN).spawn();
    child.write_line(&event("closed", &f));
    let rec = child
        .next_record(std::time::Duration::from_secs(10))
        .expect("a finding while stdin stays open");
    assert_eq!(rec["finding"], "536-22-8726");
    child.signal(15);
    let status = child
        .wait_timeout(std::time::Duration::from_secs(10))
        .expect("exits on SIGTERM");
    assert_eq!(status.code(), Some(143));
}

#[test]
fn max_size_skips_large_files() {
    let dir = TempDir::new("pii-maxsize");
    let f = dir.join("big.txt");
    std::fs::write(&f, format!("ssn 536-22-8726\n{}", "x".repeat(4096))).unwrap();
    let out = cmd(BIN)
        .args(["--max-size", "1K"])
        .arg(&f)
        .run()
        .expect_code(0);
    assert!(out.records().is_empty());
    assert!(
        out.stderr_str().contains("exceeds --max-size 1024"),
        "{}",
        out.stderr_str()
    );
    cmd(BIN)
        .args(["--max-size", "lots"])
        .arg(&f)
        .run()
        .expect_code(2);
}

#[test]
fn findings_name_this_host() {
    let d = TempDir::new("pii-host");
    std::fs::write(d.join("a.txt"), "ssn 536-22-8726\n").unwrap();
    let out = cmd(BIN).arg(d.path()).run();
    let recs = out.records();
    assert!(!recs.is_empty(), "{}", out.stderr_str());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    for r in &recs {
        assert_eq!(r["host"], host.trim(), "{r}");
    }
}

/// The issue's 24 MB file: a keyword assignment on every line, so one
/// straddles each 8 MiB window edge (this panicked, then hung).
#[test]
fn assignments_across_window_edges_in_a_24_mb_file() {
    let dir = TempDir::new("pii-24mb");
    let f = dir.join("big.txt");
    let line: &[u8] = b"export API_TOKEN=Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB9x # deploy\n";
    let n = 24_000_000 / line.len();
    std::fs::write(&f, line.repeat(n)).unwrap();
    let out = cmd(BIN).arg(&f).run().expect_code(0);
    let lines = out.stdout_str().lines().count();
    assert_eq!(lines, n, "{}", out.stderr_str());
}

/// A file above the split threshold (4 MiB) is scanned by every worker:
/// the same records, in the same order, as one worker writes (a table, a
/// file and a gzip member of it, under `-j 1`, `-j 2` and `-j 5`).
#[test]
fn a_large_file_split_across_workers_gives_the_one_worker_output() {
    let dir = TempDir::new("pii-split");
    let mut text = String::from("id,name,card,ssn,email\n");
    let mut i = 0u64;
    while text.len() < 6 << 20 {
        text.push_str(&format!(
            "{i},Ana Pop,5433-9502-3725-7862,536-22-8726,ana{i}@example.org\n"
        ));
        if i.is_multiple_of(997) {
            text.push_str("export API_TOKEN=Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB9x # deploy\n");
        }
        i += 1;
    }
    let csv = dir.join("big.csv");
    std::fs::write(&csv, &text).unwrap();
    let gz = dir.join("big.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    // One timestamp per file and run: the rest must be byte for byte.
    let run = |jobs: &str, f: &Path| -> String {
        let out = cmd(BIN).args(["-j", jobs]).arg(f).run().expect_code(0);
        let text = out.stdout_str();
        let ts = text.split("\"timestamp\":\"").nth(1).unwrap();
        let ts = &ts[..ts.find('"').unwrap()];
        text.replace(ts, "T")
    };
    for f in [&csv, &gz] {
        let one = run("1", f);
        let n = one.lines().count() as u64;
        assert!(n > 2 * i, "{}: {n} records", f.display());
        for jobs in ["2", "5"] {
            let split = run(jobs, f);
            let first = one.lines().zip(split.lines()).position(|(a, b)| a != b);
            assert_eq!(first, None, "-j {jobs} {}: first difference", f.display());
            assert_eq!(split.lines().count() as u64, n, "-j {jobs} {}", f.display());
        }
    }
}

#[test]
fn a_panic_fails_that_file_and_the_scan_goes_on() {
    let dir = TempDir::new("pii-panic");
    for name in ["a.txt", "boom.txt", "c.txt"] {
        std::fs::write(dir.join(name), "ssn 536-22-8726\n").unwrap();
    }
    // Test builds (feature test-hooks) panic on the file named by
    // PII_SCAN_TEST_PANIC.
    let out = cmd(BIN)
        .env("PII_SCAN_TEST_PANIC", "boom.txt")
        .arg(dir.path())
        .run()
        .expect_code(1);
    let files: Vec<String> = out
        .records()
        .iter()
        .map(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(files, ["a.txt", "c.txt"]);
    let err = out.stderr_str();
    assert!(
        err.contains("boom.txt: failed: internal error: injected test panic"),
        "{err}"
    );
    // Every file panicking still ends (no hang) with status 1.
    let f = dir.join("boom.txt");
    cmd(BIN)
        .env("PII_SCAN_TEST_PANIC", "boom.txt")
        .stdin(format!(
            "{}\n{}\n",
            event("modified", &f),
            event("modified", &f)
        ))
        .run()
        .expect_code(1);
}

fn measured(args: &[&std::ffi::OsStr]) -> testkit::Measured {
    testkit::measured(BIN, args)
}

/// Memory does not grow with the number of findings: a dense CSV (two
/// findings per 64-byte row) and the same rows in a gzip stay far below
/// what holding their findings would take (~1.5 KB each).
#[test]
fn dense_files_scan_in_bounded_memory() {
    let dir = TempDir::new("pii-dense");
    let mut rows = Vec::new();
    let mut i = 0u64;
    while rows.len() < 24 << 20 {
        rows.extend_from_slice(
            format!("{i:08},Ana Pop,5433-9502-3725-7862,536-22-8726,ok\n").as_bytes(),
        );
        i += 1;
    }
    let csv = dir.join("dense.csv");
    std::fs::write(&csv, &rows).unwrap();
    let gz = dir.join("dense.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&rows).unwrap();
    enc.finish().unwrap();
    // 2 × 390k findings per file; held, they would take over 1 GB.
    for f in [&csv, &gz] {
        let m = measured(&["-j".as_ref(), "2".as_ref(), f.as_os_str()]);
        assert_eq!((m.code, m.lines), (0, 2 * i), "{}", f.display());
        let kib = m.peak_kib;
        assert!(kib < 96 * 1024, "{}: peak RSS {kib} KiB", f.display());
    }
}

/// A zip archive of `(name, bytes)` members (stored or deflated).
fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        let opts =
            zip::write::SimpleFileOptions::default().compression_method(if data.len() % 2 == 0 {
                zip::CompressionMethod::Stored
            } else {
                zip::CompressionMethod::Deflated
            });
        z.start_file(*name, opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn gzip_of(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn tar_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, name, &data[..]).unwrap();
    }
    t.into_inner().unwrap()
}

/// The zip with its one member marked encrypted (general-purpose bit 0 in
/// the local and central headers), as a ZipCrypto archive has it.
fn mark_encrypted(mut z: Vec<u8>) -> Vec<u8> {
    z[6] |= 1;
    let c = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    z[c + 8] |= 1;
    z
}

/// (archive_path, finding) of each record.
fn chains(recs: &[Value]) -> Vec<(String, String)> {
    recs.iter()
        .map(|r| {
            (
                r["archive_path"].as_str().unwrap().to_owned(),
                r["finding"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const SSN: &str = "536-22-8726";

#[test]
fn nested_containers_report_the_full_chain_and_every_skip() {
    let dir = TempDir::new("pii-nest");
    let text = |s: &str| format!("ssn {s}\n").into_bytes();
    let docx = zip_of(&[
        ("[Content_Types].xml", b"<Types/>".to_vec()),
        (
            "word/document.xml",
            format!("<w:document><w:p><w:r><w:t>SSN {SSN}</w:t></w:r></w:p></w:document>")
                .into_bytes(),
        ),
    ]);
    let odt = zip_of(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.text".to_vec(),
        ),
        (
            "content.xml",
            format!("<office:text><text:p>SSN<text:tab/>{SSN}</text:p></office:text>").into_bytes(),
        ),
    ]);
    let l4 = zip_of(&[("never.txt", text(SSN))]);
    let l3 = zip_of(&[("l3.txt", text(SSN)), ("l4.zip", l4)]);
    let inner = zip_of(&[("deep/note.txt", text(SSN)), ("l3.zip", l3)]);
    let mut bad_gz = gzip_of(&text(SSN));
    let n = bad_gz.len();
    bad_gz[12..n - 8].fill(0xff);
    let outer = zip_of(&[
        ("memo.docx", docx),
        ("report.odt", odt),
        ("notes.txt.gz", gzip_of(&text(SSN))),
        ("inner.zip", inner),
        ("img.bin", b"\0\0\0 536-22-8726".to_vec()),
        (
            "secret.zip",
            mark_encrypted(zip_of(&[("s.txt", text(SSN))])),
        ),
        ("bad.gz", bad_gz),
    ]);
    std::fs::write(dir.join("outer.zip"), &outer).unwrap();
    let out = cmd(BIN).arg(dir.join("outer.zip")).run().expect_code(1);
    let s = |a: &str| (a.to_owned(), SSN.to_owned());
    assert_eq!(
        chains(&out.records()),
        [
            s("memo.docx!word/document.xml"),
            s("report.odt!content.xml"),
            s("notes.txt.gz"),
            s("inner.zip!deep/note.txt"),
            s("inner.zip!l3.zip!l3.txt"),
        ]
    );
    let err = out.stderr_str();
    let o = dir.join("outer.zip").display().to_string();
    for note in [
        format!("{o}!inner.zip!l3.zip!l4.zip: skipped: container nested deeper than --max-depth 3"),
        format!("{o}!secret.zip!s.txt: skipped: encrypted"),
        format!("{o}!bad.gz: skipped: corrupt"),
    ] {
        assert!(err.contains(&note), "{note} not in:\n{err}");
    }
    // The binary member is an expected skip: counted, not listed.
    assert!(!err.contains("img.bin"), "{err}");
    assert!(
        err.contains("pii-scan: skipped 1 file(s): 1 binary (-v lists them)"),
        "{err}"
    );
    // A deeper limit opens the fourth level; --max-depth 1 only the outer zip.
    let out = cmd(BIN)
        .args(["--max-depth", "4"])
        .arg(dir.join("outer.zip"))
        .run()
        .expect_code(1);
    assert!(chains(&out.records()).contains(&s("inner.zip!l3.zip!l4.zip!never.txt")));
    let out = cmd(BIN)
        .args(["--max-depth", "1"])
        .arg(dir.join("outer.zip"))
        .run()
        .expect_code(0);
    assert_eq!(out.records().len(), 0);
    assert!(out.stderr_str().contains(&format!(
        "{o}!memo.docx: skipped: container nested deeper than --max-depth 1"
    )));
}

#[test]
fn tar_tgz_and_nest_wide_bomb_guards() {
    let dir = TempDir::new("pii-tar");
    let ssn = format!("ssn {SSN}\n").into_bytes();
    let tarball = tar_of(&[
        ("etc/secret.txt", ssn.clone()),
        ("inner.zip", zip_of(&[("a.txt", ssn.clone())])),
    ]);
    std::fs::write(dir.join("plain.tar"), &tarball).unwrap();
    std::fs::write(dir.join("bundle.tgz"), gzip_of(&tarball)).unwrap();
    std::fs::write(dir.join("bundle.tar.gz"), gzip_of(&tarball)).unwrap();
    let out = cmd(BIN).arg(dir.path()).run().expect_code(0);
    let got: Vec<(String, String)> = out
        .records()
        .iter()
        .map(|r| {
            let p = r["path"].as_str().unwrap();
            (
                p.rsplit('/').next().unwrap().to_owned(),
                r["archive_path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        got,
        [
            pair("bundle.tar.gz", "etc/secret.txt"),
            pair("bundle.tar.gz", "inner.zip!a.txt"),
            pair("bundle.tgz", "etc/secret.txt"),
            pair("bundle.tgz", "inner.zip!a.txt"),
            pair("plain.tar", "etc/secret.txt"),
            pair("plain.tar", "inner.zip!a.txt"),
        ]
    );
    // Decompressed bytes are counted across the nest: two gzip members of
    // 3 MiB each in a zip pass a 4 MiB limit together.
    let big = gzip_of(&vec![b'a'; 3 << 20]);
    let z = zip_of(&[("one.gz", big.clone()), ("two.gz", big)]);
    std::fs::write(dir.join("bomb.zip"), z).unwrap();
    let out = cmd(BIN)
        .args(["--max-decompressed", "4M"])
        .arg(dir.join("bomb.zip"))
        .run()
        .expect_code(0);
    assert!(
        out.stderr_str()
            .contains("bomb.zip!two.gz: decompression limit reached"),
        "{}",
        out.stderr_str()
    );
    // A zip claiming more members than --max-entries is refused before
    // its central directory is read into memory.
    let many: Vec<(String, Vec<u8>)> = (0..50)
        .map(|i| (format!("m{i}.txt"), ssn.clone()))
        .collect();
    let many: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    std::fs::write(dir.join("many.zip"), zip_of(&many)).unwrap();
    let out = cmd(BIN)
        .args(["--max-entries", "49"])
        .arg(dir.join("many.zip"))
        .run()
        .expect_code(0);
    assert!(out.records().is_empty());
    assert!(
        out.stderr_str()
            .contains("many.zip: skipped: 50 members exceeds --max-entries 49"),
        "{}",
        out.stderr_str()
    );
    let out = cmd(BIN).arg(dir.join("many.zip")).run().expect_code(0);
    assert_eq!(out.records().len(), 50);
    // Members are counted across the nest too.
    let out = cmd(BIN)
        .args(["--max-entries", "1"])
        .arg(dir.join("plain.tar"))
        .run()
        .expect_code(0);
    assert_eq!(out.records().len(), 1);
    assert!(
        out.stderr_str()
            .contains("member limit reached (--max-entries 1)"),
        "{}",
        out.stderr_str()
    );
}

/// UTF-16 (with and without a byte-order mark, both byte orders) and
/// Latin-1 text is decoded and scanned; ranges are in the file's bytes.
#[test]
fn utf16_and_latin1_files_are_decoded_with_original_byte_ranges() {
    let dir = TempDir::new("pii-enc");
    let text = "Nom: Zoë Ærø\r\ncarte 5433-9502-3725-7862\r\nSSN 536-22-8726 €\r\n";
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let latin1: Vec<u8> = text
        .chars()
        .map(|c| if c == '€' { 0x80 } else { c as u32 as u8 })
        .collect();
    let files: Vec<(&str, Vec<u8>, u64, u64)> = vec![
        // (name, bytes, BOM length, bytes per unit)
        ("bom-le.txt", [&[0xFF, 0xFE][..], &le].concat(), 2, 2),
        ("bom-be.txt", [&[0xFE, 0xFF][..], &be].concat(), 2, 2),
        ("plain-le.csv", le.clone(), 0, 2),
        ("latin1.txt", latin1, 0, 1),
    ];
    for (name, bytes, bom, unit) in &files {
        let f = dir.join(name);
        std::fs::write(&f, bytes).unwrap();
        let out = cmd(BIN).arg(&f).run().expect_code(0);
        let recs = out.records();
        assert_eq!(recs.len(), 2, "{name}: {}", out.stderr_str());
        for (r, want) in recs.iter().zip(["5433-9502-3725-7862", SSN]) {
            assert_eq!(r["finding"], want, "{name}");
            let at = text[..text.find(want).unwrap()].chars().count() as u64;
            let start = r["byte_range"]["start"].as_u64().unwrap();
            let end = r["byte_range"]["end"].as_u64().unwrap();
            assert_eq!(start, bom + unit * at, "{name}");
            assert_eq!(end - start, unit * want.len() as u64, "{name}");
            // The range points at the finding in the original bytes.
            let orig = &bytes[start as usize..end as usize];
            let back: String = if *unit == 2 {
                let units: Vec<u16> = orig
                    .chunks(2)
                    .map(|c| {
                        if name.contains("be") {
                            u16::from_be_bytes([c[0], c[1]])
                        } else {
                            u16::from_le_bytes([c[0], c[1]])
                        }
                    })
                    .collect();
                String::from_utf16(&units).unwrap()
            } else {
                String::from_utf8(orig.to_vec()).unwrap()
            };
            assert_eq!(back, want, "{name}");
            assert_eq!(r["line_range"]["start"], if want == SSN { 3 } else { 2 });
        }
        assert!(
            recs[1]["after_context"].as_str().unwrap().starts_with(" €"),
            "{name}"
        );
    }
    // Inside a zip too.
    let z = zip_of(&[("export/ssn.txt", [&[0xFF, 0xFE][..], &le].concat())]);
    std::fs::write(dir.join("w.zip"), z).unwrap();
    let out = cmd(BIN).arg(dir.join("w.zip")).run().expect_code(0);
    assert_eq!(out.records().len(), 2);
    // Binary data with zero bytes is still skipped.
    std::fs::write(
        dir.join("x.bin"),
        b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0\x01\0\0\0 536-22-8726",
    )
    .unwrap();
    let out = cmd(BIN).arg(dir.join("x.bin")).run().expect_code(0);
    assert!(out.records().is_empty());
    assert!(out.stderr_str().contains("skipped 1 file(s): 1 binary"));
}

#[test]
fn expected_skips_are_counted_in_one_line_and_announce_says_each_record() {
    let dir = TempDir::new("pii-talk");
    for i in 0..50 {
        std::fs::write(dir.join(format!("lib{i}.so")), b"\x7fELF\0\0\0\0binary").unwrap();
    }
    std::fs::write(dir.join("notes.txt"), "ssn 536-22-8726\n").unwrap();
    let out = cmd(BIN).arg(dir.path()).run().expect_code(0);
    let err = out.stderr_str();
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("skipped"))
            .collect::<Vec<_>>(),
        ["pii-scan: skipped 50 file(s): 50 binary (-v lists them)"],
        "{err}"
    );
    let verbose = cmd(BIN)
        .arg("-v")
        .arg(dir.path())
        .run()
        .expect_code(0)
        .stderr_str();
    assert_eq!(
        verbose.matches(": skipped: binary").count(),
        50,
        "{verbose}"
    );
    // --announce: one line per record, and a count at the end.
    let state = dir.join("s.state");
    let run = |extra: &str| {
        cmd(BIN)
            .args(["--announce", "--state"])
            .arg(&state)
            .arg(dir.join("notes.txt"))
            .args(if extra.is_empty() {
                vec![]
            } else {
                vec![extra]
            })
            .run()
            .expect_code(0)
            .stderr_str()
    };
    let first = run("");
    let p = dir.join("notes.txt").display().to_string();
    assert!(
        first.contains(&format!(
            "pii-scan: new: US Social Security Number (VERY_LIKELY) in {p} line 1"
        )),
        "{first}"
    );
    assert!(
        first.contains("pii-scan: 1 new finding(s) while running"),
        "{first}"
    );
    std::fs::write(dir.join("notes.txt"), "nothing here\n").unwrap();
    let second = run("");
    assert!(
        second.contains(&format!(
            "pii-scan: resolved: US Social Security Number (VERY_LIKELY) in {p} line 1"
        )),
        "{second}"
    );
    assert!(
        second.contains("1 resolved finding(s) while running"),
        "{second}"
    );
}

/// Per-file cost: 20,000 small files are all scanned, with little CPU
/// per file (an 8 MiB buffer was zero-filled for each: 0.37 ms of CPU per
/// file, 7.5 s for these in a release build).
#[test]
fn twenty_thousand_small_files() {
    let dir = TempDir::new("pii-small");
    for d in 0..20 {
        let sub = dir.join(format!("d{d:02}"));
        std::fs::create_dir(&sub).unwrap();
        for i in 0..1000 {
            let body = if i % 100 == 0 {
                format!("row {i} ssn {SSN}\n")
            } else {
                format!("row {i} nothing to see here\n")
            };
            std::fs::write(sub.join(format!("f{i:04}.txt")), body).unwrap();
        }
    }
    let m = measured(&["-j".as_ref(), "2".as_ref(), dir.path().as_os_str()]);
    assert_eq!((m.code, m.lines), (0, 200));
    // Generous: about 30 ticks in a debug build; about 300 before.
    eprintln!("20,000 files: {} ticks of CPU", m.cpu_ticks);
    assert!(m.cpu_ticks < 150, "{} ticks of CPU", m.cpu_ticks);
}
