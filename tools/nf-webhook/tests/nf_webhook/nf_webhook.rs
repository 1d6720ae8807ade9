//! Runs the real nf-webhook on 127.0.0.1 against a local findings server.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use dlp_record::time::unix_now;
use nfapi::signature::sign;
use serde_json::{json, Value};
use testkit::{cmd, http, Spawned, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_nf-webhook");
const SECRET: &str = "test-signing-secret";
const T: Duration = Duration::from_secs(20);

struct Hook {
    sp: Spawned,
    port: u16,
}

fn start(spool: &std::path::Path, extra: &[&str]) -> Hook {
    let mut sp = cmd(BIN)
        .args(["--listen", "127.0.0.1:0", "--spool"])
        .arg(spool)
        .args(extra)
        .env("NIGHTFALL_SIGNING_SECRET", SECRET)
        .spawn();
    let port = sp.listening_port(T);
    Hook { sp, port }
}

fn post_signed(port: u16, ts: u64, body: &str) -> (u16, String) {
    let sig = sign(SECRET.as_bytes(), &ts.to_string(), body.as_bytes());
    post(
        port,
        &[
            ("X-Nightfall-Signature", &sig),
            ("X-Nightfall-Timestamp", &ts.to_string()),
        ],
        body.as_bytes(),
    )
}

fn post(port: u16, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut h = vec![("Content-Type", "application/json")];
    h.extend_from_slice(headers);
    let (status, _, b) = http(port, "POST", "/ingest", &h, body).unwrap();
    (status, String::from_utf8_lossy(&b).into_owned())
}

fn notification(upload_id: &str, url: &str, present: bool, meta: &str) -> String {
    nfapi::WebhookNotification {
        findings_url: url.into(),
        valid_until: dlp_record::time::format_rfc3339(
            std::time::SystemTime::now() + Duration::from_secs(3600),
        ),
        upload_id: upload_id.into(),
        findings_present: present,
        request_metadata: meta.into(),
        errors: vec![],
    }
    .to_body()
}

fn card_finding(text: &str) -> Value {
    json!({"path":"","detector":{"name":"Credit Card Number","uuid":"74c1815e-c0c3-4df5-8b1e-6cf98864a454"},
      "finding":text,"redactedFinding":"","beforeContext":"Name\tCredit Card\n","afterContext":"\nEloisa",
      "confidence":"VERY_LIKELY",
      "location":{"byteRange":{"start":36,"end":55},"codepointRange":{"start":36,"end":55},
                  "lineRange":{"start":2,"end":2},"rowRange":{"start":2,"end":2},"columnRange":{"start":2,"end":2},
                  "commitHash":"","commitAuthor":""},
      "matchedDetectionRuleUUIDs":[],"matchedDetectionRules":["cards"]})
}

/// A local findings server. `GET /doc?n=N` serves one finding whose text
/// is N; `/two` serves two findings; the first `fail_first` requests get
/// 500; while `blocked` is set, requests wait (except `/fast?n=N`).
struct Findings {
    port: u16,
    hits: Arc<AtomicUsize>,
    blocked: Arc<Mutex<bool>>,
}

fn findings_server(fail_first: usize, blocked: bool) -> Findings {
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let port = server.server_addr().to_ip().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let blocked = Arc::new(Mutex::new(blocked));
    let (h, b) = (hits.clone(), blocked.clone());
    std::thread::spawn(move || {
        for rq in server.incoming_requests() {
            let (h, b) = (h.clone(), b.clone());
            std::thread::spawn(move || {
                let n = h.fetch_add(1, Ordering::SeqCst);
                while *b.lock().unwrap() && !rq.url().starts_with("/fast") {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if n < fail_first {
                    let _ =
                        rq.respond(tiny_http::Response::from_string("oops").with_status_code(500));
                    return;
                }
                let url = rq.url().to_owned();
                let doc = if url.starts_with("/two") {
                    let mut zip = card_finding("5433-9502-3725-7862");
                    zip["path"] = json!("fileupload/upload.py");
                    zip["detector"] =
                        json!({"id":"58861dee-b213-4dbc-97fa-a148acb8bd1a","name":"localhost url"});
                    zip["confidence"] = json!("LIKELY");
                    zip["location"] = json!({"byteRange":{"start":105,"end":121},"codepointRange":{"start":105,"end":121},"lineRange":{"start":7,"end":7}});
                    json!({"findings":[card_finding("5433-9502-3725-7862"), zip]})
                } else {
                    let n = url.split("n=").nth(1).unwrap_or("0").to_owned();
                    json!({"findings":[card_finding(&n)]})
                };
                let _ = rq.respond(tiny_http::Response::from_string(doc.to_string()));
            });
        }
    });
    Findings {
        port,
        hits,
        blocked,
    }
}

fn meta(path: &str) -> String {
    nfapi::RequestMetadata {
        path: path.into(),
        sha256: "ab".repeat(32),
        size: 44,
        host: "h".into(),
        path_b64: None,
    }
    .encode()
    .unwrap()
}

#[test]
fn challenge_ping_and_routing() {
    let spool = TempDir::new("nfw");
    let mut hook = start(spool.path(), &[]);
    assert_eq!(
        post(hook.port, &[], br#"{"challenge": "z78woE1uDFu7tPrPvEBV"}"#),
        (200, "z78woE1uDFu7tPrPvEBV".into())
    );
    let (s, _, b) = http(hook.port, "GET", "/ping", &[], b"").unwrap();
    assert_eq!((s, b.as_slice()), (200, &b"Hello World"[..]));
    let (s, h, _) = http(hook.port, "GET", "/ingest", &[], b"").unwrap();
    assert_eq!(s, 405);
    assert!(h.iter().any(|(k, v)| k == "allow" && v == "POST"));
    assert_eq!(http(hook.port, "POST", "/ping", &[], b"").unwrap().0, 405);
    assert_eq!(http(hook.port, "GET", "/nope", &[], b"").unwrap().0, 404);
    assert_eq!(
        http(hook.port, "POST", "/ingest/x", &[], b"").unwrap().0,
        404
    );
    hook.sp.signal(15);
    let st = hook.sp.wait_timeout(T).expect("exits on SIGTERM");
    assert_eq!(st.code(), Some(143));
    assert!(hook.sp.drain_records(Duration::from_millis(100)).is_empty());
    let err = hook.sp.stderr_text();
    assert!(!err.contains(SECRET));
    let line = err
        .lines()
        .find(|l| l.contains("rejected GET /ingest from 127.0.0.1:"));
    assert!(
        line.is_some_and(|l| l.ends_with(": method not allowed")),
        "{err}"
    );
}

#[test]
fn valid_result_emits_findings_with_path_from_metadata() {
    let spool = TempDir::new("nfw");
    let fs = findings_server(0, false);
    let mut hook = start(spool.path(), &[]);
    let body = notification(
        "up-1",
        &format!("http://127.0.0.1:{}/two", fs.port),
        true,
        &meta("/home/ana/Downloads/sample.csv"),
    );
    assert_eq!(post_signed(hook.port, unix_now(), &body).0, 200);
    let recs = hook.sp.records_until(T, |v| v.len() >= 2);
    assert_eq!(recs.len(), 2, "stderr: {}", hook.sp.stderr_text());
    let r = &recs[0];
    assert_eq!(r["upload_id"], "up-1");
    assert_eq!(r["path"], "/home/ana/Downloads/sample.csv");
    assert_eq!(r["index"], 1);
    assert_eq!(r["detector"], "Credit Card Number");
    assert_eq!(r["detector_uuid"], "74c1815e-c0c3-4df5-8b1e-6cf98864a454");
    assert_eq!(r["confidence"], "VERY_LIKELY");
    assert_eq!(r["finding"], "5433-9502-3725-7862");
    assert_eq!(r["before_context"], "Name\tCredit Card\n");
    assert_eq!(r["byte_range"], json!({"start":36,"end":55}));
    assert_eq!(r["codepoint_range"], json!({"start":36,"end":55}));
    assert_eq!(r["line_range"], json!({"start":2,"end":2}));
    assert_eq!(r["row_range"], json!({"start":2,"end":2}));
    assert_eq!(r["archive_path"], "");
    assert_eq!(r["detection_rules"], json!(["cards"]));
    assert_eq!(r["sha256"], "ab".repeat(32));
    assert!(dlp_record::time::parse_rfc3339(r["timestamp"].as_str().unwrap()).is_some());
    let z = &recs[1];
    assert_eq!(z["index"], 2);
    assert_eq!(z["archive_path"], "fileupload/upload.py");
    assert_eq!(z["detector_uuid"], "58861dee-b213-4dbc-97fa-a148acb8bd1a");
    assert_eq!(z["confidence"], "LIKELY");
    assert!(z.get("row_range").is_none());
    assert!(hook.sp.wait_stderr(
        "Sensitive data found, outputting 2 finding(s) | UploadID up-1",
        T
    ));
    // Foreign requestMetadata: path stays empty, the records still come.
    let body = notification(
        "up-2",
        &format!("http://127.0.0.1:{}/doc?n=7", fs.port),
        true,
        "MY_SECRETS",
    );
    assert_eq!(post_signed(hook.port, unix_now(), &body).0, 200);
    let r = hook.sp.next_record(T).expect("record");
    assert_eq!(
        (
            r["upload_id"].as_str(),
            r["path"].as_str(),
            r["finding"].as_str()
        ),
        (Some("up-2"), Some(""), Some("7"))
    );
    hook.sp.signal(15);
    assert_eq!(hook.sp.wait_timeout(T).unwrap().code(), Some(143));
    assert!(spool_entries(spool.path()).is_empty());
}

fn spool_entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".entry"))
        .collect()
}

#[test]
fn refused_requests_emit_nothing() {
    let spool = TempDir::new("nfw");
    let fs = findings_server(0, false);
    let mut hook = start(spool.path(), &["--max-body", "4096", "--log-burst", "100"]);
    let port = hook.port;
    let url = format!("http://127.0.0.1:{}/doc?n=1", fs.port);
    let body = notification("bad", &url, true, "");
    let now = unix_now();
    let ts = now.to_string();
    let good = sign(SECRET.as_bytes(), &ts, body.as_bytes());
    let forged = sign(b"wrong secret", &ts, body.as_bytes());
    // forged, missing headers, malformed signature
    assert_eq!(
        post(
            port,
            &[
                ("X-Nightfall-Signature", &forged),
                ("X-Nightfall-Timestamp", &ts)
            ],
            body.as_bytes()
        )
        .0,
        401
    );
    assert_eq!(
        post(port, &[("X-Nightfall-Timestamp", &ts)], body.as_bytes()).0,
        401
    );
    assert_eq!(
        post(port, &[("X-Nightfall-Signature", &good)], body.as_bytes()).0,
        401
    );
    assert_eq!(
        post(
            port,
            &[
                ("X-Nightfall-Signature", "zz"),
                ("X-Nightfall-Timestamp", &ts)
            ],
            body.as_bytes()
        )
        .0,
        401
    );
    assert_eq!(
        post(
            port,
            &[
                ("X-Nightfall-Signature", &good),
                ("X-Nightfall-Timestamp", "soon")
            ],
            body.as_bytes()
        )
        .0,
        400
    );
    // tampered body
    let tampered = body.replace("\"bad\"", "\"evil\"");
    assert_eq!(
        post(
            port,
            &[
                ("X-Nightfall-Signature", &good),
                ("X-Nightfall-Timestamp", &ts)
            ],
            tampered.as_bytes()
        )
        .0,
        401
    );
    // stale and future timestamps, correctly signed
    assert_eq!(post_signed(port, now - 301, &body).0, 401);
    assert_eq!(post_signed(port, now + 120, &body).0, 401);
    // non-JSON and non-notification bodies, correctly signed
    assert_eq!(post_signed(port, now, "hello world").0, 400);
    assert_eq!(
        post_signed(port, now, r#"{"findingsPresent":"yes"}"#).0,
        400
    );
    // oversized
    let big = "x".repeat(5000);
    assert_eq!(post_signed(port, now, &big).0, 413);
    // A huge declared length is refused before reading (tiny_http 0.12 aborts here).
    for len in ["100000000000000", "99999999999999999999"] {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            c,
            "POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\nabc"
        )
        .unwrap();
        let mut resp = String::new();
        let _ = c.read_to_string(&mut resp);
        assert!(resp.starts_with("HTTP/1.1 413 "), "{resp}");
    }
    // replay: the first delivery is accepted, the identical second refused
    let once = notification("once", &url, true, "");
    assert_eq!(post_signed(port, now, &once).0, 200);
    assert_eq!(post_signed(port, now, &once).0, 409);
    let recs = hook.sp.records_until(T, |v| !v.is_empty());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["upload_id"], "once");
    assert!(hook.sp.drain_records(Duration::from_millis(500)).is_empty());
    let err = hook.sp.stderr_text();
    for why in [
        "signature mismatch",
        "missing X-Nightfall",
        "stale timestamp",
        "in the future",
        "replayed",
        "larger than --max-body",
        "not a result notification",
    ] {
        assert!(err.contains(why), "stderr lacks {why:?}:\n{err}");
    }
    assert!(!err.contains(SECRET));
    assert_eq!(fs.hits.load(Ordering::SeqCst), 1);
}

#[test]
fn no_findings_and_errors_are_logged_not_emitted() {
    let spool = TempDir::new("nfw");
    let mut hook = start(spool.path(), &[]);
    let body = notification("clean-1", "", false, "");
    assert_eq!(post_signed(hook.port, unix_now(), &body).0, 200);
    assert!(hook
        .sp
        .wait_stderr("No sensitive data present! | UploadID clean-1", T));
    let mut n: nfapi::WebhookNotification =
        serde_json::from_str(&notification("err-1", "", false, "")).unwrap();
    n.errors.push(nfapi::ErrorBody {
        code: Some(50000),
        message: Some("Internal Error".into()),
        ..Default::default()
    });
    assert_eq!(post_signed(hook.port, unix_now(), &n.to_body()).0, 200);
    assert!(hook.sp.wait_stderr(
        "Nightfall reported an error | UploadID err-1 | code 50000: Internal Error",
        T
    ));
    assert!(hook
        .sp
        .wait_stderr("No sensitive data present! | UploadID err-1", T));
    assert!(hook.sp.drain_records(Duration::from_millis(300)).is_empty());
    assert!(spool_entries(spool.path()).is_empty());
}

#[test]
fn failing_findings_server_is_retried() {
    let spool = TempDir::new("nfw");
    let fs = findings_server(2, false);
    let mut hook = start(spool.path(), &[]);
    let body = notification(
        "retry-1",
        &format!("http://127.0.0.1:{}/doc?n=3", fs.port),
        true,
        "",
    );
    assert_eq!(post_signed(hook.port, unix_now(), &body).0, 200);
    let r = hook.sp.next_record(T).expect("record after retries");
    assert_eq!(r["finding"], "3");
    assert_eq!(fs.hits.load(Ordering::SeqCst), 3);
    assert!(hook.sp.wait_stderr("HTTP 500; retrying", T));
    // A plain-http findings URL to a non-loopback host is never fetched.
    let body = notification("insecure", "http://example.com/f.json", true, "");
    assert_eq!(post_signed(hook.port, unix_now(), &body).0, 200);
    assert!(hook.sp.wait_stderr("giving up on UploadID insecure", T));
    assert_eq!(spool_entries(&spool.join("failed")).len(), 1);
}

#[test]
fn burst_of_500_concurrent_webhooks_each_emitted_once() {
    let spool = TempDir::new("nfw");
    let fs = findings_server(0, false);
    let mut hook = start(spool.path(), &[]);
    let (port, fport) = (hook.port, fs.port);
    let n = 500;
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                let body = notification(
                    &format!("u{i}"),
                    &format!("http://127.0.0.1:{fport}/doc?n={i}"),
                    true,
                    "",
                );
                b.wait();
                post_signed(port, unix_now(), &body).0
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        statuses.iter().all(|&s| s == 200),
        "statuses: {:?}",
        statuses.iter().filter(|&&s| s != 200).collect::<Vec<_>>()
    );
    let recs = hook
        .sp
        .records_until(Duration::from_secs(40), |v| v.len() >= n);
    let extra = hook.sp.drain_records(Duration::from_millis(300));
    assert_eq!(recs.len() + extra.len(), n);
    let ids: HashSet<String> = recs
        .iter()
        .map(|r| format!("{}/{}", r["upload_id"], r["finding"]))
        .collect();
    assert_eq!(ids.len(), n);
    assert!(recs
        .iter()
        .all(|r| r["upload_id"].as_str().unwrap()[1..] == *r["finding"].as_str().unwrap()));
}

#[test]
fn kill_9_after_acceptance_then_restart_emits_once() {
    let spool = TempDir::new("nfw");
    let fs = findings_server(0, true);
    let mut hook = start(spool.path(), &[]);
    let body = notification(
        "crash-1",
        &format!("http://127.0.0.1:{}/doc?n=42", fs.port),
        true,
        "",
    );
    assert_eq!(post_signed(hook.port, unix_now(), &body).0, 200);
    let t0 = std::time::Instant::now();
    while fs.hits.load(Ordering::SeqCst) == 0 && t0.elapsed() < T {
        std::thread::sleep(Duration::from_millis(10));
    }
    hook.sp.signal(9);
    hook.sp.wait_timeout(T);
    assert!(hook.sp.drain_records(Duration::from_millis(100)).is_empty());
    assert_eq!(spool_entries(spool.path()).len(), 1);
    *fs.blocked.lock().unwrap() = false;
    let mut again = start(spool.path(), &[]);
    assert!(again.sp.wait_stderr("replaying 1 spooled result(s)", T));
    let recs = again.sp.records_until(T, |v| !v.is_empty());
    assert_eq!(recs.len(), 1);
    assert_eq!(
        (recs[0]["upload_id"].as_str(), recs[0]["finding"].as_str()),
        (Some("crash-1"), Some("42"))
    );
    assert!(again
        .sp
        .drain_records(Duration::from_millis(500))
        .is_empty());
    again.sp.signal(15);
    assert_eq!(again.sp.wait_timeout(T).unwrap().code(), Some(143));
    assert!(spool_entries(spool.path()).is_empty());
}

#[test]
fn missing_secret_is_fatal() {
    let spool = TempDir::new("nfw");
    let out = cmd(BIN)
        .arg("--spool")
        .arg(spool.path())
        .args(["--listen", "127.0.0.1:0"])
        .run()
        .expect_code(2);
    assert!(
        out.stderr_str()
            .contains("NIGHTFALL_SIGNING_SECRET is not set"),
        "{}",
        out.stderr_str()
    );
    let out = cmd(BIN)
        .arg("--spool")
        .arg(spool.path())
        .env("NIGHTFALL_SIGNING_SECRET", "")
        .run()
        .expect_code(2);
    assert!(out.stderr_str().contains("NIGHTFALL_SIGNING_SECRET"));
}

#[test]
fn closed_stdout_exits_quietly() {
    let spool = TempDir::new("nfw");
    let fs = findings_server(0, false);
    let mut child = std::process::Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--spool"])
        .arg(spool.path())
        .env("NIGHTFALL_SIGNING_SECRET", SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    // The port it bound, from its first stderr line ("listening on http://ADDR").
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut err, &mut first).unwrap();
    let port: u16 = first
        .split("listening on http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no listening line: {first:?}"));
    let body = notification(
        "pipe-1",
        &format!("http://127.0.0.1:{}/doc?n=1", fs.port),
        true,
        "",
    );
    assert_eq!(post_signed(port, unix_now(), &body).0, 200);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(!rest.contains("error"), "{rest}");
    // Not emitted, so still spooled for the next start.
    assert_eq!(spool_entries(spool.path()).len(), 1);
}

/// The official Python SDK (nightfall==1.4.1, from PyPI into target/pyenv):
/// what it signs, we accept; what we sign, its `validate_webhook` accepts.
#[test]
fn conformance_with_official_python_sdk() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = testkit::setup_script("tests/py/ensure-venv.sh");
    let script = root.join("tests/py/nightfall_webhook.py");
    let sdk = |mode: &str, input: &[Value]| -> Vec<Value> {
        let stdin: String = input.iter().map(|v| format!("{v}\n")).collect();
        let out = cmd(&python)
            .arg(&script)
            .arg(mode)
            .env("NIGHTFALL_SIGNING_SECRET", SECRET)
            .stdin(stdin)
            .run()
            .expect_code(0);
        out.records()
    };
    let ts = (unix_now() - 1).to_string();
    let bodies: Vec<String> = vec![
        notification("sdk-0", "", false, ""),
        notification(
            "sdk-1",
            "",
            false,
            &meta("/home/ana/Documents/café ünïcode.csv"),
        ),
        notification(
            "sdk-2",
            "https://files.nightfall.ai/x.json?Expires=1&Signature=a%2Bb",
            false,
            "MY_SECRETS",
        ),
    ];
    // We sign, the SDK validates (and rejects a tampered copy).
    let mut reqs: Vec<Value> =
        bodies.iter().map(|b| json!({"signature": sign(SECRET.as_bytes(), &ts, b.as_bytes()), "timestamp": ts, "body": b})).collect();
    reqs.push(json!({"signature": sign(SECRET.as_bytes(), &ts, bodies[0].as_bytes()), "timestamp": ts, "body": bodies[1]}));
    let verdicts: Vec<bool> = sdk("validate", &reqs)
        .iter()
        .map(|v| v["valid"].as_bool().unwrap())
        .collect();
    assert_eq!(verdicts, vec![true, true, true, false]);
    // The SDK signs, the real server accepts.
    let to_sign: Vec<Value> = bodies
        .iter()
        .map(|b| json!({"timestamp": ts, "body": b}))
        .collect();
    let sigs = sdk("sign", &to_sign);
    assert_eq!(sigs.len(), bodies.len());
    let spool = TempDir::new("nfw");
    let mut hook = start(spool.path(), &[]);
    for (b, s) in bodies.iter().zip(&sigs) {
        let sig = s["signature"].as_str().unwrap();
        assert_eq!(
            post(
                hook.port,
                &[
                    ("X-Nightfall-Signature", sig),
                    ("X-Nightfall-Timestamp", &ts)
                ],
                b.as_bytes()
            )
            .0,
            200
        );
    }
    for i in 0..bodies.len() {
        assert!(hook
            .sp
            .wait_stderr(&format!("No sensitive data present! | UploadID sdk-{i}"), T));
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !cond() {
        assert!(t0.elapsed() < T, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Contents of the spool's entry files.
fn spool_texts(dir: &std::path::Path) -> Vec<String> {
    spool_entries(dir)
        .iter()
        .filter_map(|n| std::fs::read_to_string(dir.join(n)).ok())
        .collect()
}

/// Posts all `bodies` at once (each from its own thread) and returns the statuses.
fn post_all(port: u16, bodies: Vec<String>) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(bodies.len()));
    let threads: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                post_signed(port, unix_now(), &body).0
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn concurrent_results_share_one_spool_write() {
    let spool = TempDir::new("nfw");
    let fs = findings_server(0, true);
    // The hidden test hook makes the committer wait for 5 results, so the
    // batch does not depend on how the requests happen to be scheduled.
    let mut hook = start(spool.path(), &["--commit-min-batch", "5"]);
    let bodies: Vec<String> = (0..5)
        .map(|i| {
            notification(
                &format!("g{i}"),
                &format!("http://127.0.0.1:{}/doc?n={i}", fs.port),
                true,
                "",
            )
        })
        .collect();
    assert_eq!(post_all(hook.port, bodies), vec![200; 5]);
    // Every 200 came after the one write: one file holding all five.
    let texts = spool_texts(spool.path());
    assert_eq!(texts.len(), 1, "{texts:?}");
    let ids: HashSet<String> = texts[0]
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["notification"]["uploadID"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids, (0..5).map(|i| format!("g{i}")).collect());
    *fs.blocked.lock().unwrap() = false;
    let recs = hook.sp.records_until(T, |v| v.len() >= 5);
    let found: HashSet<String> = recs
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["upload_id"].as_str().unwrap(),
                r["finding"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(found, (0..5).map(|i| format!("g{i}/{i}")).collect());
    assert!(hook.sp.drain_records(Duration::from_millis(300)).is_empty());
    wait_until("the batch entry to be removed", || {
        spool_entries(spool.path()).is_empty()
    });
    hook.sp.signal(15);
    assert_eq!(hook.sp.wait_timeout(T).unwrap().code(), Some(143));
    assert!(hook
        .sp
        .stderr_text()
        .contains("spooled 5 result(s) in 1 write(s) (largest batch 5)"));
}

#[test]
fn kill_9_inside_a_batch_replays_only_unfinished_items() {
    let spool = TempDir::new("nfw");
    let fs = findings_server(0, true);
    let mut hook = start(spool.path(), &["--commit-min-batch", "3"]);
    let bodies = vec![
        notification(
            "fast-1",
            &format!("http://127.0.0.1:{}/fast?n=1", fs.port),
            true,
            "",
        ),
        notification(
            "slow-2",
            &format!("http://127.0.0.1:{}/doc?n=2", fs.port),
            true,
            "",
        ),
        notification("clean-3", "", false, ""),
    ];
    assert_eq!(post_all(hook.port, bodies), vec![200; 3]);
    let r = hook.sp.next_record(T).expect("the fast item's record");
    assert_eq!(r["upload_id"], "fast-1");
    assert!(hook
        .sp
        .wait_stderr("No sensitive data present! | UploadID clean-3", T));
    // The finished item leaves the entry (atomic rewrite) after its
    // records are flushed; the slow one is still being fetched.
    wait_until("the entry to be rewritten without fast-1", || {
        let t = spool_texts(spool.path());
        t.len() == 1 && !t[0].contains("fast-1")
    });
    wait_until("the slow fetch", || fs.hits.load(Ordering::SeqCst) >= 2);
    hook.sp.signal(9);
    hook.sp.wait_timeout(T);
    assert!(hook.sp.drain_records(Duration::from_millis(100)).is_empty());
    let left = spool_texts(spool.path());
    assert_eq!(left.len(), 1);
    assert!(left[0].contains("slow-2") && !left[0].contains("fast-1"));

    *fs.blocked.lock().unwrap() = false;
    let mut again = start(spool.path(), &[]);
    assert!(again.sp.wait_stderr("replaying", T));
    let recs = again.sp.records_until(T, |v| !v.is_empty());
    assert_eq!(recs.len(), 1);
    assert_eq!(
        (recs[0]["upload_id"].as_str(), recs[0]["finding"].as_str()),
        (Some("slow-2"), Some("2"))
    );
    assert!(again
        .sp
        .drain_records(Duration::from_millis(500))
        .is_empty());
    wait_until("the entry to be removed", || {
        spool_entries(spool.path()).is_empty()
    });
    again.sp.signal(15);
    assert_eq!(again.sp.wait_timeout(T).unwrap().code(), Some(143));
}

#[test]
fn replays_old_single_entries_and_dead_letters_bad_items_one_by_one() {
    let spool = TempDir::new("nfw");
    let fs = findings_server(0, false);
    let item = |id: &str, n: u32| {
        let body = notification(
            id,
            &format!("http://127.0.0.1:{}/doc?n={n}", fs.port),
            true,
            "",
        );
        let v = json!({"accepted_at": "2026-11-22T10:15:03.120511Z",
                       "notification": serde_json::from_str::<Value>(&body).unwrap()});
        v.to_string()
    };
    // A pre-batch entry (one object, no newline) and a batch entry with
    // one unreadable item between two good ones.
    std::fs::write(
        spool.join("000000000000000000000001-0000000001-00000000.entry"),
        item("old-1", 1),
    )
    .unwrap();
    std::fs::write(
        spool.join("000000000000000000000002-0000000001-00000001.entry"),
        format!("{}\nnot json\n{}\n", item("new-2", 2), item("new-3", 3)),
    )
    .unwrap();
    // An entry holding only blank lines is simply removed.
    std::fs::write(
        spool.join("000000000000000000000003-0000000001-00000002.entry"),
        "\n\n",
    )
    .unwrap();
    let mut hook = start(spool.path(), &[]);
    assert!(hook.sp.wait_stderr("replaying 4 spooled result(s)", T));
    let recs = hook.sp.records_until(T, |v| v.len() >= 3);
    let found: HashSet<String> = recs
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["upload_id"].as_str().unwrap(),
                r["finding"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        found,
        ["old-1/1", "new-2/2", "new-3/3"].map(String::from).into()
    );
    assert!(hook.sp.wait_stderr("unreadable spool entry", T));
    wait_until("the entries to be removed", || {
        spool_entries(spool.path()).is_empty()
    });
    let failed = spool_texts(&spool.join("failed"));
    assert_eq!(failed, vec!["not json".to_owned()]);
    assert!(hook.sp.drain_records(Duration::from_millis(300)).is_empty());
}

#[test]
fn spool_write_failure_answers_503_and_allows_a_retry() {
    let spool = TempDir::new("nfw");
    let dir = spool.join("spool");
    let mut hook = start(&dir, &[]);
    std::fs::remove_dir_all(&dir).unwrap();
    let body = notification("retry-me", "", false, "");
    let ts = unix_now();
    assert_eq!(post_signed(hook.port, ts, &body).0, 503);
    assert!(hook
        .sp
        .wait_stderr("storing result for UploadID retry-me in the spool", T));
    // Not stored, so not remembered: the sender's retry is accepted.
    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(post_signed(hook.port, ts, &body).0, 200);
    assert!(hook
        .sp
        .wait_stderr("No sensitive data present! | UploadID retry-me", T));
}
