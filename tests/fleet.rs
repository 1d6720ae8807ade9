//! The fleet transport end to end, on a real NATS JetStream server or
//! 3-node cluster started with dev/nats-dev.sh (no mocks):
//!
//! - nats-dev.sh itself: start, status, stop, per-node kill and restart;
//! - two hosts -> nats-post -> a 3-node cluster (stream replicas 3) ->
//!   nats-tail -> findings-csv: every record exactly once, with its host;
//! - faults: every server down when nats-post starts (spooled, then
//!   delivered); a node killed mid-stream and restarted (nothing lost,
//!   nothing doubled); nats-tail killed with SIGKILL mid-stream and
//!   restarted on its durable (nothing lost); two nats-tail sharing one
//!   durable;
//! - an independent client (Python nats-py) reads exactly what nats-post
//!   wrote;
//! - credentials from the environment against a server that requires them.

use std::collections::{BTreeMap, HashMap, HashSet};

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::nats::Nats;
use testkit::{bin, cmd, Output, Spawned, TempDir};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[test]
fn nats_dev_starts_reports_and_stops_a_server() {
    let n = Nats::start(&root(), 1);
    let status = |n: &Nats| {
        let out = Command::new(root().join("dev/nats-dev.sh"))
            .arg("status")
            .env("NATS_PORT", n.port.to_string())
            .env("NATS_DIR", n.dir())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = status(&n);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("JetStream ready"), "{text}");
    assert!(n.dir().join("n0/js").is_dir());
    n.kill_node(0);
    let (code, text) = status(&n);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("node 0: stopped"), "{text}");
    n.start_node(0);
    assert_eq!(status(&n).0, Some(0));
    n.stop();
    assert_eq!(status(&n).0, Some(1));
    // Usage errors exit 2 and say why.
    let out = Command::new(root().join("dev/nats-dev.sh"))
        .args(["start", "--cluster", "x"])
        .env("NATS_DIR", n.dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cluster needs a positive number"));
}

// ---------------------------------------------------------------- helpers

/// `n` Finding lines for `host` (without a host field when `host` is None;
/// nats-post's --host fills it in).
fn findings(tag: &str, n: usize, host: Option<&str>) -> String {
    let mut s = String::new();
    for i in 0..n {
        let mut v = serde_json::json!({
            "path": format!("/home/u/{tag}/file{i}.csv"),
            "index": i % 3,
            "timestamp": "2026-11-27T10:00:00.000000Z",
            "detector": "US Social Security Number",
            "confidence": "LIKELY",
            "finding": format!("536-22-{:04}", i % 10000),
            "byte_range": {"start": i, "end": i + 11},
        });
        if let Some(h) = host {
            v["host"] = h.into();
        }
        s.push_str(&v.to_string());
        s.push('\n');
    }
    s
}

/// nats-post against `url` with its own spool under `tmp`.
fn post(url: &str, tmp: &TempDir, spool: &str) -> testkit::Cmd {
    cmd(bin("nats-post"))
        .args(["--servers", url, "--spool"])
        .arg(tmp.join(spool))
}

fn delivered(out: &Output) -> (u64, u64) {
    let mut n = (0, 0);
    for r in out.records() {
        if r["status"] == "delivered" {
            n.0 += r["records"].as_u64().unwrap();
            n.1 += r["duplicates"].as_u64().unwrap();
        }
    }
    n
}

fn tail(url: &str) -> testkit::Cmd {
    cmd(bin("nats-tail")).args(["--servers", url])
}

/// Everything in the stream, read with nats-tail on a fresh ephemeral consumer.
fn read_all(url: &str) -> Vec<Value> {
    let out = tail(url).args(["--from-beginning", "--exit-at-end"]).run();
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    out.records()
}

fn all_paths(tag: &str, n: usize) -> HashSet<String> {
    (0..n)
        .map(|i| format!("/home/u/{tag}/file{i}.csv"))
        .collect()
}

/// `path -> number of times seen` over NDJSON records.
fn path_counts(lines: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in lines {
        *m.entry(r["path"].as_str().unwrap().to_owned()).or_insert(0) += 1;
    }
    m
}

/// The Python nats-py client's view of the stream.
fn python_read(url: &str, stream: &str) -> Vec<Value> {
    let py = testkit::setup_script("tests/py/ensure-nats-venv.sh");
    let out = Command::new(py)
        .arg(root().join("tests/py/nats_read.py"))
        .args([url, stream])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nats_read.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    testkit::parse_records(&out.stdout)
}

// ---------------------------------------------------------------- nats-post

#[test]
fn python_client_reads_exactly_what_nats_post_wrote_and_resends_are_dropped() {
    let n = Nats::start(&root(), 1);
    let tmp = TempDir::new("np-py");
    let mut input = findings("a", 250, None);
    input.push_str(&findings("b", 50, Some("lap-2.corp")));
    input.push_str("not json\n");
    let out = post(&n.url(), &tmp, "spool")
        .args(["--host", "lap-1", "--batch", "64"])
        .stdin(input.clone())
        .run();
    // The malformed line is reported with its number; everything else goes.
    assert_eq!(out.code(), 1, "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("nats-post: line 301:"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(delivered(&out), (300, 0), "{}", out.stdout_str());
    assert!(
        out.records().len() >= 5,
        "one delivery record per batch of 64"
    );

    let seen = python_read(&n.url(), "DLP");
    assert_eq!(seen.len(), 300);
    let mut ids = HashSet::new();
    for (i, m) in seen.iter().enumerate() {
        let data: Value = serde_json::from_str(m["data"].as_str().unwrap()).unwrap();
        let (tag, host, subj_host) = if i < 250 {
            ("a", "lap-1", "lap-1")
        } else {
            ("b", "lap-2.corp", "lap-2_corp")
        };
        let k = if i < 250 { i } else { i - 250 };
        assert_eq!(
            data["path"],
            format!("/home/u/{tag}/file{k}.csv"),
            "in order"
        );
        assert_eq!(data["host"], host);
        assert_eq!(m["subject"], format!("dlp.finding.{subj_host}"));
        let id = m["id"].as_str().unwrap();
        assert_eq!(id.len(), 32);
        assert!(ids.insert(id.to_owned()), "message ids are unique");
        // The original record is there byte for byte after the host field.
        let line = input.lines().nth(i).unwrap();
        if i >= 250 {
            assert_eq!(m["data"], line);
        } else {
            assert_eq!(
                m["data"].as_str().unwrap(),
                format!("{{\"host\":\"lap-1\",{}", &line[1..])
            );
        }
    }
    // The same input again (a re-send after a crash): JetStream's duplicate
    // window drops every record.
    let again = post(&n.url(), &tmp, "spool")
        .args(["--host", "lap-1"])
        .stdin(findings("a", 250, None))
        .run();
    assert_eq!(again.code(), 0, "{}", again.stderr_str());
    assert_eq!(delivered(&again), (250, 250));
    assert_eq!(python_read(&n.url(), "DLP").len(), 300);
}

#[test]
fn servers_down_at_start_records_are_spooled_then_delivered() {
    let n = Nats::start(&root(), 1);
    n.stop();
    let tmp = TempDir::new("np-down");
    let mut p = post(&n.url(), &tmp, "spool")
        .args(["--host", "h", "--batch", "100", "--max-retry-time", "60"])
        .spawn();
    let input = findings("d", 400, None);
    for l in input.lines() {
        p.write_line(l);
    }
    p.close_stdin();
    let first = p
        .next_record(Duration::from_secs(15))
        .expect("a spooled record");
    assert_eq!(first["status"], "spooled", "{first}");
    assert!(
        first["error"]
            .as_str()
            .unwrap()
            .contains("no server reachable"),
        "{first}"
    );
    assert!(p.wait_stderr("batches wait in", Duration::from_secs(5)));
    // Every batch is on disk while the servers are down.
    let spooled: usize = std::fs::read_dir(tmp.join("spool"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "entry"))
        .map(|p| std::fs::read_to_string(p).unwrap().lines().count() - 1)
        .sum();
    assert_eq!(spooled, 400);
    n.start_node(0);
    let st = p
        .wait_timeout(Duration::from_secs(60))
        .expect("nats-post exits");
    assert_eq!(st.code(), Some(0), "{}", p.stderr_text());
    let recs = p.drain_records(Duration::from_millis(200));
    let sum: u64 = recs
        .iter()
        .filter(|r| r["status"] == "delivered")
        .map(|r| r["records"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 400);
    let got: Vec<Value> = python_read(&n.url(), "DLP")
        .iter()
        .map(|m| serde_json::from_str(m["data"].as_str().unwrap()).unwrap())
        .collect();
    let counts = path_counts(&got);
    assert_eq!(counts.len(), 400);
    assert!(counts.values().all(|&c| c == 1));
}

#[test]
fn nats_post_on_sigterm_keeps_what_is_unacknowledged_in_the_spool_and_exits_143() {
    let tmp = TempDir::new("np-term");
    // Nothing listens on port 1: every batch waits in the spool.
    let mut p = post("nats://127.0.0.1:1", &tmp, "spool")
        .args(["--host", "h", "--grace", "1"])
        .spawn();
    for l in findings("term", 3, None).lines() {
        p.write_line(l);
    }
    let rec = p
        .next_record(Duration::from_secs(15))
        .expect("a spooled record");
    assert_eq!(rec["status"], "spooled", "{rec}");
    p.signal(15);
    let st = p
        .wait_timeout(Duration::from_secs(15))
        .expect("exits after SIGTERM");
    assert_eq!(st.code(), Some(143), "{}", p.stderr_text());
    assert!(
        p.wait_stderr(
            "3 records in 1 batch not acknowledged",
            Duration::from_secs(2)
        ),
        "{}",
        p.stderr_text()
    );
    // The next start (stdin closed at once) finds them and says so.
    let again = post("nats://127.0.0.1:1", &tmp, "spool")
        .args(["--max-retry-time", "0"])
        .run();
    assert_eq!(again.code(), 1);
    assert!(
        again
            .stderr_str()
            .contains("1 batch from an earlier run pending"),
        "{}",
        again.stderr_str()
    );
}

#[test]
fn nats_post_refuses_bad_settings_before_reading() {
    let tmp = TempDir::new("np-bad");
    for (args, want) in [
        (
            vec!["--servers", "nats://u:hunter2@127.0.0.1:1"],
            "never on the command line",
        ),
        (vec!["--servers", "http://x:1"], "is not nats://"),
        (vec!["--subject", "dlp.{nope}"], "unknown placeholder"),
        (vec!["--stream", "a.b"], "stream name"),
        (
            vec!["--creds", "/nonexistent/u.creds"],
            "/nonexistent/u.creds",
        ),
    ] {
        let out = cmd(bin("nats-post"))
            .args(["--spool"])
            .arg(tmp.join("spool"))
            .args(&args)
            .stdin("{}\n")
            .run();
        assert_eq!(out.code(), 2, "{args:?}: {}", out.stderr_str());
        assert!(
            out.stderr_str().contains(want),
            "{args:?}: {}",
            out.stderr_str()
        );
        assert!(!out.stderr_str().contains("hunter2"));
    }
    let out = post("nats://127.0.0.1:1", &tmp, "spool")
        .env("NATS_USER", "u")
        .stdin("{}\n")
        .run();
    assert_eq!(out.code(), 2);
    assert!(out.stderr_str().contains("NATS_PASSWORD"));
}

// ---------------------------------------------------------------- nats-tail

#[test]
fn two_hosts_through_a_3_node_cluster_every_record_once_with_its_host() {
    let n = Nats::start(&root(), 3);
    let tmp = TempDir::new("fleet-e2e");
    // Two endpoints, each with its own spool, publishing at the same time.
    let hosts = [("alpha", "a", 700), ("beta", "b", 500)];
    let posts: Vec<_> = hosts
        .iter()
        .map(|&(host, tag, count)| {
            let url = n.url();
            let t = tmp.join(host);
            std::thread::spawn(move || {
                cmd(bin("nats-post"))
                    .args([
                        "--servers",
                        &url,
                        "--replicas",
                        "3",
                        "--host",
                        host,
                        "--spool",
                    ])
                    .arg(t)
                    .args(["--batch", "100"])
                    .stdin(findings(tag, count, None))
                    .run()
            })
        })
        .collect();
    for p in posts {
        let out = p.join().unwrap();
        assert_eq!(out.code(), 0, "{}", out.stderr_str());
    }
    // The centre: nats-tail on a durable, piped into findings-csv.
    let central = tail(&n.url())
        .args(["--durable", "central", "--from-beginning", "--exit-at-end"])
        .run();
    assert_eq!(central.code(), 0, "{}", central.stderr_str());
    let csv = cmd(bin("findings-csv"))
        .args(["--columns", "host,path,detector,finding"])
        .stdin(central.stdout.clone())
        .run();
    assert_eq!(csv.code(), 0, "{}", csv.stderr_str());
    let text = csv.stdout_str();
    let mut rows = text.lines();
    assert_eq!(rows.next(), Some("host,path,detector,finding"));
    let mut seen: HashMap<String, String> = HashMap::new();
    for row in rows {
        let mut f = row.splitn(3, ',');
        let host = f.next().unwrap().to_owned();
        let path = f.next().unwrap().to_owned();
        assert!(seen.insert(path.clone(), host).is_none(), "{path} twice");
    }
    assert_eq!(seen.len(), 1200);
    for (host, tag, count) in hosts {
        for p in all_paths(tag, count) {
            assert_eq!(seen.get(&p).map(String::as_str), Some(host), "{p}");
        }
    }
    // The durable remembers: nothing new for it now.
    let again = tail(&n.url())
        .args(["--durable", "central", "--exit-at-end"])
        .run();
    assert_eq!(again.code(), 0);
    assert!(again.stdout.is_empty());
    // The stream keeps 3 replicas (asked of the Python client).
    let info = python_info(&n.url(), "DLP");
    assert_eq!(info["replicas"], 3, "{info}");
    assert_eq!(info["messages"], 1200, "{info}");
}

/// Stream configuration and state, through nats-py.
fn python_info(url: &str, stream: &str) -> Value {
    let py = testkit::setup_script("tests/py/ensure-nats-venv.sh");
    let out = Command::new(py)
        .arg(root().join("tests/py/nats_read.py"))
        .args([url, stream, "--info"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_node_killed_mid_stream_and_restarted_loses_nothing_and_doubles_nothing() {
    let n = Nats::start(&root(), 3);
    let tmp = TempDir::new("fleet-kill");
    let mut p = cmd(bin("nats-post"))
        .args([
            "--servers",
            &n.url(),
            "--replicas",
            "3",
            "--host",
            "h",
            "--spool",
        ])
        .arg(tmp.join("spool"))
        .args(["--batch", "50", "--timeout", "2"])
        .spawn();
    let input = findings("k", 3000, None);
    for (i, l) in input.lines().enumerate() {
        p.write_line(l);
        if i % 100 == 99 {
            std::thread::sleep(Duration::from_millis(20));
        }
        if i == 1000 {
            n.kill_node(0);
        }
        if i == 2000 {
            n.start_node(0);
        }
    }
    p.close_stdin();
    let st = p
        .wait_timeout(Duration::from_secs(90))
        .expect("nats-post exits");
    assert_eq!(st.code(), Some(0), "{}", p.stderr_text());
    let got = read_all(&n.url());
    let counts = path_counts(&got);
    assert_eq!(counts.len(), 3000, "nothing lost");
    assert!(counts.values().all(|&c| c == 1), "nothing doubled");
}

#[test]
fn nats_tail_killed_mid_stream_resumes_on_its_durable_without_loss() {
    let n = Nats::start(&root(), 1);
    let tmp = TempDir::new("tail-kill");
    let total = 6000;
    let out = cmd(bin("nats-post"))
        .args(["--servers", &n.url(), "--host", "h", "--spool"])
        .arg(tmp.join("spool"))
        .stdin(findings("t", total, None))
        .run();
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    // Read a little, then stop reading: nats-tail blocks on a full pipe
    // with messages written and not acknowledged; kill -9 it there.
    let batch = 200;
    let mut child = Command::new(bin("nats-tail"))
        .args(["--servers", &n.url(), "--durable", "d", "--from-beginning"])
        .args(["--batch", &batch.to_string(), "--ack-wait", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut r = BufReader::new(child.stdout.take().unwrap());
    let mut first = Vec::new();
    let mut line = String::new();
    while first.len() < 100 {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0);
        first.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    // What it wrote before dying is still in the pipe: read it all. A
    // kill in the middle of a write can leave the last line cut short (as
    // any writer to a pipe): that message was not acknowledged, so only
    // whole lines count here and it comes again below.
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    let complete = rest.len() - rest.iter().rev().take_while(|&&b| b != b'\n').count();
    for l in rest[..complete]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
    {
        first.push(serde_json::from_slice(l).unwrap());
    }
    assert!(
        first.len() < total,
        "killed mid-stream ({} of {total})",
        first.len()
    );
    // Restarted on the same durable after the ack wait: the rest, and at
    // most one batch again.
    std::thread::sleep(Duration::from_millis(1500));
    let rest = tail(&n.url())
        .args(["--durable", "d", "--exit-at-end"])
        .run();
    assert_eq!(rest.code(), 0, "{}", rest.stderr_str());
    let mut all = first.clone();
    all.extend(rest.records());
    let counts = path_counts(&all);
    assert_eq!(
        counts.keys().cloned().collect::<HashSet<_>>(),
        all_paths("t", total),
        "nothing lost"
    );
    let doubled: usize = counts.values().map(|c| c - 1).sum();
    assert!(
        doubled <= batch,
        "{doubled} written twice, more than one batch"
    );
}

#[test]
fn two_nats_tails_on_one_durable_share_the_messages() {
    let n = Nats::start(&root(), 1);
    let tmp = TempDir::new("tail-share");
    // The stream and the durable exist before the two readers start.
    let out = cmd(bin("nats-post"))
        .args(["--servers", &n.url(), "--host", "h", "--spool"])
        .arg(tmp.join("spool"))
        .stdin(findings("s0", 1, None))
        .run();
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let mut readers: Vec<Spawned> = (0..2)
        .map(|_| {
            tail(&n.url())
                .args(["--durable", "shared", "--from-beginning", "--batch", "20"])
                .spawn()
        })
        .collect();
    let total = 2000;
    let out = cmd(bin("nats-post"))
        .args([
            "--servers",
            &n.url(),
            "--host",
            "h",
            "--batch",
            "20",
            "--spool",
        ])
        .arg(tmp.join("spool"))
        .stdin(findings("s", total, None))
        .run();
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got: Vec<Vec<Value>> = vec![Vec::new(), Vec::new()];
    while got.iter().map(Vec::len).sum::<usize>() < total + 1 && Instant::now() < deadline {
        for (i, r) in readers.iter_mut().enumerate() {
            while let Some(v) = r.next_record(Duration::from_millis(20)) {
                got[i].push(v);
            }
        }
    }
    for r in &mut readers {
        r.signal(15);
        assert_eq!(
            r.wait_timeout(Duration::from_secs(10)).unwrap().code(),
            Some(143)
        );
    }
    assert!(
        !got[0].is_empty() && !got[1].is_empty(),
        "both share: {} and {}",
        got[0].len(),
        got[1].len()
    );
    let all: Vec<Value> = got.concat();
    let counts = path_counts(&all);
    assert_eq!(counts.len(), total + 1);
    assert!(
        counts.values().all(|&c| c == 1),
        "each message to one reader"
    );
}

#[test]
fn nats_tail_filters_by_subject_and_rejects_foreign_messages() {
    let n = Nats::start(&root(), 1);
    let tmp = TempDir::new("tail-filter");
    for (host, tag) in [("web-01", "w"), ("lap-07", "l")] {
        let out = cmd(bin("nats-post"))
            .args(["--servers", &n.url(), "--host", host, "--spool"])
            .arg(tmp.join(host))
            .stdin(findings(tag, 30, None))
            .run();
        assert_eq!(out.code(), 0, "{}", out.stderr_str());
    }
    let out = tail(&n.url())
        .args([
            "--filter",
            "dlp.finding.web-01",
            "--from-beginning",
            "--exit-at-end",
        ])
        .run();
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let recs = out.records();
    assert_eq!(recs.len(), 30);
    assert!(recs.iter().all(|r| r["host"] == "web-01"));
    // Bad settings are refused up front.
    for (args, want) in [
        (vec!["--filter", "dlp..x"], "is not a NATS subject"),
        (vec!["--durable", "a.b"], "durable name"),
        (vec!["--ack-wait", "0"], "--ack-wait"),
    ] {
        let out = tail(&n.url()).args(&args).run();
        assert_eq!(out.code(), 2, "{args:?}");
        assert!(out.stderr_str().contains(want), "{}", out.stderr_str());
    }
    // A closed stdout (| head -1) ends nats-tail quietly (on its next
    // write), and what it had not acknowledged goes back to the stream.
    // 2000 records are more than a pipe holds.
    let out = cmd(bin("nats-post"))
        .args(["--servers", &n.url(), "--host", "bulk", "--spool"])
        .arg(tmp.join("bulk"))
        .stdin(findings("bulk", 2000, None))
        .run();
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let mut child = Command::new(bin("nats-tail"))
        .args(["--servers", &n.url(), "--durable", "c", "--from-beginning"])
        .args(["--filter", "dlp.finding.bulk", "--ack-wait", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"host\""), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Most come back at once (NAK); any still in flight after --ack-wait.
    std::thread::sleep(Duration::from_millis(1500));
    let rest = tail(&n.url())
        .args(["--durable", "c", "--exit-at-end"])
        .run();
    assert_eq!(rest.code(), 0);
    // What nats-tail wrote before it saw the closed pipe (the line read
    // here, the rest of this reader's 8 KiB buffer, the 64 KiB the pipe
    // holds) was written, so acknowledged; everything else comes back.
    let written_max = (8 + 64) * 1024 / first.len() + 1;
    let back = path_counts(&rest.records()).len();
    assert!(
        back >= 2000 - written_max && back <= 2000,
        "all but what was written come back: {back} of 2000 (at most {written_max} written)"
    );
    // A missing stream with --exit-at-end is an error, not a hang.
    let out = tail(&n.url())
        .args(["--stream", "NOPE", "--exit-at-end"])
        .run();
    assert_eq!(out.code(), 2);
    assert!(out.stderr_str().contains("NOPE"), "{}", out.stderr_str());
}

// ---------------------------------------------------------------- pipelines

/// A script under pipelines/ with the debug tools and its own state dir.
fn script(name: &str, state: &TempDir) -> testkit::Cmd {
    let bins = bin("nats-post");
    cmd(root().join("pipelines").join(name))
        .env("DLP_BIN_DIR", bins.parent().unwrap())
        .env("XDG_STATE_HOME", state.join("state"))
        .env("HOME", state.join("home"))
        .env("DLP_STOP_TIMEOUT", "10")
}

#[test]
fn fleet_scripts_have_usage_and_reject_bad_arguments() {
    let t = TempDir::new("fleet-usage");
    for s in ["fleet-endpoint.sh", "fleet-central.sh"] {
        let help = script(s, &t).arg("--help").run().expect_code(0);
        assert!(help.stdout_str().starts_with("Usage: "), "{s}");
        let bad = script(s, &t).arg("--no-such-flag").run().expect_code(2);
        assert!(bad.stderr_str().contains("unknown option"), "{s}");
    }
    // Credentials on the command line are refused before anything runs.
    std::fs::create_dir_all(t.join("w")).unwrap();
    let out = script("fleet-endpoint.sh", &t)
        .args(["--servers", "nats://u:pw@127.0.0.1:1"])
        .arg(t.join("w"))
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("never on the command line"),
        "{}",
        out.stderr_str()
    );
    let out = script("fleet-endpoint.sh", &t)
        .arg("--nightfall")
        .arg(t.join("w"))
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str().contains("NIGHTFALL_API_KEY"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn fleet_endpoint_to_fleet_central_a_saved_file_becomes_a_central_row_and_a_report() {
    let n = Nats::start(&root(), 1);
    let t = TempDir::new("fleet-pipes");
    let watch = t.join("watch");
    std::fs::create_dir_all(&watch).unwrap();
    let csv = t.join("central.csv");
    let report = t.join("report.html");
    let mut central = script("fleet-central.sh", &t)
        .args(["--servers", &n.url(), "--report-every", "1", "--output"])
        .arg(&csv)
        .arg("--report")
        .arg(&report)
        .spawn();
    let mut endpoint = script("fleet-endpoint.sh", &t)
        .args(["--servers", &n.url()])
        .arg(&watch)
        .env("DLP_DEBOUNCE_MS", "200")
        .spawn();
    assert!(
        endpoint.wait_stderr("watching", Duration::from_secs(20)),
        "{}",
        endpoint.stderr_text()
    );
    assert!(
        central.wait_stderr("collecting", Duration::from_secs(20)),
        "{}",
        central.stderr_text()
    );
    let rows =
        |want: &str| -> bool { std::fs::read_to_string(&csv).is_ok_and(|s| s.contains(want)) };
    let wait_row = |want: &str| -> Duration {
        let t0 = Instant::now();
        while !rows(want) {
            assert!(t0.elapsed() < Duration::from_secs(30), "no row with {want}");
            std::thread::sleep(Duration::from_millis(20));
        }
        t0.elapsed()
    };
    // The first file also creates the stream and the consumer.
    std::fs::write(watch.join("first.csv"), "name,ssn\nA,536-22-8726\n").unwrap();
    wait_row("first.csv");
    // Then a save on the endpoint is a central row within a couple of seconds.
    std::fs::write(watch.join("second.csv"), "name,ssn\nB,536-22-8727\n").unwrap();
    let latency = wait_row("second.csv");
    eprintln!("file save -> central CSV row: {latency:?}");
    assert!(latency < Duration::from_secs(5), "{latency:?}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("host,"), "{text}");
    assert_eq!(
        text.matches(&format!("\n{},", host.trim())).count(),
        2,
        "{text}"
    );
    // The periodic report covers the CSV.
    let t0 = Instant::now();
    loop {
        let html = std::fs::read_to_string(&report).unwrap_or_default();
        if html.contains("id=\"kpi-total\" data-value=\"2\"") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "report: {html}");
        std::thread::sleep(Duration::from_millis(100));
    }
    for p in [&mut endpoint, &mut central] {
        p.signal(15);
        let st = p.wait_timeout(Duration::from_secs(30)).expect("stops");
        assert_eq!(st.code(), Some(0), "{}", p.stderr_text());
    }
    // --once (cron): nothing new for the durable, the report is rewritten.
    std::fs::remove_file(&report).unwrap();
    let once = script("fleet-central.sh", &t)
        .args(["--servers", &n.url(), "--once", "--output"])
        .arg(&csv)
        .arg("--report")
        .arg(&report)
        .run();
    assert_eq!(once.code(), 0, "{}", once.stderr_str());
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("data-value=\"2\""));
}

/// A server process killed when the test ends, passed or not.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns a JetStream server of its own with user/password authorization.
/// A single nats-server requiring a user and password, on a port it picks
/// itself (`-1`) and reports in its ports file: no race for a free port.
fn server_with_password(dir: &TempDir) -> (Server, u16) {
    server_with(dir, "authorization { user: dlp, password: s3cret-pw }\n")
}

/// A JetStream server of its own with `extra` configuration.
fn server_with(dir: &TempDir, extra: &str) -> (Server, u16) {
    let conf = dir.join("server.conf");
    let ports = dir.join("ports");
    std::fs::create_dir_all(&ports).unwrap();
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:-1\nports_file_dir: \"{}\"\njetstream {{ store_dir: \"{}\" }}\n{extra}",
            ports.display(),
            dir.join("js").display()
        ),
    )
    .unwrap();
    let exe = [
        "/usr/sbin/nats-server",
        "/usr/local/sbin/nats-server",
        "/usr/bin/nats-server",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .unwrap_or("nats-server");
    let child = Command::new(exe)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server (Debian: apt-get install nats-server)");
    let ports = ports.join(format!("nats-server_{}.ports", child.id()));
    let server = Server(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let port = loop {
        let url = std::fs::read(&ports)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v["nats"][0].as_str().map(str::to_owned));
        if let Some(port) = url.and_then(|u| u.rsplit(':').next()?.parse::<u16>().ok()) {
            break port;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nats-server wrote no ports file {}",
            ports.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(testkit::wait_port(port, Duration::from_secs(10)));
    (server, port)
}

#[test]
fn credentials_come_from_the_environment_and_are_never_shown() {
    // Makes sure Debian's nats-server is installed (nats-dev.sh installs it).
    drop(Nats::start(&root(), 1));
    let tmp = TempDir::new("nats-auth");
    let (_server, port) = server_with_password(&tmp);
    let url = format!("nats://127.0.0.1:{port}");
    let ok = cmd(bin("nats-post"))
        .args(["--servers", &url, "--host", "h", "--spool"])
        .arg(tmp.join("spool"))
        .env("NATS_USER", "dlp")
        .env("NATS_PASSWORD", "s3cret-pw")
        .stdin(findings("auth", 10, None))
        .run();
    assert_eq!(ok.code(), 0, "{}", ok.stderr_str());
    assert_eq!(delivered(&ok), (10, 0));
    let read = tail(&url)
        .args(["--from-beginning", "--exit-at-end"])
        .env("NATS_USER", "dlp")
        .env("NATS_PASSWORD", "s3cret-pw")
        .run();
    assert_eq!(read.code(), 0, "{}", read.stderr_str());
    assert_eq!(read.records().len(), 10);
    // A wrong password: nothing is delivered, everything stays spooled,
    // and the password is not in any message.
    let bad = cmd(bin("nats-post"))
        .args([
            "--servers",
            &url,
            "--host",
            "h",
            "--max-retry-time",
            "2",
            "--spool",
        ])
        .arg(tmp.join("spool2"))
        .env("NATS_USER", "dlp")
        .env("NATS_PASSWORD", "wrong-pw")
        .stdin(findings("auth2", 5, None))
        .run();
    assert_eq!(bad.code(), 1, "{}", bad.stderr_str());
    assert_eq!(delivered(&bad), (0, 0));
    assert!(bad.stderr_str().contains("stay in"), "{}", bad.stderr_str());
    for out in [&ok, &bad] {
        let all = out.stdout_str() + &out.stderr_str();
        assert!(
            !all.contains("s3cret-pw") && !all.contains("wrong-pw"),
            "{all}"
        );
    }
}

// ------------------------------------------------- live tail (no --exit-at-end)

/// Bursts of `per` records posted with `gaps` (ms) between them into a live
/// `nats-tail --durable` left running: every record must be written exactly
/// once, each within `within` of its post. `between(i)` runs before burst
/// `i` (to kill or restart a node). Gaps longer than the pull heartbeat
/// (3 s) are what the earlier tail lost: a delivery that came after an idle
/// heartbeat sat unread until its pull expired.
fn live_bursts(n: &Nats, tmp: &TempDir, gaps: &[u64], per: usize, between: impl Fn(usize)) {
    let within = Duration::from_secs(8);
    let mut live = tail(&n.url())
        .args(["--durable", "live", "--from-beginning", "--ack-wait", "5s"])
        .spawn();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, gap) in gaps.iter().enumerate() {
        std::thread::sleep(Duration::from_millis(*gap));
        between(i);
        let tag = format!("b{i}");
        let out = post(&n.url(), tmp, "spool")
            .args(["--host", "h", "--replicas", &n.nodes.to_string()])
            .stdin(findings(&tag, per, None))
            .run();
        assert_eq!(out.code(), 0, "burst {i}: {}", out.stderr_str());
        let want = all_paths(&tag, per);
        let got = live.records_until(within, |v| {
            v.iter()
                .filter(|r| want.contains(r["path"].as_str().unwrap_or("")))
                .count()
                >= per
        });
        for r in &got {
            *seen
                .entry(r["path"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        let missing: Vec<_> = want.iter().filter(|p| !seen.contains_key(*p)).collect();
        assert!(
            missing.is_empty(),
            "burst {i} after a {gap} ms gap: {missing:?} not written within {within:?}; stderr: {}",
            live.stderr_text()
        );
    }
    // Nothing more arrives: each record was written once.
    for r in live.drain_records(Duration::from_secs(2)) {
        *seen
            .entry(r["path"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "written more than once: {twice:?}");
    assert_eq!(seen.len(), gaps.len() * per);
}

#[test]
fn a_live_tail_writes_every_burst_after_idle_gaps() {
    let n = Nats::start(&root(), 1);
    let tmp = TempDir::new("live-1");
    live_bursts(
        &n,
        &tmp,
        &[0, 1200, 3600, 300, 4200, 2500, 6500, 100],
        2,
        |_| {},
    );
}

#[test]
fn a_live_tail_on_a_cluster_writes_every_burst_through_a_node_restart() {
    let n = Nats::start(&root(), 3);
    let tmp = TempDir::new("live-3");
    let gaps = [0, 800, 3500, 400, 4300, 1500, 3300, 200, 2600];
    live_bursts(&n, &tmp, &gaps, 3, |i| match i {
        3 => n.kill_node(0),
        6 => n.start_node(0),
        _ => {}
    });
}

#[test]
fn a_record_over_max_payload_is_set_aside_and_the_rest_delivered() {
    drop(Nats::start(&root(), 1));
    let tmp = TempDir::new("nats-big");
    let (_server, port) = server_with(&tmp, "max_payload: 4096\n");
    let url = format!("nats://127.0.0.1:{port}");
    let mut input = findings("big", 6, None);
    let mut big = serde_json::json!({
        "path": "/home/u/big/huge.csv", "detector": "US Social Security Number",
        "confidence": "LIKELY", "finding": "536-22-0001", "before_context": "x".repeat(20_000),
    })
    .to_string();
    big.push('\n');
    input.insert_str(input.find('\n').unwrap() + 1, &big);
    let spool = tmp.join("spool");
    let out = post(&url, &tmp, "spool")
        .args(["--host", "h"])
        .stdin(input)
        .run();
    assert_eq!(out.code(), 1, "{}", out.stderr_str());
    assert_eq!(delivered(&out), (6, 0), "the rest is delivered");
    let err = out.stderr_str();
    let dead: Vec<PathBuf> = std::fs::read_dir(spool.join("dead-letter"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let dead = &dead[0];
    assert!(err.contains("max_payload (4096 bytes"), "{err}");
    assert!(
        err.contains(&format!("< {}", dead.display())),
        "a re-feed command: {err}"
    );
    // Plain NDJSON: the record as it was read, stamped with its host.
    let kept = std::fs::read_to_string(dead).unwrap();
    let kept: Vec<Value> = testkit::parse_records(kept.as_bytes());
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0]["path"].as_str(), kept[0]["host"].as_str()),
        (Some("/home/u/big/huge.csv"), Some("h"))
    );
    assert!(out
        .records()
        .iter()
        .any(|r| r["status"] == "failed" && r["records"] == 1));
    // Nothing is left to block the next run.
    let next = post(&url, &tmp, "spool")
        .args(["--host", "h"])
        .stdin(findings("after", 3, None))
        .run();
    assert_eq!(next.code(), 0, "{}", next.stderr_str());
    assert_eq!(delivered(&next), (3, 0));
    let paths: Vec<Value> = read_all(&url);
    assert_eq!(paths.len(), 9);
    assert!(!paths.iter().any(|r| r["path"] == "/home/u/big/huge.csv"));
    // Re-fed as stderr says, to a server that takes it: published.
    let roomy = TempDir::new("nats-big-refeed");
    let (_roomy_server, roomy_port) = server_with(&roomy, "");
    let roomy_url = format!("nats://127.0.0.1:{roomy_port}");
    let refeed = post(&roomy_url, &roomy, "spool-refeed")
        .stdin(std::fs::read_to_string(dead).unwrap())
        .run();
    assert_eq!(refeed.code(), 0, "{}", refeed.stderr_str());
    assert_eq!(delivered(&refeed), (1, 0));
    let got = read_all(&roomy_url);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["path"], "/home/u/big/huge.csv");
    assert_eq!(got[0]["host"], "h");
}

#[test]
fn a_batch_acknowledged_in_part_keeps_only_the_rest_and_a_restart_sends_only_that() {
    let n = Nats::start(&root(), 1);
    let tmp = TempDir::new("nats-partial");
    // DLP stores host h1's subjects only.
    let first = post(&n.url(), &tmp, "s0")
        .args(["--subject", "dlp.{type}.h1"])
        .stdin(findings("z", 1, Some("h1")))
        .run();
    assert_eq!(first.code(), 0, "{}", first.stderr_str());
    // One batch: h1's three records are acknowledged, h2's are not.
    let mut input = findings("a", 3, Some("h1"));
    input.push_str(&findings("b", 3, Some("h2")));
    let part = post(&n.url(), &tmp, "spool")
        .args(["--max-retry-time", "1"])
        .stdin(input)
        .run();
    assert_eq!(part.code(), 1, "{}", part.stderr_str());
    let err = part.stderr_str();
    assert!(
        err.contains("no stream stores subject dlp.finding.h2"),
        "{err}"
    );
    assert!(
        err.contains("3 records in 1 batch not acknowledged"),
        "{err}"
    );
    let done: Vec<Value> = (part.records().into_iter())
        .filter(|r| r["status"] == "delivered")
        .collect();
    assert_eq!(done.len(), 1, "{}", part.stdout_str());
    assert_eq!(done[0]["records"], 3);
    // That batch stays in the spool holding only the records not acknowledged.
    let batch = done[0]["batch"].as_str().unwrap();
    let entry = std::fs::read_to_string(tmp.join("spool").join(format!("{batch}.entry"))).unwrap();
    // Each record with the subject and message id it was read with.
    let mut lines = entry.lines();
    assert_eq!(lines.next(), Some(r#"{"lines":true,"addressed":true}"#));
    let kept: Vec<Value> = lines
        .map(|l| {
            let (address, record) = l.split_once('\t').unwrap();
            assert!(address.starts_with("dlp.finding.h2 "), "{l}");
            serde_json::from_str(record).unwrap()
        })
        .collect();
    assert_eq!(kept.len(), 3, "{entry}");
    assert!(kept.iter().all(|r| r["host"] == "h2"), "{entry}");
    // Once S2 stores h2's subjects, the next start publishes those three,
    // and only those (h1's, owned by DLP, would stop it as another stream's).
    let s2 = post(&n.url(), &tmp, "s2")
        .args(["--stream", "S2", "--subject", "dlp.{type}.h2"])
        .stdin(findings("c", 1, Some("h2")))
        .run();
    assert_eq!(s2.code(), 0, "{}", s2.stderr_str());
    let rest = post(&n.url(), &tmp, "spool")
        .args(["--stream", "S2"])
        .stdin("")
        .run();
    assert_eq!(rest.code(), 0, "{}", rest.stderr_str());
    assert_eq!(delivered(&rest), (3, 0));
    assert_eq!(python_read(&n.url(), "DLP").len(), 4);
    assert_eq!(python_read(&n.url(), "S2").len(), 4);
}

#[test]
fn a_spool_left_by_earlier_versions_is_published_once() {
    let n = Nats::start(&root(), 1);
    let tmp = TempDir::new("nats-old-spool");
    let spool = tmp.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    // The first version delivering through the outbox: the records' own
    // lines, stamped with their host, addressed when sent.
    let outbox_v1 = findings("outbox-v1", 3, Some("h"));
    let entry = format!("{{\"lines\":true}}\n{outbox_v1}");
    std::fs::write(spool.join("0001-outbox-v1.entry"), entry).unwrap();
    // Before the outbox: subject, message id and record on each line.
    let mut entry = String::from("{\"records\":2}\n");
    for (i, l) in findings("pre-outbox", 2, Some("h")).lines().enumerate() {
        entry.push_str(&format!("dlp.finding.h pre-outbox-{i} {l}\n"));
    }
    std::fs::write(spool.join("0002-pre-outbox.entry"), entry).unwrap();
    let out = post(&n.url(), &tmp, "spool")
        .stdin(findings("now", 2, Some("h")))
        .run();
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    assert!(out.stderr_str().contains("2 batches from an earlier run"));
    assert_eq!(delivered(&out), (7, 0));
    assert!(std::fs::read_dir(&spool).unwrap().all(|e| e
        .unwrap()
        .path()
        .extension()
        .is_none_or(|x| x != "entry")));
    let got = python_read(&n.url(), "DLP");
    let subjects: HashSet<&str> = got.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, HashSet::from(["dlp.finding.h"]));
    let ids: HashSet<&str> = got.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains("pre-outbox-0") && ids.contains("pre-outbox-1"),
        "{ids:?}"
    );
    assert_eq!(ids.len(), 7);
    let recs: Vec<Value> = (got.iter())
        .map(|m| serde_json::from_str(m["data"].as_str().unwrap()).unwrap())
        .collect();
    let counts = path_counts(&recs);
    assert_eq!(counts.len(), 7, "{counts:?}");
    assert!(counts.values().all(|&c| c == 1), "{counts:?}");
    // The old entries' records had the ids this version gives them: sent
    // again, the stream drops them.
    let again = post(&n.url(), &tmp, "spool").stdin(outbox_v1).run();
    assert_eq!(again.code(), 0, "{}", again.stderr_str());
    assert_eq!(delivered(&again), (3, 3));
}

#[test]
fn records_never_land_in_another_stream_than_the_one_named() {
    let n = Nats::start(&root(), 1);
    let tmp = TempDir::new("nats-stream");
    // DLP owns dlp.*.* ...
    let first = post(&n.url(), &tmp, "s1")
        .args(["--host", "h"])
        .stdin(findings("d", 2, None))
        .run();
    assert_eq!(first.code(), 0, "{}", first.stderr_str());
    // ... and S2 exists with other subjects.
    let s2 = post(&n.url(), &tmp, "s2")
        .args([
            "--host",
            "h",
            "--stream",
            "S2",
            "--subject",
            "other.{type}.{host}",
        ])
        .stdin(findings("o", 1, None))
        .run();
    assert_eq!(s2.code(), 0, "{}", s2.stderr_str());
    // --stream S2 with the default subject: refused, said, kept in the spool.
    let wrong = post(&n.url(), &tmp, "s3")
        .args(["--host", "h", "--stream", "S2"])
        .stdin(findings("w", 3, None))
        .run();
    assert_eq!(wrong.code(), 2, "{}", wrong.stderr_str());
    let err = wrong.stderr_str();
    assert!(err.contains("another stream than S2"), "{err}");
    assert!(!wrong.records().iter().any(|r| r["status"] == "delivered"));
    assert_eq!(read_all(&n.url()).len(), 2, "nothing went to DLP");
    let left = std::fs::read_dir(tmp.join("s3"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "entry")
        })
        .count();
    assert_eq!(left, 1, "the batch waits in the spool");
    // A new stream whose subjects another stream owns: refused at once too.
    let overlap = post(&n.url(), &tmp, "s4")
        .args(["--host", "h", "--stream", "S3"])
        .stdin(findings("x", 1, None))
        .run();
    assert_eq!(overlap.code(), 2, "{}", overlap.stderr_str());
    assert!(
        overlap.stderr_str().contains("--stream"),
        "{}",
        overlap.stderr_str()
    );
}

/// The central CSV's rows as maps of column name to value.
fn central_rows(csv_path: &Path) -> Vec<HashMap<String, String>> {
    let Ok(data) = std::fs::read(csv_path) else {
        return Vec::new();
    };
    let mut r = csv::Reader::from_reader(data.as_slice());
    let head: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    r.records()
        .filter_map(Result::ok)
        .map(|rec| {
            head.iter()
                .cloned()
                .zip(rec.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[test]
fn two_endpoints_touch_edit_restart_delete_each_finding_once_at_the_centre() {
    let n = Nats::start(&root(), 1);
    let t = TempDir::new("fleet-once");
    let (dir_a, dir_b) = (t.join("alpha-docs"), t.join("beta-docs"));
    for d in [&dir_a, &dir_b] {
        std::fs::create_dir_all(d).unwrap();
    }
    let csv_path = t.join("central.csv");
    let mut central = script("fleet-central.sh", &t)
        .args(["--servers", &n.url(), "--report", "-", "--output"])
        .arg(&csv_path)
        .spawn();
    let endpoint = |host: &str, dir: &Path| {
        // Both under one XDG_STATE_HOME: each instance gets its own state.
        script("fleet-endpoint.sh", &t)
            .args(["--servers", &n.url(), "--host", host])
            .arg(dir)
            .env("DLP_DEBOUNCE_MS", "150")
            .spawn()
    };
    let mut a = endpoint("alpha", &dir_a);
    let mut b = endpoint("beta", &dir_b);
    for p in [&mut a, &mut b] {
        assert!(
            p.wait_stderr("watching", Duration::from_secs(20)),
            "{}",
            p.stderr_text()
        );
    }
    assert!(central.wait_stderr("collecting", Duration::from_secs(20)));
    let wait_rows = |n: usize| {
        let t0 = Instant::now();
        loop {
            let rows = central_rows(&csv_path);
            if rows.len() >= n {
                return rows;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "{} of {n} rows: {rows:?}",
                rows.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // Nothing more arrives within a few seconds.
    let settled = |n: usize, what: &str| {
        std::thread::sleep(Duration::from_secs(3));
        let rows = central_rows(&csv_path);
        assert_eq!(rows.len(), n, "after {what}: {rows:#?}");
        rows
    };
    let a_file = dir_a.join("staff.csv");
    std::fs::write(&a_file, "name,ssn\nAna,536-22-8726\nBo,536-22-8727\n").unwrap();
    let b_file = dir_b.join("cards.txt");
    std::fs::write(&b_file, "card: 5433-9502-3725-7862 exp 12/29\n").unwrap();
    wait_rows(3);
    settled(3, "the first saves");
    // touch, and an edit that adds no finding: nothing new.
    Command::new("touch").arg(&a_file).status().unwrap();
    std::fs::write(
        &a_file,
        "name,ssn\nAna,536-22-8726\nBo,536-22-8727\nnote,none\n",
    )
    .unwrap();
    settled(3, "touch and an edit elsewhere");
    // A new finding in the same file: one row.
    std::fs::write(
        &a_file,
        "name,ssn\nAna,536-22-8726\nBo,536-22-8727\nnote,none\nCy,536-22-8728\n",
    )
    .unwrap();
    wait_rows(4);
    settled(4, "a new finding");
    // The endpoint restarts: nothing is published again.
    a.signal(15);
    assert_eq!(
        a.wait_timeout(Duration::from_secs(30))
            .and_then(|s| s.code()),
        Some(0)
    );
    let mut a = endpoint("alpha", &dir_a);
    assert!(
        a.wait_stderr("watching", Duration::from_secs(20)),
        "{}",
        a.stderr_text()
    );
    settled(4, "an endpoint restart");
    // A deletion: one resolved row for the one finding the file held.
    std::fs::remove_file(&b_file).unwrap();
    let rows = wait_rows(5);
    let rows = {
        drop(rows);
        settled(5, "a deletion")
    };
    let count = |host: &str, status: &str| {
        rows.iter()
            .filter(|r| r["host"] == host && r["status"] == status)
            .count()
    };
    assert_eq!((count("alpha", "new"), count("alpha", "resolved")), (3, 0));
    assert_eq!((count("beta", "new"), count("beta", "resolved")), (1, 1));
    let resolved = rows.iter().find(|r| r["status"] == "resolved").unwrap();
    let opened = rows
        .iter()
        .find(|r| r["host"] == "beta" && r["status"] == "new")
        .unwrap();
    assert_eq!(
        resolved["finding_id"], opened["finding_id"],
        "the same finding"
    );
    assert_eq!(resolved["first_seen"], opened["first_seen"]);
    assert!(resolved["path"].ends_with("cards.txt"));
    // Every row is one finding at one moment of its life.
    let keys: HashSet<_> = rows
        .iter()
        .map(|r| {
            (
                r["host"].clone(),
                r["path"].clone(),
                r["finding_id"].clone(),
                r["status"].clone(),
            )
        })
        .collect();
    assert_eq!(keys.len(), rows.len(), "{rows:#?}");
    assert!(rows.iter().all(|r| !r["finding_id"].is_empty()));
    for p in [&mut a, &mut b, &mut central] {
        p.signal(15);
        let st = p.wait_timeout(Duration::from_secs(30)).expect("stops");
        assert_eq!(st.code(), Some(0), "{}", p.stderr_text());
    }
}

#[test]
fn fleet_stages_each_run_one_pipeline_in_the_foreground() {
    let n = Nats::start(&root(), 1);
    let t = TempDir::new("fleet-stages");
    let watch = t.join("watch");
    std::fs::create_dir_all(&watch).unwrap();
    let csv = t.join("central.csv");
    let report = t.join("report.html");
    let central = |stage: &str| {
        script("fleet-central.sh", &t)
            .args(["--servers", &n.url(), "--stage", stage, "--output"])
            .arg(&csv)
            .arg("--report")
            .arg(&report)
    };

    // Bad stages are usage errors.
    let err = central("tail").run().expect_code(2).stderr_str();
    assert!(
        err.contains("unknown stage 'tail': the stages are collect report"),
        "{err}"
    );
    let err = central("collect")
        .arg("--once")
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("exclude each other"), "{err}");
    let err = script("fleet-endpoint.sh", &t)
        .args(["--stage", "results"])
        .arg(&watch)
        .run()
        .expect_code(2)
        .stderr_str();
    assert!(err.contains("the stage is scan"), "{err}");

    // collect: nats-tail | findings-csv; scan: the whole endpoint pipe. The
    // script's process becomes each pipe's first command, no shell left.
    let mut collect = central("collect").spawn();
    let mut scan = script("fleet-endpoint.sh", &t)
        .args(["--servers", &n.url(), "--stage", "scan"])
        .arg(&watch)
        .env("DLP_DEBOUNCE_MS", "200")
        .spawn();
    assert!(
        scan.wait_stderr("fswatch-json: watching", Duration::from_secs(20)),
        "{}",
        scan.stderr_text()
    );
    let mut pids = e2e::wait_process_tree(
        scan.pid(),
        &["fswatch-json", "path-filter", "pii-scan", "nats-post"],
    );
    pids.extend(e2e::wait_process_tree(
        collect.pid(),
        &["nats-tail", "findings-csv"],
    ));

    std::fs::write(watch.join("first.csv"), "name,ssn\nA,536-22-8726\n").unwrap();
    let t0 = Instant::now();
    while !std::fs::read_to_string(&csv).is_ok_and(|s| s.contains("first.csv")) {
        assert!(t0.elapsed() < Duration::from_secs(30), "no central row");
        std::thread::sleep(Duration::from_millis(50));
    }
    // report: written once, and the stage exits (a timer runs it).
    let out = central("report").run();
    assert_eq!(out.code(), 0, "{}", out.stderr_str());
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("id=\"kpi-total\" data-value=\"1\""), "{html}");

    // SIGTERM to a stage's process: its first command stops, the rest of
    // the pipe drains and ends, the status is that command's.
    for p in [&mut scan, &mut collect] {
        p.signal(15);
        let st = p.wait_timeout(Duration::from_secs(30)).expect("stops");
        assert_eq!(st.code(), Some(143), "{}", p.stderr_text());
    }
    e2e::assert_processes_end(&pids);
    // Each finding once: the row written before the stop, none since.
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.matches("first.csv").count(), 1, "{text}");
}
