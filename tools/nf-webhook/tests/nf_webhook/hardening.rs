//! nf-webhook against hostile clients and operators: idle and trickling
//! connections, a connection cap, SIGTERM with connections open, restarts
//! (replays), a second instance on the same spool, log flooding. Real
//! process, real sockets on 127.0.0.1, real spool directories.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dlp_record::time::unix_now;
use nfapi::signature::sign;
use testkit::{cmd, http, Spawned, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_nf-webhook");
const SECRET: &str = "hardening-secret";
const T: Duration = Duration::from_secs(20);

fn start(spool: &std::path::Path, extra: &[&str]) -> (Spawned, u16) {
    let mut sp = cmd(BIN)
        .args(["--listen", "127.0.0.1:0", "--spool"])
        .arg(spool)
        .args(extra)
        .env("NIGHTFALL_SIGNING_SECRET", SECRET)
        .spawn();
    let port = sp.listening_port(T);
    (sp, port)
}

/// A result notification with no findings (nothing to fetch).
fn clean(upload_id: &str) -> String {
    serde_json::json!({
        "findingsURL": "", "validUntil": "", "uploadID": upload_id,
        "findingsPresent": false, "requestMetadata": "", "errors": []
    })
    .to_string()
}

fn post_signed(port: u16, ts: u64, body: &str) -> u16 {
    let sig = sign(SECRET.as_bytes(), &ts.to_string(), body.as_bytes());
    let ts = ts.to_string();
    http(
        port,
        "POST",
        "/ingest",
        &[
            ("Content-Type", "application/json"),
            ("X-Nightfall-Signature", &sig),
            ("X-Nightfall-Timestamp", &ts),
        ],
        body.as_bytes(),
    )
    .map(|r| r.0)
    .unwrap_or(0)
}

/// Best effort: lets this test process hold a few thousand sockets.
fn raise_nofile(want: u64) {
    let _ = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &std::process::id().to_string(),
            &format!("--nofile={want}:{want}"),
        ])
        .status();
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).unwrap()
}

#[test]
fn idle_and_trickling_connections_do_not_delay_a_signed_request() {
    raise_nofile(8192);
    let spool = TempDir::new("nfw-slow");
    let (mut sp, port) = start(spool.path(), &["--head-timeout", "30"]);
    let idle: Vec<TcpStream> = (0..1000).map(|_| connect(port)).collect();
    let mut trickle: Vec<TcpStream> = (0..1000).map(|_| connect(port)).collect();
    let head = b"POST /ingest HTTP/1.1\r\nHost: x\r\n";
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    let mut answered = 0;
    // Four rounds of one byte on every trickling connection, a second
    // apart, with signed requests in between.
    for round in 0..4 {
        for s in &mut trickle {
            s.write_all(&head[round..round + 1]).unwrap();
        }
        let t = Instant::now();
        assert_eq!(
            post_signed(port, unix_now(), &clean(&format!("slow-{round}"))),
            200
        );
        worst = worst.max(t.elapsed());
        answered += 1;
        std::thread::sleep(Duration::from_secs(1).saturating_sub(t.elapsed()));
    }
    assert_eq!(answered, 4);
    assert!(worst < Duration::from_secs(1), "slowest answer {worst:?}");
    // Every slow connection is still open on the server, and it stays small.
    let pid = sp.pid();
    let fds = open_fds(pid);
    assert!((2000..2100).contains(&fds), "server holds {fds} fds");
    let rss = rss_kib(pid);
    assert!(
        rss < 32 * 1024,
        "server RSS {rss} KiB with 2000 slow connections"
    );
    eprintln!("server RSS {rss} KiB, {fds} fds with 2,000 slow connections");
    for id in 0..4 {
        assert!(sp.wait_stderr(
            &format!("No sensitive data present! | UploadID slow-{id}"),
            T
        ));
    }
    assert!(started.elapsed() < Duration::from_secs(15));
    drop(idle);
}

#[test]
fn at_the_cap_the_idlest_connections_are_closed_first() {
    let spool = TempDir::new("nfw-cap");
    let (mut sp, port) = start(spool.path(), &["--max-connections", "100"]);
    let mut early: Vec<TcpStream> = (0..50).map(|_| connect(port)).collect();
    std::thread::sleep(Duration::from_millis(50));
    // A started request: not the idlest once more idle ones arrive.
    let mut busy = connect(port);
    busy.write_all(b"POST /ingest HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let _late: Vec<TcpStream> = (0..98).map(|_| connect(port)).collect();
    let t = Instant::now();
    assert_eq!(post_signed(port, unix_now(), &clean("capped")), 200);
    assert!(t.elapsed() < Duration::from_secs(1));
    // The early idle connections were closed (EOF), the busy one was not.
    for s in &mut early {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 1];
        assert!(matches!(s.read(&mut b), Ok(0) | Err(_)));
    }
    busy.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut b = [0u8; 1];
    let e = busy.read(&mut b).unwrap_err();
    assert!(matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    assert!(sp.wait_stderr("No sensitive data present! | UploadID capped", T));
}

#[test]
fn head_deadline_answers_408_and_frees_the_connection() {
    let spool = TempDir::new("nfw-408");
    let (mut sp, port) = start(spool.path(), &["--head-timeout", "1"]);
    let mut s = connect(port);
    s.write_all(b"POST /ingest HTTP/1.1\r\n").unwrap();
    let t = Instant::now();
    let mut resp = String::new();
    s.set_read_timeout(Some(T)).unwrap();
    let _ = s.read_to_string(&mut resp);
    assert!(resp.starts_with("HTTP/1.1 408 "), "{resp}");
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(sp.wait_stderr("request head not received in time", T));
}

#[test]
fn sigterm_with_idle_connections_exits_within_the_drain_timeout() {
    let spool = TempDir::new("nfw-term");
    let (mut sp, port) = start(spool.path(), &["--drain-timeout", "2"]);
    let mut idle: Vec<TcpStream> = (0..100).map(|_| connect(port)).collect();
    // One request in hand that never completes.
    let mut slow = connect(port);
    slow.write_all(b"POST /ingest HTTP/1.1\r\nContent-Length: 10\r\n\r\nab")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    sp.signal(15);
    // Idle connections are closed at once.
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut b = [0u8; 1];
        assert!(matches!(s.read(&mut b), Ok(0)), "idle connection left open");
    }
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "idle closed after {:?}",
        t.elapsed()
    );
    let st = sp.wait_timeout(Duration::from_secs(10)).expect("exits");
    let took = t.elapsed();
    assert_eq!(st.code(), Some(143), "{st:?}");
    assert!(took <= Duration::from_secs(3), "exit after {took:?}");
    assert!(
        took >= Duration::from_millis(1500),
        "the request in hand was not given its time: {took:?}"
    );
    assert!(sp
        .stderr_text()
        .contains("drain time-out: closed 1 connection(s)"));
    // No new connections once stopping.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn sigterm_finishes_a_request_in_hand() {
    let spool = TempDir::new("nfw-term2");
    let (mut sp, port) = start(spool.path(), &["--drain-timeout", "5"]);
    let _idle: Vec<TcpStream> = (0..100).map(|_| connect(port)).collect();
    let body = clean("in-hand");
    let ts = unix_now().to_string();
    let sig = sign(SECRET.as_bytes(), &ts, body.as_bytes());
    let mut s = connect(port);
    write!(
        s,
        "POST /ingest HTTP/1.1\r\nX-Nightfall-Signature: {sig}\r\nX-Nightfall-Timestamp: {ts}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    sp.signal(15);
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(body.as_bytes()).unwrap();
    let mut resp = String::new();
    s.set_read_timeout(Some(T)).unwrap();
    let _ = s.read_to_string(&mut resp);
    assert!(resp.starts_with("HTTP/1.1 200 "), "{resp}");
    let st = sp.wait_timeout(Duration::from_secs(10)).expect("exits");
    assert_eq!(st.code(), Some(143), "{st:?}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "exit after {:?}",
        t.elapsed()
    );
    // Accepted and durable: handled before the exit or on the next start.
    let seen = "No sensitive data present! | UploadID in-hand";
    if !sp.stderr_text().contains(seen) {
        let (mut again, _) = start(spool.path(), &[]);
        assert!(again.wait_stderr(seen, T));
    }
}

#[test]
fn rejection_logs_are_rate_limited_per_source_with_a_summary() {
    let spool = TempDir::new("nfw-log");
    let (mut sp, port) = start(spool.path(), &["--log-burst", "3", "--log-interval", "2"]);
    let ts = unix_now().to_string();
    for i in 0..40 {
        let h = [
            ("X-Nightfall-Signature", "00"),
            ("X-Nightfall-Timestamp", ts.as_str()),
        ];
        let h = if i % 2 == 0 { &h[..] } else { &h[1..] };
        let (status, _, _) = http(port, "POST", "/ingest", h, b"{}").unwrap();
        assert_eq!(status, 401);
    }
    assert!(sp.wait_stderr("suppressed 37 more rejection line(s) from 1 source(s)", T));
    let err = sp.stderr_text();
    assert_eq!(err.matches("rejected POST /ingest").count(), 3, "{err}");
    assert!(
        err.contains("malformed signature 18") && err.contains("missing headers 19"),
        "{err}"
    );
    // The next interval logs the source in full again.
    let (status, _, _) = http(port, "GET", "/nowhere", &[], b"").unwrap();
    assert_eq!(status, 404);
    assert!(sp.wait_stderr("rejected GET \"/nowhere\"", T));
}

#[test]
fn a_replay_after_a_restart_is_refused_and_emits_nothing() {
    let spool = TempDir::new("nfw-replay");
    let (mut sp, port) = start(spool.path(), &[]);
    let ts = unix_now();
    let body = clean("once-only");
    assert_eq!(post_signed(port, ts, &body), 200);
    assert!(sp.wait_stderr("No sensitive data present! | UploadID once-only", T));
    // The result is written before its spool entry is removed; a kill in
    // between replays it on the next start (at least once), which is not
    // what this test is about. Wait until the spool holds no result.
    let pending = || {
        std::fs::read_dir(spool.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".entry"))
            .count()
    };
    let deadline = Instant::now() + T;
    while pending() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(pending(), 0, "the delivered result stayed in the spool");
    // Killed outright: the signature was durable before the 200.
    sp.signal(9);
    sp.wait_timeout(T).unwrap();
    let (mut again, port) = start(spool.path(), &[]);
    assert_eq!(post_signed(port, ts, &body), 409);
    assert!(again.wait_stderr("replayed signature", T));
    // A fresh delivery (new timestamp, new signature) still gets through.
    assert_eq!(post_signed(port, unix_now() + 1, &clean("fresh")), 200);
    assert!(again.wait_stderr("No sensitive data present! | UploadID fresh", T));
    let err = again.stderr_text();
    assert!(!err.contains("UploadID once-only"), "{err}");
    assert!(again.drain_records(Duration::from_millis(300)).is_empty());
    // The cache file holds only live entries, one line per signature.
    let cache = std::fs::read_to_string(spool.join("replay-cache")).unwrap();
    assert_eq!(cache.lines().count(), 2, "{cache}");
}

#[test]
fn a_second_instance_on_the_same_spool_fails_at_start() {
    let spool = TempDir::new("nfw-lock");
    let (_first, _) = start(spool.path(), &[]);
    let out = cmd(BIN)
        .args(["--listen", "127.0.0.1:0", "--spool"])
        .arg(spool.path())
        .env("NIGHTFALL_SIGNING_SECRET", SECRET)
        .run();
    assert_eq!(out.code(), 2);
    let err = out.stderr_str();
    assert!(
        err.contains("is in use by another process") && err.contains("/lock"),
        "{err}"
    );
    assert!(!err.contains("listening on"), "{err}");
}
